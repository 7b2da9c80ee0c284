"""Webhooks end to end over loopback: an app subscribes, a mutation happens, the app receives a
delivery the SDK verifies; retries keep one webhook id; a rolled-back write sends nothing."""

from __future__ import annotations

import json
import os
import time

import pytest

from orderchamp_auth.client import verify_webhook_request
from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.server.store.repositories.webhooks import Owner
from orderchamp_auth.server.webhooks.outbox import record_event

from ..support import Browser, LiveServer, Supplier, World, free_port
from .api_support import Api
from .webhook_support import Receiver, install, wait_for_delivery

SUBSCRIBE = """mutation($topic: WebhookTopic!, $address: String!) {
  webhookCreate(input: {topic: $topic, address: $address}) { webhook { id topic address } userErrors { field message } } }"""
CREATE = "mutation($t: String!) { productCreate(input: {title: $t}) { product { id } userErrors { message } } }"
UPDATE = """mutation($id: ID!, $t: String!) { productUpdate(input: {id: $id, title: $t}) {
  product { id title } userErrors { field message } } }"""
PRODUCT = """query($id: ID!) { product(id: $id) { id title description brand createdAt updatedAt
  variants(first: 100) { nodes { id title sku price inventoryQuantity inventoryPolicy position } }
  images(first: 50) { nodes { id position originalUrl } } } }"""


def _subscribed(world: World, hooks: LiveServer, receiver: Receiver, path: str = "/hooks",
                topic: str = "PRODUCT_UPDATED") -> tuple[Supplier, object, Api]:
    supplier = world.supplier()
    app = world.app()
    api = Api(hooks.base_url, install(world, supplier.account_id, app, "products_write"))
    made = api.data(SUBSCRIBE, {"topic": topic, "address": receiver.url + path})["webhookCreate"]
    assert made["userErrors"] == [] and made["webhook"]["topic"] == topic
    return supplier, app, api


def test_a_mutation_reaches_the_app_signed_and_verified_by_the_sdk(world, hooks, receiver):
    supplier, app, api = _subscribed(world, hooks, receiver)
    product_id = api.data(CREATE, {"t": "Teapot"})["productCreate"]["product"]["id"]
    api.data(UPDATE, {"id": product_id, "t": "Blue teapot"})

    (delivery,) = receiver.wait_for(1)
    webhook = verify_webhook_request(delivery.body, delivery.headers, app.client_secret)
    assert webhook.event == "PRODUCT_UPDATED"
    assert webhook.account_id == encode_global_id("Account", supplier.account_id)
    assert webhook.webhook_id and delivery.headers["X-Orderchamp-Attempt"] == "1"
    # The payload is the API's answer to the query of that product, just after the change.
    assert json.loads(delivery.body) == {"data": api.data(PRODUCT, {"id": product_id})}
    assert json.loads(delivery.body)["data"]["product"]["title"] == "Blue teapot"
    # Only the subscribed topic: the creation was not sent.
    assert [r.headers["X-Orderchamp-Event"] for r in receiver.received] == ["PRODUCT_UPDATED"]


