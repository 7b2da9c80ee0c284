"""Webhook verification: bodies signed by the platform's own signing code, with the secret the
platform stores for the app, delivered over real HTTP to an app that verifies them with the SDK."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orderchamp_auth.client import (
    SIGNATURE_HEADER,
    WebhookVerificationError,
    is_valid_webhook,
    verify_webhook,
    verify_webhook_request,
)
from orderchamp_auth.protocol.signing import compute_signature
from orderchamp_auth.server.store.database import utcnow

from ..client.loopback import serve_on_loopback
from ..support import PartnerApp, World

BODY = json.dumps({"id": "gid://orderchamp/Order/42", "status": "CONFIRMED", "note": "Bloemen – €12"},
                  ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def platform_signature(platform, registration: PartnerApp, body: bytes) -> str:
    """What the platform puts in X-Orderchamp-Signature: its signing code, its stored secret."""
    with platform.database.read() as db:
        row = db.apps.get_by_client_id(registration.client_id)
        return compute_signature(body, platform.client_secrets.signing_secret(row))


@pytest.fixture
def registration(world: World) -> PartnerApp:
    return world.app()


@pytest.fixture
def receiver(registration: PartnerApp) -> Iterator[tuple[str, list]]:
    """An app's webhook endpoint: verifies the raw body with the SDK before parsing it."""
    received: list = []
    secrets = [registration.client_secret]

    async def webhook(request: Request) -> Response:
        try:
            hook = verify_webhook_request(await request.body(), request.headers, secrets)
        except WebhookVerificationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        received.append(hook)
        return JSONResponse({"ok": json.loads(hook.body)["id"]})

    app = Starlette(routes=[Route("/webhooks", webhook, methods=["POST"])])
    with serve_on_loopback(app) as base_url:
        yield f"{base_url}/webhooks", received


def deliver(url: str, body: bytes, signature: str | None, **headers: str) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    if signature is not None:
        sent[SIGNATURE_HEADER] = signature
    return httpx.post(url, content=body, headers=sent)


def test_platform_signed_webhook_verifies_over_http(platform, registration, receiver):
    url, received = receiver
    signature = platform_signature(platform, registration, BODY)
    answer = deliver(url, BODY, signature, **{"X-Orderchamp-Account-Id": "7", "X-Orderchamp-Event": "orders/update",
                                              "X-Orderchamp-Webhook-Id": "wh_1"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": "gid://orderchamp/Order/42"}
    [hook] = received
    assert (hook.account_id, hook.event, hook.webhook_id, hook.body) == ("7", "orders/update", "wh_1", BODY)


def test_tampered_unsigned_and_wrongly_signed_webhooks_are_refused(platform, registration, receiver, world):
    url, received = receiver
    signature = platform_signature(platform, registration, BODY)
    other_app = world.app()
    refused = [
        deliver(url, BODY.replace(b"42", b"43"), signature),
        deliver(url, BODY + b" ", signature),
        deliver(url, json.dumps(json.loads(BODY)).encode(), signature),  # re-serialised JSON
        deliver(url, BODY, None),
        deliver(url, BODY, ""),
        deliver(url, BODY, signature[:-2]),
        deliver(url, BODY, platform_signature(platform, other_app, BODY)),
    ]
    assert [r.status_code for r in refused] == [401] * len(refused)
    assert received == []
    assert registration.client_secret not in "".join(r.text for r in refused)


def test_signature_comparison_ignores_hex_case_and_surrounding_space(platform, registration):
    signature = platform_signature(platform, registration, BODY)
    verify_webhook(BODY, f" {signature.upper()} ", registration.client_secret)
    assert is_valid_webhook(BODY, signature, registration.client_secret)
    assert not is_valid_webhook(BODY, signature, "ocs_not-the-secret")


def test_webhooks_signed_before_a_rotation_verify_with_the_previous_secret(platform, registration):
    old_signature = platform_signature(platform, registration, BODY)
    with platform.database.write() as db:
        row = db.apps.get_by_client_id(registration.client_id)
        new_secret = platform.client_secrets.rotate(row, now=utcnow(), grace=dt.timedelta(hours=1))
    new_signature = platform_signature(platform, registration, BODY)
    assert new_signature != old_signature
    both = [new_secret, registration.client_secret]  # current first, then the previous one
    verify_webhook(BODY, old_signature, both)
    verify_webhook(BODY, new_signature, both)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, old_signature, new_secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, new_signature, registration.client_secret)
