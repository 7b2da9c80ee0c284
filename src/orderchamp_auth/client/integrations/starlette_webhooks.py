"""A Starlette route that receives Orderchamp's webhooks (works in FastAPI too).

    webhooks = OrderchampWebhooks(client_secret)        # or [current, previous] during a rotation

    @webhooks.on("PRODUCT_UPDATED")
    async def product_updated(webhook: Webhook, payload: dict) -> None:
        ...

    app = Starlette(routes=[*flow.routes, *webhooks.routes])

``POST {path}`` verifies the signature over the raw body (401 if it does not match), answers a
webhook id it has already handled with 200 and does nothing (Orderchamp sends an event again
when an attempt's answer was lost), and otherwise calls the topic's handler with the verified
webhook and its parsed JSON. A handler that raises gets a 500, and its webhook id is forgotten:
Orderchamp retries it later. Topics without a handler are acknowledged (200) and ignored.
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .. import WebhookVerificationError
from .._webhooks import Secrets, Webhook, verify_webhook_request

WebhookHandler = Callable[[Webhook, Any], Awaitable[None] | None]
MAX_BODY_BYTES = 1024 * 1024


class WebhookIdStore(Protocol):
    """Which webhook ids were handled; share one between processes (a database table, Redis)
    so that a retry reaching another process is still recognised."""

    def claim(self, webhook_id: str) -> bool:
        """Record the id; False if it was recorded already (a duplicate)."""

    def forget(self, webhook_id: str) -> None:
        """Drop the id again: its handler failed, the retry must run it."""


class InMemoryWebhookIds:
    """The last ``size`` webhook ids of this process (oldest forgotten first)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, webhook_id: str) -> bool:
        with self._lock:
            if webhook_id in self._ids:
                return False
            self._ids[webhook_id] = None
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True

    def forget(self, webhook_id: str) -> None:
        with self._lock:
            self._ids.pop(webhook_id, None)


class OrderchampWebhooks:
    def __init__(self, secrets: Secrets | Callable[[], Secrets], *, path: str = "/webhooks",
                 handlers: dict[str, WebhookHandler] | None = None, ids: WebhookIdStore | None = None) -> None:
        self._secrets = secrets
        self.path = path
        self.handlers: dict[str, WebhookHandler] = dict(handlers or {})
        self.ids: WebhookIdStore = ids if ids is not None else InMemoryWebhookIds()

    def on(self, topic: str) -> Callable[[WebhookHandler], WebhookHandler]:
        """Register the decorated function as the handler of ``topic``."""

        def register(handler: WebhookHandler) -> WebhookHandler:
            self.handlers[topic] = handler
            return handler

        return register

    @property
    def routes(self) -> list[BaseRoute]:
        return [Route(self.path, self.receive, methods=["POST"], name="orderchamp_webhooks")]

    def secrets(self) -> Secrets | Sequence[str | bytes]:
        return self._secrets() if callable(self._secrets) else self._secrets

    async def receive(self, request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            webhook = verify_webhook_request(body, request.headers.items(), self.secrets())
        except WebhookVerificationError:
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        if not webhook.webhook_id or not webhook.event:
            return JSONResponse({"error": "missing webhook id or event"}, status_code=400)
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        handler = self.handlers.get(webhook.event)
        if handler is None:
            return JSONResponse({"ignored": webhook.event})
        if not self.ids.claim(webhook.webhook_id):
            return JSONResponse({"duplicate": webhook.webhook_id})
        try:
            outcome = handler(webhook, payload)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            self.ids.forget(webhook.webhook_id)
            return JSONResponse({"error": "the handler failed"}, status_code=500)
        return JSONResponse({"handled": webhook.webhook_id})
