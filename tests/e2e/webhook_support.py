"""A webhook receiver on a loopback port, and an installed app with its token, for the tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.protocol.tokens import TokenKind, display_prefix, generate_secret, hash_secret
from orderchamp_auth.server.settings import Settings
from orderchamp_auth.server.store.database import utcnow
from orderchamp_auth.server.store.models import TokenKindName

from ..support import LiveServer, PartnerApp, World, free_port, start_live_server
from .cli_support import Serving, running

DELIVERY_BOUND = 60.0  # seconds a test waits for a delivery: far beyond the worker's poll


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every POST; answers by ``respond`` (given how many came before), 200 by default."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    respond: Callable[[int], int] = lambda _count: 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, count: int, predicate: Callable[[Received], bool] = lambda _r: True) -> list[Received]:
        deadline = time.monotonic() + DELIVERY_BOUND
        while time.monotonic() < deadline:
            with self.lock:
                found = [r for r in self.received if predicate(r)]
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(found)}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver() -> Receiver:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            receiver = holder[0]
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                status = receiver.respond(len([r for r in receiver.received if r.path == self.path]))
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server)
    holder.append(receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


def install(world: World, account_id: int, app: PartnerApp, scopes: str) -> str:
    """Install the app on the account as a consent would, and issue it a token; the token."""
    now = utcnow()
    value = generate_secret(TokenKind.APP_TOKEN)
    with world.platform.database.write() as db:
        installation_id = db.installations.upsert_for_consent(
            account_id=account_id, app_id=app.app_id, scopes=ScopeSet.parse(scopes).to_string(), user_id=None, now=now)
        db.tokens.create(
            token_hash=hash_secret(value), kind=TokenKindName.APP.value, display_prefix=display_prefix(value),
            account_id=account_id, installation_id=installation_id, scopes=ScopeSet.parse(scopes).to_string(),
            created_at=now)
    return value


def wait_for_delivery(world: World, webhook_id: str, status: str) -> tuple[object, list[object]]:
    """The stored delivery once the worker recorded it as ``status``, with its attempts."""

    deadline = time.monotonic() + DELIVERY_BOUND
    while True:
        with world.platform.database.read() as db:
            deliveries = db.webhook_deliveries
            stored = deliveries.by_webhook_id(webhook_id)
            if stored is not None and stored.status == status:
                return stored, deliveries.attempts_of([stored.id])[stored.id]
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery {webhook_id} is {stored and stored.status}, not {status}")
        time.sleep(0.02)


def start_hooks_server(settings: Settings, log_path: str) -> LiveServer:
    """A server whose worker delivers to loopback, retrying after a fraction of a second."""
    port = free_port()
    return start_live_server(
        replace(settings, web_url=f"http://127.0.0.1:{port}", api_url=f"http://127.0.0.1:{port}/v1",
                webhook_worker=True),
        port, log_path,
        extra_env={"ORDERCHAMP_WEBHOOK_ALLOW_LOOPBACK": "1", "ORDERCHAMP_WEBHOOK_RETRY_DELAYS": "0.2,0.2,0.2",
                   "ORDERCHAMP_WEBHOOK_POLL_MS": "50", "ORDERCHAMP_WEBHOOK_LEASE_MS": "10000"})


@contextmanager
def running_worker(env: dict[str, str]) -> Iterator[Serving]:
    """``orderchamp-auth worker``, once it says it delivers."""
    with running(env, "worker") as worker:
        worker.wait_for("delivering webhooks")
        yield worker


def subscribe(world: World, account_id: int, app: PartnerApp, topic: str, address: str) -> int:
    """The app installed, and a subscription made directly as webhookCreate would; its id."""
    from orderchamp_auth.server.store.models import WebhookSubscription

    install(world, account_id, app, "products_read,orders_read")
    now = utcnow()
    with world.platform.database.write() as db:
        return db.webhook_subscriptions.add(WebhookSubscription(
            account_id=account_id, app_id=app.app_id, topic=topic, address=address, created_at=now,
            updated_at=now, disabled_reason="")).id
