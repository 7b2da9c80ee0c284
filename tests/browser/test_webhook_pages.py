"""The webhook pages in a real browser: the partner's delivery log with Redeliver and Send a test
event, the account's subscriptions on the app's page, and support's look-up by webhook id."""

from __future__ import annotations

import asyncio
import json
import re
import threading

from playwright.sync_api import expect

from orderchamp_auth.server.oauth.apps import create_app
from orderchamp_auth.server.webhooks.outbox import record_event
from orderchamp_auth.server.webhooks.sender import SafeSender
from orderchamp_auth.server.webhooks.worker import DeliveryWorker, RetrySchedule, WorkerConfig

from ..e2e.partner_support import partner_member
from ..e2e.webhook_support import start_receiver, subscribe
from ..support import PartnerApp
from .people import sign_in, staff


def _worker_pass(platform) -> None:
    """One pass of a delivery worker, in a thread: Playwright holds this thread's event loop."""

    def run() -> None:
        async def once() -> None:
            sender = SafeSender(allow_loopback=True)
            worker = DeliveryWorker(platform.database, platform.secret_box, sender,
                                    WorkerConfig(schedule=RetrySchedule((3600.0,))))
            try:
                await worker.run_once()
            finally:
                await sender.aclose()

        asyncio.run(once())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)


def test_the_partner_follows_deliveries_and_redelivers_and_support_looks_one_up(live, world, platform, person,
                                                                              screenshot):
    receiver = start_receiver()
    receiver.respond = lambda count: 500 if count == 0 else 200
    member = partner_member(world)
    with world.platform.database.write() as db:
        made, secret = create_app(db, world.platform.client_secrets, partner_id=member.partner_id, name="Stock Sync",
                                  application_url="https://stock.example.com/install",
                                  redirect_uris=["https://stock.example.com/callback"])
        app = PartnerApp(made.client_id, secret, made.application_url, ["https://stock.example.com/callback"],
                         member.partner_id, made.id)
    subscribe(world, member.demo_account_id, app, "PRODUCT_UPDATED", receiver.url + "/hooks")
    with world.platform.database.write() as db:
        record_event(db, member.demo_account_id, "PRODUCT_UPDATED", {"data": {"product": {"id": "UHJvZHVjdDox"}}})
        ((first, _),) = db.webhook_deliveries.for_app(app.app_id)
        first_id = first.webhook_id
    _worker_pass(platform)  # the receiver answers 500: one failed attempt, a retry due later

    dev = person()
    sign_in(dev, member.email)
    dev.goto(f"/partners/{member.partner_id}/apps/{app.client_id}")
    dev.get_by_role("link", name="Subscriptions and delivery log").click()
    expect(dev.get_by_role("heading", name="Webhooks of Stock Sync")).to_be_visible()
    row = dev.locator(f'tr.delivery[data-webhook-id="{first_id}"]')
    expect(row).to_contain_text("pending (500)")
    expect(row).to_contain_text("#1 · 500")
    expect(row).to_contain_text("The receiver answered 500.")

    dev.get_by_role("button", name=re.compile("^Send a test event")).click()
    expect(dev.get_by_role("status")).to_contain_text("A test event is on its way")
    expect(dev.locator("tr.delivery")).to_have_count(2)
    row.get_by_role("button", name=re.compile("^Redeliver")).click()
    expect(dev.get_by_role("status")).to_contain_text(f"The delivery is sent again (webhook id {first_id})")
    _worker_pass(platform)

    bodies = {r.headers["X-Orderchamp-Webhook-Id"]: json.loads(r.body) for r in receiver.wait_for(3)}
    test_ids = [i for i, body in bodies.items() if body["data"].get("test")]
    assert len(test_ids) == 1 and bodies[first_id]["data"]["product"]["id"] == "UHJvZHVjdDox"
    attempts_of_first = [r.headers["X-Orderchamp-Attempt"] for r in receiver.received
                         if r.headers["X-Orderchamp-Webhook-Id"] == first_id]
    assert attempts_of_first == ["1", "2"]
    dev.reload()
    expect(row).to_contain_text("delivered (200)")
    expect(dev.locator(f'tr.delivery[data-webhook-id="{test_ids[0]}"]')).to_contain_text("delivered (200)")
    screenshot(dev, "partner-webhooks")

    # The account sees what the app subscribed to.
    dev.goto(f"/backoffice/apps/{app.client_id}")
    expect(dev.locator(".webhook-subscriptions")).to_contain_text("PRODUCT_UPDATED")

    support = person()
    sign_in(support, staff(world))
    support.goto("/support/webhooks")
    support.get_by_label("Webhook id").fill(first_id)
    support.get_by_role("button", name="Look up").click()
    expect(support.get_by_role("heading", name="PRODUCT_UPDATED")).to_be_visible()
    expect(support.locator(".delivery-status")).to_contain_text("delivered")
    expect(support.locator("table.list tbody tr")).to_have_count(2)
    support.get_by_label("Webhook id").fill("not-an-id")
    support.get_by_role("button", name="Look up").click()
    expect(support.get_by_text("A webhook id looks like")).to_be_visible()
    receiver.close()
