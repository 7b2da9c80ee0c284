"""The sender connects to the address it checked, and the worker records a refused address as a
failed attempt without connecting anywhere."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from orderchamp_auth.server.webhooks.outbox import record_event
from orderchamp_auth.server.webhooks.sender import SafeSender
from orderchamp_auth.server.webhooks.worker import DeliveryWorker, RetrySchedule, WorkerConfig

from ...e2e.webhook_support import subscribe


def _receiver_on(host: str) -> tuple[ThreadingHTTPServer, list[dict[str, str]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", "0")))
            seen.append(dict(self.headers.items()))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def _resolver(answers: dict[str, list[str]], asked: list[str]):
    async def resolve(host: str, _port: int) -> list[str]:
        asked.append(host)
        return answers[host]

    return resolve


def test_the_sender_connects_to_the_checked_address_and_keeps_the_host_name():
    # Listening on 127.0.0.2 only: the request arrives there only if the sender used the
    # address its resolver checked, not a second lookup of "localhost" (127.0.0.1).
    server, seen = _receiver_on("127.0.0.2")
    port = server.server_address[1]
    asked: list[str] = []
    sender = SafeSender(allow_loopback=True, resolver=_resolver({"localhost": ["127.0.0.2"]}, asked))

    async def send():
        try:
            return await sender.post(f"http://localhost:{port}/hooks", b"{}", {"Content-Type": "application/json"})
        finally:
            await sender.aclose()

    outcome = asyncio.run(send())
    server.shutdown()
    server.server_close()
    assert outcome.status_code == 204 and outcome.succeeded
    assert asked == ["localhost"]
    assert [headers["Host"] for headers in seen] == [f"localhost:{port}"]


def test_a_rebound_address_is_a_failed_attempt_and_nothing_is_sent(world, platform):
    supplier, app = world.supplier(), world.app()
    subscribe(world, supplier.account_id, app, "PRODUCT_UPDATED", "https://rebind.example.com/hooks")
    with platform.database.write() as db:
        record_event(db, supplier.account_id, "PRODUCT_UPDATED", {"data": {"product": {"id": "x"}}})
        ((delivery, _),) = db.webhook_deliveries.for_app(app.app_id)
        webhook_id = delivery.webhook_id
    asked: list[str] = []
    sender = SafeSender(allow_loopback=False, resolver=_resolver({"rebind.example.com": ["10.0.0.5"]}, asked))
    worker = DeliveryWorker(platform.database, platform.secret_box, sender,
                            WorkerConfig(schedule=RetrySchedule((3600.0,))))

    async def one_pass():
        try:
            await worker.run_once()
        finally:
            await sender.aclose()

    asyncio.run(one_pass())
    assert "rebind.example.com" in asked
    with platform.database.read() as db:
        deliveries = db.webhook_deliveries
        stored = deliveries.by_webhook_id(webhook_id)
        assert stored is not None
        (attempt,) = deliveries.attempts_of([stored.id])[stored.id]
    assert stored.status == "pending" and stored.attempts == 1  # retried later, by the schedule
    assert attempt.status_code is None and "private or reserved" in attempt.error
    assert "private or reserved" in stored.last_error