def test_a_body_changed_in_transit_does_not_verify(world, hooks, receiver):
    _, app, api = _subscribed(world, hooks, receiver)
    product_id = api.data(CREATE, {"t": "Cup"})["productCreate"]["product"]["id"]
    api.data(UPDATE, {"id": product_id, "t": "Mug"})
    (delivery,) = receiver.wait_for(1)
    from orderchamp_auth.client import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        verify_webhook_request(delivery.body.replace(b"Mug", b"Cup"), delivery.headers, app.client_secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook_request(delivery.body, delivery.headers, "ocs_not-the-secret")


def test_a_receiver_failing_twice_gets_three_attempts_with_one_webhook_id(world, hooks, receiver):
    receiver.respond = lambda count: 500 if count < 2 else 200
    _, app, api = _subscribed(world, hooks, receiver)
    product_id = api.data(CREATE, {"t": "Jug"})["productCreate"]["product"]["id"]
    api.data(UPDATE, {"id": product_id, "t": "Big jug"})

    attempts = receiver.wait_for(3)
    assert len({a.headers["X-Orderchamp-Webhook-Id"] for a in attempts}) == 1
    assert [a.headers["X-Orderchamp-Attempt"] for a in attempts] == ["1", "2", "3"]
    assert len({a.headers["X-Orderchamp-Triggered-At"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1
    for attempt in attempts:
        verify_webhook_request(attempt.body, attempt.headers, app.client_secret)
    stored, log = wait_for_delivery(world, attempts[0].headers["X-Orderchamp-Webhook-Id"], "delivered")
    assert stored.attempts == 3
    assert [a.status_code for a in log] == [500, 500, 200]


def test_a_redirect_is_a_failure_and_not_followed(world, hooks, receiver):
    receiver.respond = lambda count: 302 if count == 0 else 200
    _, _, api = _subscribed(world, hooks, receiver)
    product_id = api.data(CREATE, {"t": "Bowl"})["productCreate"]["product"]["id"]
    api.data(UPDATE, {"id": product_id, "t": "Deep bowl"})
    attempts = receiver.wait_for(2)
    assert [a.path for a in attempts] == ["/hooks", "/hooks"]  # never the Location
    assert [a.headers["X-Orderchamp-Attempt"] for a in attempts] == ["1", "2"]


def test_a_rolled_back_write_sends_nothing(world, hooks, receiver, platform):
    supplier, _, api = _subscribed(world, hooks, receiver)
    product_id = api.data(CREATE, {"t": "Vase"})["productCreate"]["product"]["id"]
    # A mutation that fails its checks rolls back, its event with it.
    failed = api.data(UPDATE, {"id": product_id, "t": "   "})["productUpdate"]
    assert failed["userErrors"] and failed["product"] is None
    # A transaction that records an event and then fails leaves no delivery either.
    with pytest.raises(RuntimeError), platform.database.write() as db:
        assert record_event(db, supplier.account_id, "PRODUCT_UPDATED", {"data": {"product": None}}) == 1
        raise RuntimeError("the change fails after recording its event")
    api.data(UPDATE, {"id": product_id, "t": "Tall vase"})
    receiver.wait_for(1)
    # Deliveries go in the order they were recorded: nothing rolled back came before this one.
    assert [json.loads(r.body)["data"]["product"]["title"] for r in receiver.received] == ["Tall vase"]


def test_uninstalling_sends_app_uninstalled_after_the_tokens_stop_working(world, hooks, receiver):
    supplier = world.supplier()
    app = world.app()
    token = install(world, supplier.account_id, app, "products_read")
    api = Api(hooks.base_url, token)
    made = api.data(SUBSCRIBE, {"topic": "PRODUCT_CREATED", "address": receiver.url + "/gone"})["webhookCreate"]
    assert made["userErrors"] == []
    token_status_on_arrival: list[int] = []

    def respond(_count: int) -> int:
        # What the app's token does at the moment the delivery arrives.
        token_status_on_arrival.append(api.post("{ account { id } }").status_code)
        return 200

    receiver.respond = respond
    browser = Browser(hooks.base_url)
    try:
        browser.login(supplier.email)
        csrf = browser.csrf(f"/backoffice/apps/{app.client_id}")
        answer = browser.http.post(f"/backoffice/apps/{app.client_id}/uninstall", data={"csrf_token": csrf})
        assert answer.status_code == 303
    finally:
        browser.close()

    (delivery,) = receiver.wait_for(1)
    webhook = verify_webhook_request(delivery.body, delivery.headers, app.client_secret)
    assert webhook.event == "APP_UNINSTALLED"
    payload = json.loads(delivery.body)["data"]["appUninstalled"]
    assert payload["app"] == {"clientId": app.client_id} and payload["tokensRevoked"] is True
    assert payload["account"]["id"] == encode_global_id("Account", supplier.account_id)
    assert token_status_on_arrival == [401]
    # The subscriptions went with the installation.
    with world.platform.database.read() as db:
        assert db.webhook_subscriptions.count_for(supplier.account_id, Owner(app_id=app.app_id)) == 0


def test_the_example_app_subscribes_on_install_and_shows_the_product_updates_it_receives(world, hooks):
    import subprocess
    import sys

    from .test_sdk_example_app import EXAMPLE, wait_until_up

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    registration = world.app(application_url=f"{base}/install", redirect_uris=[f"{base}/callback"])
    env = {**os.environ, "ORDERCHAMP_CLIENT_ID": registration.client_id,
           "ORDERCHAMP_CLIENT_SECRET": registration.client_secret}
    process = subprocess.Popen([sys.executable, str(EXAMPLE), "--web-url", hooks.base_url, "--api-url",
                                f"{hooks.base_url}/v1", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    browser = Browser(hooks.base_url)
    try:
        wait_until_up(base, process)
        supplier = world.supplier()
        browser.login(supplier.email)
        http = browser.http
        csrf = browser.csrf("/backoffice/integrations")
        install = http.post(f"/backoffice/integrations/{registration.client_id}/install", data={"csrf_token": csrf})
        consent = http.get(http.get(install.headers["location"]).headers["location"])
        http.get(browser.decide(consent.text, "approve").headers["location"])
        home = http.get(f"{base}/").text
        assert f"subscribed to PRODUCT_UPDATED at {base}/webhooks" in home

        api = Api(hooks.base_url, world.private_token(supplier.account_id, "products_write"))
        product_id = api.data(CREATE, {"t": "Kettle"})["productCreate"]["product"]["id"]
        api.data(UPDATE, {"id": product_id, "t": "Whistling kettle"})
        deadline = time.monotonic() + 60
        while "Whistling kettle" not in home.split("id=webhooks", 1)[1]:
            assert time.monotonic() < deadline, home
            time.sleep(0.05)
            home = http.get(f"{base}/").text
    finally:
        browser.close()
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert registration.client_secret not in stderr


def test_the_readme_app_receives_its_first_webhook(world, hooks, tmp_path):
    import subprocess
    import sys

    from .test_sdk_example_app import wait_until_up
    from .test_sdk_readme import readme_app

    (tmp_path / "app.py").write_text(readme_app(), "utf-8")
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    registration = world.app(application_url=f"{app_url}/install", redirect_uris=[f"{app_url}/callback"])
    env = {**os.environ, "ORDERCHAMP_CLIENT_ID": registration.client_id,
           "ORDERCHAMP_CLIENT_SECRET": registration.client_secret, "ORDERCHAMP_WEB_URL": hooks.base_url,
           "APP_URL": app_url}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--no-access-log"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    browser = Browser(hooks.base_url)
    try:
        wait_until_up(app_url, process)
        supplier = world.supplier()
        browser.login(supplier.email)
        http = browser.http
        csrf = browser.csrf("/backoffice/integrations")
        install = http.post(f"/backoffice/integrations/{registration.client_id}/install", data={"csrf_token": csrf})
        consent = http.get(http.get(install.headers["location"]).headers["location"])
        http.get(browser.decide(consent.text, "approve").headers["location"])
        assert "Product updates: none yet" in http.get(f"{app_url}/").text

        api = Api(hooks.base_url, world.private_token(supplier.account_id, "products_write"))
        product_id = api.data(CREATE, {"t": "Teddy"})["productCreate"]["product"]["id"]
        api.data(UPDATE, {"id": product_id, "t": "Blue Teddy"})
        deadline = time.monotonic() + 60
        while "Product updates: Blue Teddy" not in (home := http.get(f"{app_url}/").text):
            assert time.monotonic() < deadline, home
            time.sleep(0.05)
    finally:
        browser.close()
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert registration.client_secret not in stderr


def test_a_private_tokens_subscription_is_delivered_signed_with_its_own_secret(world, hooks, receiver):
    from orderchamp_auth.client import WebhookVerificationError
    from orderchamp_auth.server.oauth.private_tokens import rotate_webhook_secret
    from orderchamp_auth.server.store.database import utcnow

    supplier = world.supplier()
    value, secret, token_id = world.private_token_with_secret(supplier.account_id, "products_write")
    assert secret.startswith("ocw_")
    api = Api(hooks.base_url, value)
    made = api.data(SUBSCRIBE, {"topic": "PRODUCT_UPDATED", "address": receiver.url + "/mine"})["webhookCreate"]
    assert made["userErrors"] == []
    product_id = api.data(CREATE, {"t": "Kettle"})["productCreate"]["product"]["id"]
    api.data(UPDATE, {"id": product_id, "t": "Red kettle"})

    (delivery,) = receiver.wait_for(1)
    webhook = verify_webhook_request(delivery.body, delivery.headers, secret)
    assert webhook.event == "PRODUCT_UPDATED" and delivery.path == "/mine"
    assert webhook.account_id == encode_global_id("Account", supplier.account_id)
    assert json.loads(delivery.body)["data"]["product"]["title"] == "Red kettle"
    with pytest.raises(WebhookVerificationError):
        verify_webhook_request(delivery.body, delivery.headers, "ocw_not-the-secret")
    other_secret = world.private_token_with_secret(supplier.account_id, "products_read")[1]
    with pytest.raises(WebhookVerificationError):
        verify_webhook_request(delivery.body, delivery.headers, other_secret)

    # Rotated: the next delivery is signed with the new secret only.
    with world.platform.database.write() as db:
        _, rotated = rotate_webhook_secret(db, world.platform.secret_box, account_id=supplier.account_id,
                                           token_id=token_id, now=utcnow())
    api.data(UPDATE, {"id": product_id, "t": "Green kettle"})
    second = receiver.wait_for(2)[1]
    verify_webhook_request(second.body, second.headers, rotated)
    with pytest.raises(WebhookVerificationError):
        verify_webhook_request(second.body, second.headers, secret)
