"""The worker as its own process: killed between claim and send it loses nothing; two at once
never send one delivery twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter

from orderchamp_auth.client import verify_webhook_request
from orderchamp_auth.server.webhooks.outbox import record_event

from .cli_support import assert_one_line_error, cli_env, run
from .webhook_support import running_worker, subscribe, wait_for_delivery

WORKER_ENV = {"ORDERCHAMP_WEBHOOK_ALLOW_LOOPBACK": "1", "ORDERCHAMP_WEBHOOK_POLL_MS": "50",
              "ORDERCHAMP_WEBHOOK_LEASE_MS": "10000", "ORDERCHAMP_WEBHOOK_RETRY_DELAYS": "0.2,0.2"}

# Claims what is due, as the worker does, then dies before sending anything.
CLAIM_THEN_DIE = """
import os, signal
from orderchamp_auth.server.app import build_platform
from orderchamp_auth.server.settings import load_settings
from orderchamp_auth.server.webhooks.worker import worker_from_settings
settings = load_settings()
platform = build_platform(settings)
worker = worker_from_settings(settings, platform.database, platform.secret_box)
print(len(worker.claim()), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_worker_killed_between_claim_and_send_loses_nothing(world, settings, receiver):
    supplier, app = world.supplier(), world.app()
    subscribe(world, supplier.account_id, app, "PRODUCT_UPDATED", receiver.url + "/killed")
    with world.platform.database.write() as db:
        assert record_event(db, supplier.account_id, "PRODUCT_UPDATED", {"data": {"product": {"id": "x"}}}) == 1
        (webhook_id,) = [d.webhook_id for d, _ in db.webhook_deliveries.for_app(app.app_id)]

    env = cli_env(settings.database_url, **WORKER_ENV)
    died = subprocess.run([sys.executable, "-c", CLAIM_THEN_DIE], env=env, capture_output=True, text=True, timeout=120)
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert int(died.stdout) >= 1
    with world.platform.database.read() as db:
        claimed = db.webhook_deliveries.by_webhook_id(webhook_id)
        assert claimed is not None and claimed.lease_token is not None and claimed.attempts == 0
    assert receiver.received == []

    with running_worker(env):
        (delivery,) = receiver.wait_for(1)
        wait_for_delivery(world, webhook_id, "delivered")
    assert delivery.headers["X-Orderchamp-Webhook-Id"] == webhook_id
    assert delivery.headers["X-Orderchamp-Attempt"] == "1"  # the claim that died sent nothing
    verify_webhook_request(delivery.body, delivery.headers, app.client_secret)


def test_two_workers_never_deliver_one_event_twice(world, settings, receiver):
    supplier, app = world.supplier(), world.app()
    subscribe(world, supplier.account_id, app, "ORDER_CANCELLED", receiver.url + "/two")
    env = cli_env(settings.database_url, **WORKER_ENV)
    events = 60
    with running_worker(env), running_worker(env):
        for number in range(events):
            with world.platform.database.write() as db:
                record_event(db, supplier.account_id, "ORDER_CANCELLED", {"data": {"order": {"number": number}}})
        with world.platform.database.read() as db:
            webhook_ids = [d.webhook_id for d, _ in db.webhook_deliveries.for_app(app.app_id, limit=events)]
        assert len(webhook_ids) == events
        for webhook_id in webhook_ids:
            wait_for_delivery(world, webhook_id, "delivered")
    # Every delivery recorded as delivered: no worker sends any of them again.
    counts = Counter(r.headers["X-Orderchamp-Webhook-Id"] for r in receiver.received)
    assert set(counts) == set(webhook_ids)
    assert set(counts.values()) == {1}


def test_webhook_trigger_queues_a_test_event_that_the_worker_delivers(world, settings, receiver):
    supplier, app = world.supplier(), world.app()
    subscribe(world, supplier.account_id, app, "ORDER_CREATED", receiver.url + "/trigger")
    env = cli_env(settings.database_url, **WORKER_ENV)
    args = ["webhook", "trigger", "--app", app.client_id, "--account", str(supplier.account_id)]
    queued = run(env, *args, "--topic", "ORDER_CREATED", "--json")
    assert queued.returncode == 0, queued.stderr
    (webhook_id,) = json.loads(queued.stdout)["webhookIds"]
    with running_worker(env) as worker:
        (delivery,) = receiver.wait_for(1)
    assert worker.process.returncode == 0  # SIGTERM stops it cleanly
    assert delivery.headers["X-Orderchamp-Webhook-Id"] == webhook_id
    assert delivery.headers["X-Orderchamp-Event"] == "ORDER_CREATED"
    verify_webhook_request(delivery.body, delivery.headers, app.client_secret)
    assert json.loads(delivery.body)["data"]["test"] is True

    assert_one_line_error(run(env, *args, "--topic", "ORDER_EXPLODED"), "unknown topic")
    other = world.app()
    assert_one_line_error(run(env, "webhook", "trigger", "--app", other.client_id, "--account",
                              str(supplier.account_id), "--topic", "ORDER_CREATED"), "no webhook subscription")
