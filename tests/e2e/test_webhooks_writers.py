"""Events from every writer: ``order create`` (CLI), the back office's test order, the demo
seeding, and ORDER_UPDATED from the shipment mutations."""

from __future__ import annotations

import json

import pytest

from orderchamp_auth.client import WebhookVerificationError, verify_webhook_request
from orderchamp_auth.protocol.global_ids import encode_global_id

from ..support import Browser, World
from .api_support import Api
from .cli_support import cli_env, run
from .webhook_support import install

SUBSCRIBE = """mutation($topic: WebhookTopic!, $address: String!) {
  webhookCreate(input: {topic: $topic, address: $address}) { webhook { id } userErrors { field message } } }"""
CONFIRM = 'mutation($id: ID!) { orderConfirm(input: {id: $id}) { order { id } userErrors { message } } }'
SHIP = """mutation($id: ID!) { shipmentCreate(input: {orderId: $id, carrier: "PostNL", status: SHIPPED}) {
  shipment { id order { isFulfilled } } userErrors { field message } } }"""
PRODUCT = 'mutation($t: String!) { productCreate(input: {title: $t}) { product { id } userErrors { message } } }'
VARIANT = """mutation($p: ID!) { productVariantCreate(input: {productId: $p, title: "One", price: "4.50"}) {
  productVariant { id } userErrors { field message } } }"""


def _with_products(api: Api, count: int) -> list[str]:
    made = []
    for n in range(count):
        product_id = api.data(PRODUCT, {"t": f"Toy {n}"})["productCreate"]["product"]["id"]
        assert api.data(VARIANT, {"p": product_id})["productVariantCreate"]["userErrors"] == []
        made.append(product_id)
    return made


def test_order_create_on_the_command_line_sends_order_created(world: World, hooks, receiver, settings, tmp_path):
    supplier, app = world.supplier(), world.app()
    api = Api(hooks.base_url, install(world, supplier.account_id, app, "products_write,orders_read"))
    _with_products(api, 3)
    assert api.data(SUBSCRIBE, {"topic": "ORDER_CREATED", "address": receiver.url + "/orders"})[
        "webhookCreate"]["userErrors"] == []

    result = run(cli_env(settings.database_url), "order", "create", "--account", str(supplier.account_id),
                 "--products", "2", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    placed = json.loads(result.stdout)
    (delivery,) = receiver.wait_for(1)
    webhook = verify_webhook_request(delivery.body, delivery.headers, app.client_secret)
    assert webhook.event == "ORDER_CREATED"
    order = json.loads(delivery.body)["data"]["order"]
    assert order["id"] == placed["id"] == encode_global_id("Order", int(placed["order_id"]))
    assert order["status"] == "NEW" and not order["isConfirmed"]
    # What the API shows of it: one of each of the first two products.
    lines = api.data('query($id: ID!) { order(id: $id) { products(first: 5) { nodes { quantity } } } }',
                     {"id": placed["id"]})["order"]["products"]["nodes"]
    assert [line["quantity"] for line in lines] == [1, 1]


def test_order_create_refuses_an_account_without_products_and_a_bad_count(world: World, settings, tmp_path):
    supplier = world.supplier()
    empty = run(cli_env(settings.database_url), "order", "create", "--account", str(supplier.account_id), cwd=tmp_path)
    assert empty.returncode == 2 and "no products" in empty.stderr and len(empty.stderr.strip().splitlines()) == 1
    too_many = run(cli_env(settings.database_url), "order", "create", "--account", str(supplier.account_id),
                   "--products", "21", cwd=tmp_path)
    assert too_many.returncode == 2 and "--products" in too_many.stderr


def test_the_back_office_test_order_reaches_a_private_tokens_subscription(world: World, hooks, receiver):
    supplier = world.supplier()
    value, secret, _ = world.private_token_with_secret(supplier.account_id, "products_write,orders_read")
    api = Api(hooks.base_url, value)
    _with_products(api, 1)
    assert api.data(SUBSCRIBE, {"topic": "ORDER_CREATED", "address": receiver.url + "/mine"})[
        "webhookCreate"]["userErrors"] == []

    browser = Browser(hooks.base_url)
    browser.login(supplier.email)
    page = browser.http.get("/backoffice/api").text
    assert "Place a test order" in page
    assert browser.http.post("/backoffice/api/test-order", data={}).status_code in (400, 403)  # CSRF
    placed = browser.http.post("/backoffice/api/test-order", data={"csrf_token": browser.csrf("/backoffice/api")})
    assert placed.status_code == 303
    assert "Test order" in browser.http.get("/backoffice/api").text

    (delivery,) = receiver.wait_for(1)
    assert verify_webhook_request(delivery.body, delivery.headers, secret).event == "ORDER_CREATED"
    with pytest.raises(WebhookVerificationError):
        verify_webhook_request(delivery.body, delivery.headers, "ocw_another")


def test_a_shipment_updates_its_order(world: World, hooks, receiver):
    from orderchamp_auth.server.api.webhook_payloads import api_payload
    from orderchamp_auth.server.demo_catalogue import place_test_order

    supplier, app = world.supplier(), world.app()
    api = Api(hooks.base_url, install(world, supplier.account_id, app,
                                      "products_write,orders_write,fulfillment_write"))
    _with_products(api, 1)
    assert api.data(SUBSCRIBE, {"topic": "ORDER_UPDATED", "address": receiver.url + "/o"})[
        "webhookCreate"]["userErrors"] == []
    with world.platform.database.write() as db:
        order_id = encode_global_id("Order", place_test_order(db, supplier.account_id, api_payload, products=1).order_id)
    api.data(CONFIRM, {"id": order_id})  # ORDER_CONFIRMED: a topic of its own, not ORDER_UPDATED
    shipped = api.data(SHIP, {"id": order_id})["shipmentCreate"]
    assert shipped["userErrors"] == [] and shipped["shipment"]["order"]["isFulfilled"] is True

    (delivery,) = receiver.wait_for(1)
    assert verify_webhook_request(delivery.body, delivery.headers, app.client_secret).event == "ORDER_UPDATED"
    order = json.loads(delivery.body)["data"]["order"]
    assert order["id"] == order_id and order["isFulfilled"] is True and order["status"] == "FULFILLED"
    assert [r.headers["X-Orderchamp-Event"] for r in receiver.received] == ["ORDER_UPDATED"]
