"""The worker's rules: the retry schedule, failing after it, and disabling a subscription that
keeps failing (the partner sees why)."""

from __future__ import annotations

import asyncio
import datetime as dt

from orderchamp_auth.server.store.repositories.webhooks import Owner
from orderchamp_auth.server.webhooks.outbox import record_event
from orderchamp_auth.server.webhooks.sender import SafeSender
from orderchamp_auth.server.webhooks.worker import DeliveryWorker, RetrySchedule, WorkerConfig

from ...e2e.webhook_support import start_receiver, subscribe


def test_the_schedule_spreads_each_delay_and_ends():
    schedule = RetrySchedule((60.0, 300.0), jitter=0.2)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert schedule.attempts == 3
    for _ in range(50):
        second = schedule.next_attempt(1, now)
        third = schedule.next_attempt(2, now)
        assert second is not None and 48 <= (second - now).total_seconds() <= 72
        assert third is not None and 240 <= (third - now).total_seconds() <= 360
    assert schedule.next_attempt(3, now) is None
    assert RetrySchedule().attempts == 8
    assert 3.5 * 3600 <= sum(RetrySchedule().delays) <= 4.5 * 3600  # about four hours


def _pass(platform, config: WorkerConfig) -> None:
    async def once() -> None:
        sender = SafeSender(allow_loopback=True)
        try:
            await DeliveryWorker(platform.database, platform.secret_box, sender, config).run_once()
        finally:
            await sender.aclose()

    asyncio.run(once())


def test_after_the_schedule_the_delivery_fails_and_a_subscription_failing_long_enough_is_disabled(world, platform):
    receiver = start_receiver()
    receiver.respond = lambda _count: 503
    supplier, app = world.supplier(), world.app()
    subscription_id = subscribe(world, supplier.account_id, app, "PRODUCT_UPDATED", receiver.url + "/down")
    with platform.database.write() as db:
        record_event(db, supplier.account_id, "PRODUCT_UPDATED", {"data": {"product": {"id": "x"}}})
        ((delivery, _),) = db.webhook_deliveries.for_app(app.app_id)
    config = WorkerConfig(schedule=RetrySchedule((0.0,), jitter=0.0), disable_after=dt.timedelta(0))
    _pass(platform, config)
    _pass(platform, config)
    receiver.close()
    with platform.database.read() as db:
        stored = db.webhook_deliveries.by_webhook_id(delivery.webhook_id)
        subscription = db.webhook_subscriptions.get(supplier.account_id, Owner(app_id=app.app_id), subscription_id)
    assert stored is not None and (stored.status, stored.attempts, stored.last_status_code) == ("failed", 2, 503)
    assert subscription is not None and subscription.disabled_at is not None
    assert "503" in subscription.disabled_reason
    # A disabled subscription is sent nothing new.
    with platform.database.write() as db:
        assert record_event(db, supplier.account_id, "PRODUCT_UPDATED", {"data": {}}) == 0


def test_a_success_ends_a_failing_streak(world, platform):
    receiver = start_receiver()
    receiver.respond = lambda count: 500 if count == 0 else 200
    supplier, app = world.supplier(), world.app()
    subscription_id = subscribe(world, supplier.account_id, app, "PRODUCT_UPDATED", receiver.url + "/flaky")
    with platform.database.write() as db:
        record_event(db, supplier.account_id, "PRODUCT_UPDATED", {"data": {}})
    config = WorkerConfig(schedule=RetrySchedule((0.0,), jitter=0.0))
    _pass(platform, config)
    with platform.database.read() as db:
        failing = db.webhook_subscriptions.get(supplier.account_id, Owner(app_id=app.app_id), subscription_id)
        assert failing is not None and failing.failing_since is not None and failing.disabled_at is None
    _pass(platform, config)
    receiver.close()
    with platform.database.read() as db:
        recovered = db.webhook_subscriptions.get(supplier.account_id, Owner(app_id=app.app_id), subscription_id)
    assert recovered is not None and recovered.failing_since is None and recovered.disabled_at is None
