"""The SDK's webhook route: verifies, deduplicates by webhook id, dispatches by topic."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.testclient import TestClient

from orderchamp_auth.client import compute_webhook_signature
from orderchamp_auth.client.integrations.starlette import InMemoryWebhookIds, OrderchampWebhooks

SECRET = "ocs_current-secret"
PREVIOUS = "ocs_previous-secret"


def _delivery(webhook_id: str, topic: str = "PRODUCT_UPDATED", secret: str = SECRET,
              payload: dict | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload or {"data": {"product": {"id": "UHJvZHVjdDox", "title": "Teapot"}}}).encode()
    return body, {"content-type": "application/json", "X-Orderchamp-Event": topic,
                  "X-Orderchamp-Webhook-Id": webhook_id, "X-Orderchamp-Account-Id": "QWNjb3VudDox",
                  "X-Orderchamp-Signature": compute_webhook_signature(body, secret)}


def _client(webhooks: OrderchampWebhooks) -> TestClient:
    return TestClient(Starlette(routes=webhooks.routes))


def test_a_verified_delivery_reaches_its_topics_handler_once():
    seen: list[tuple[str | None, str | None, dict]] = []
    webhooks = OrderchampWebhooks([SECRET, PREVIOUS])

    @webhooks.on("PRODUCT_UPDATED")
    async def updated(webhook, payload) -> None:
        seen.append((webhook.webhook_id, webhook.account_id, payload))

    client = _client(webhooks)
    body, headers = _delivery("id-1")
    assert client.post("/webhooks", content=body, headers=headers).json() == {"handled": "id-1"}
    # The same event again (a retry whose answer was lost): acknowledged, not handled again.
    assert client.post("/webhooks", content=body, headers=headers).json() == {"duplicate": "id-1"}
    # Signed with the previous secret during a rotation: accepted too.
    body2, headers2 = _delivery("id-2", secret=PREVIOUS)
    assert client.post("/webhooks", content=body2, headers=headers2).status_code == 200
    assert [s[0] for s in seen] == ["id-1", "id-2"]
    assert seen[0][1] == "QWNjb3VudDox" and seen[0][2]["data"]["product"]["title"] == "Teapot"


def test_a_bad_signature_is_refused_and_handles_nothing():
    calls: list[str] = []
    webhooks = OrderchampWebhooks(SECRET, handlers={"PRODUCT_UPDATED": lambda w, p: calls.append(w.webhook_id)})
    client = _client(webhooks)
    body, headers = _delivery("id-3", secret="ocs_someone-else")
    assert client.post("/webhooks", content=body, headers=headers).status_code == 401
    body, headers = _delivery("id-3")
    assert client.post("/webhooks", content=body + b" ", headers=headers).status_code == 401
    assert calls == []
    # The refused attempts did not use up the id: the genuine delivery is handled.
    assert client.post("/webhooks", content=body, headers=headers).status_code == 200
    assert calls == ["id-3"]


def test_a_failing_handler_answers_500_and_its_retry_runs_it_again():
    attempts: list[str] = []

    def flaky(webhook, _payload) -> None:
        attempts.append(webhook.webhook_id)
        if len(attempts) == 1:
            raise RuntimeError("the database is down")

    webhooks = OrderchampWebhooks(SECRET, handlers={"ORDER_CANCELLED": flaky}, ids=InMemoryWebhookIds(size=2))
    client = _client(webhooks)
    body, headers = _delivery("id-4", topic="ORDER_CANCELLED")
    assert client.post("/webhooks", content=body, headers=headers).status_code == 500
    assert client.post("/webhooks", content=body, headers=headers).status_code == 200
    assert attempts == ["id-4", "id-4"]


def test_topics_without_a_handler_are_acknowledged():
    client = _client(OrderchampWebhooks(SECRET))
    body, headers = _delivery("id-5", topic="CUSTOMER_CREATED")
    answer = client.post("/webhooks", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"ignored": "CUSTOMER_CREATED"}


def test_the_id_store_is_bounded():
    ids = InMemoryWebhookIds(size=2)
    assert ids.claim("a") and ids.claim("b") and ids.claim("c")
    assert not ids.claim("c") and ids.claim("a")  # "a" was forgotten as the oldest
