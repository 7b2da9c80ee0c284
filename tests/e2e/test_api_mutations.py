"""Each mutation's happy path and its userErrors; a failed mutation writes nothing."""

from __future__ import annotations

import pytest

from orderchamp_auth.protocol.scopes import Scope

from ..support import World
from .api_support import Api, seeded_account

ALL = ",".join(s.value for s in Scope)


@pytest.fixture(scope="module")
def api(live, platform) -> Api:
    world = World(platform)
    account = seeded_account(world)
    return Api(live.base_url, world.private_token(account.account_id, ALL))


def errors_of(payload: dict) -> list[tuple[list[str], str]]:
    return [(e["field"], e["message"]) for e in payload["userErrors"]]


def test_account_update(api):
    data = api.data('mutation { accountUpdate(input: {name: "Renamed Shop", currency: "USD"}) { account { name currency } userErrors { field message } } }')
    assert data["accountUpdate"] == {"account": {"name": "Renamed Shop", "currency": "USD"}, "userErrors": []}
    bad = api.data('mutation { accountUpdate(input: {name: " ", currency: "dollars"}) { account { name } userErrors { field message } } }')
    assert bad["accountUpdate"]["account"] is None
    assert bad["accountUpdate"]["userErrors"][0]["field"] == ["input", "name"]
    assert api.data("{ account { name currency } }")["account"] == {"name": "Renamed Shop", "currency": "USD"}


def test_product_variant_and_image_lifecycle(api):
    created = api.data('mutation { productCreate(input: {title: "Wooden Train", brand: "Little Champs", description: "Choo"}) { product { id title brand description createdAt } userErrors { message } } }')["productCreate"]
    assert created["userErrors"] == [] and created["product"]["title"] == "Wooden Train"
    pid = created["product"]["id"]
    updated = api.data('mutation($in: ProductUpdateInput!) { productUpdate(input: $in) { product { title brand } userErrors { message } } }',
                       {"in": {"id": pid, "title": "Wooden Train Deluxe"}})["productUpdate"]
    assert updated["product"] == {"title": "Wooden Train Deluxe", "brand": "Little Champs"}

    variant = api.data('mutation { productVariantCreate(input: {productId: "%s", sku: "WT-1", price: "19.5", inventoryQuantity: 7, inventoryPolicy: CONTINUE}) { productVariant { id sku price inventoryQuantity inventoryPolicy position product { id } } userErrors { message } } }' % pid)["productVariantCreate"]
    assert variant["productVariant"]["price"] == "19.50"
    assert variant["productVariant"]["position"] == 1 and variant["productVariant"]["product"]["id"] == pid
    vid = variant["productVariant"]["id"]
    changed = api.data('mutation { productVariantUpdate(input: {id: "%s", price: "21.00", inventoryQuantity: 3}) { productVariant { price inventoryQuantity } userErrors { message } } }' % vid)
    assert changed["productVariantUpdate"]["productVariant"] == {"price": "21.00", "inventoryQuantity": 3}

    image = api.data('mutation { productImageCreate(input: {productId: "%s", originalUrl: "https://cdn.example.com/train.jpg"}) { productImage { id position originalUrl } userErrors { message } } }' % pid)["productImageCreate"]
    assert image["productImage"]["position"] == 1
    iid = image["productImage"]["id"]
    moved = api.data('mutation { productImageUpdate(input: {id: "%s", position: 4}) { productImage { position } userErrors { message } } }' % iid)
    assert moved["productImageUpdate"]["productImage"]["position"] == 4

    full = api.data('{ product(id: "%s") { variants(first: 5) { nodes { sku } } images(first: 5) { nodes { id } } } }' % pid)["product"]
    assert full["variants"]["nodes"] == [{"sku": "WT-1"}] and full["images"]["nodes"] == [{"id": iid}]

    assert api.data('mutation { productImageDelete(input: {id: "%s"}) { deletedProductImageId userErrors { message } } }' % iid)["productImageDelete"]["deletedProductImageId"] == iid
    assert api.data('mutation { productVariantDelete(input: {id: "%s"}) { deletedProductVariantId userErrors { message } } }' % vid)["productVariantDelete"]["deletedProductVariantId"] == vid
    assert api.data('mutation { productDelete(input: {id: "%s"}) { deletedProductId userErrors { message } } }' % pid)["productDelete"]["deletedProductId"] == pid
    assert api.data('{ product(id: "%s") { id } }' % pid) == {"product": None}


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        ('productCreate(input: {title: ""}) { product { id } userErrors { field message } }', "title"),
        ('productCreate(input: {title: "%s"}) { product { id } userErrors { field message } }' % ("x" * 300), "title"),
        ('productVariantCreate(input: {productId: "PID", price: "-1"}) { productVariant { id } userErrors { field message } }', "price"),
        ('productVariantCreate(input: {productId: "PID", price: "1.005"}) { productVariant { id } userErrors { field message } }', "price"),
        ('productVariantCreate(input: {productId: "PID", price: "abc"}) { productVariant { id } userErrors { field message } }', "price"),
        ('productVariantCreate(input: {productId: "PID", price: "NaN"}) { productVariant { id } userErrors { field message } }', "price"),
        ('productImageCreate(input: {productId: "PID", originalUrl: "javascript:alert(1)"}) { productImage { id } userErrors { field message } }', "originalUrl"),
        ('productImageCreate(input: {productId: "UHJvZHVjdDox0", originalUrl: "https://x.example/a.png"}) { productImage { id } userErrors { field message } }', "productId"),
        ('customerCreate(input: {companyName: "X", email: "not-an-email"}) { customer { id } userErrors { field message } }', "email"),
        ('customerCreate(input: {companyName: "   "}) { customer { id } userErrors { field message } }', "companyName"),
    ],
)
def test_invalid_input_gives_user_errors_and_writes_nothing(api, mutation, field):
    pid = api.data("{ products(first: 1) { nodes { id } } }")["products"]["nodes"][0]["id"]
    counts_before = api.data("{ products(first: 1) { totalCount } customers(first: 1) { totalCount } }")
    name = mutation.split("(")[0]
    body = api.data("mutation { %s }" % mutation.replace("PID", pid))
    payload = body[name]
    assert list(payload.values())[0] is None
    assert payload["userErrors"][0]["field"] == ["input", field]
    assert payload["userErrors"][0]["message"]
    assert api.data("{ products(first: 1) { totalCount } customers(first: 1) { totalCount } }") == counts_before


def _order(api: Api, *, confirmed: bool, cancelled: bool = False, fulfilled: bool = False) -> dict:
    orders = api.data("{ orders(first: 250, includeCancelled: true) { nodes { id isConfirmed isCancelled isFulfilled products(first: 10) { nodes { id quantity } } } } }")["orders"]["nodes"]
    return next(o for o in orders if o["isConfirmed"] == confirmed and o["isCancelled"] == cancelled
                and o["isFulfilled"] == fulfilled)


def test_order_confirm_and_cancel(api):
    new = _order(api, confirmed=False)
    confirmed = api.data('mutation { orderConfirm(input: {id: "%s"}) { order { status isConfirmed confirmedAt } userErrors { message } } }' % new["id"])["orderConfirm"]
    assert confirmed["order"]["status"] == "CONFIRMED" and confirmed["order"]["confirmedAt"]
    again = api.data('mutation { orderConfirm(input: {id: "%s"}) { order { id } userErrors { field message } } }' % new["id"])["orderConfirm"]
    assert again["order"] is None and "already confirmed" in again["userErrors"][0]["message"]
    cancelled = api.data('mutation { orderCancel(input: {id: "%s"}) { order { status isCancelled cancelledAt } userErrors { message } } }' % new["id"])["orderCancel"]
    assert cancelled["order"]["status"] == "CANCELLED"
    refused = api.data('mutation { orderConfirm(input: {id: "%s"}) { order { id } userErrors { message } } }' % new["id"])["orderConfirm"]
    assert refused["order"] is None and "cancelled" in refused["userErrors"][0]["message"]


def test_fulfilled_order_cannot_be_cancelled(api):
    done = _order(api, confirmed=True, fulfilled=True)
    body = api.data('mutation { orderCancel(input: {id: "%s"}) { order { id } userErrors { message } } }' % done["id"])
    assert body["orderCancel"]["order"] is None


def test_shipment_create_partial_then_complete_fulfils_the_order(api):
    order = None
    for candidate in api.data("{ orders(first: 250) { nodes { id isConfirmed isFulfilled shipments(first: 5) { totalCount } products(first: 10) { nodes { id quantity } } } } }")["orders"]["nodes"]:
        if candidate["isConfirmed"] and not candidate["isFulfilled"] and candidate["shipments"]["totalCount"] == 0 \
                and candidate["products"]["nodes"][0]["quantity"] > 1:
            order = candidate
            break
    assert order is not None
    line = order["products"]["nodes"][0]
    partial = api.data('mutation($in: ShipmentCreateInput!) { shipmentCreate(input: $in) { shipment { id status carrier trackingUrl items { quantity orderProduct { id } } order { id isFulfilled } } userErrors { field message } } }',
                       {"in": {"orderId": order["id"], "carrier": "PostNL", "trackingCode": "3S123", "trackingUrl": "https://postnl.nl/t/3S123", "status": "SHIPPED",
                               "items": [{"orderProductId": line["id"], "quantity": 1}]}})["shipmentCreate"]
    assert partial["userErrors"] == []
    assert partial["shipment"]["items"] == [{"quantity": 1, "orderProduct": {"id": line["id"]}}]
    assert partial["shipment"]["order"]["isFulfilled"] is False
    too_many = api.data('mutation($in: ShipmentCreateInput!) { shipmentCreate(input: $in) { shipment { id } userErrors { field message } } }',
                        {"in": {"orderId": order["id"], "carrier": "DHL", "items": [{"orderProductId": line["id"], "quantity": 10**6}]}})
    assert too_many["shipmentCreate"]["userErrors"][0]["field"] == ["input", "items"]
    rest = api.data('mutation { shipmentCreate(input: {orderId: "%s", carrier: "DHL"}) { shipment { id status } userErrors { message } } }' % order["id"])["shipmentCreate"]
    assert rest["shipment"]["status"] == "PENDING"
    delivered = api.data('mutation { shipmentUpdate(input: {id: "%s", status: DELIVERED, trackingCode: "JD1"}) { shipment { status trackingCode order { isFulfilled status } } userErrors { message } } }' % rest["shipment"]["id"])["shipmentUpdate"]
    assert delivered["shipment"]["status"] == "DELIVERED"
    assert delivered["shipment"]["order"] == {"isFulfilled": True, "status": "FULFILLED"}


def test_shipment_for_unconfirmed_or_cancelled_order_is_refused(api):
    new = _order(api, confirmed=False)
    body = api.data('mutation { shipmentCreate(input: {orderId: "%s", carrier: "DHL"}) { shipment { id } userErrors { field message } } }' % new["id"])
    assert body["shipmentCreate"]["shipment"] is None
    assert body["shipmentCreate"]["userErrors"][0]["field"] == ["input", "orderId"]


def test_customer_create(api):
    body = api.data('mutation { customerCreate(input: {companyName: "Speelgoed BV", email: "inkoop@speelgoed.example", address: "Markt 1, Delft"}) { customer { id companyName email address createdAt } userErrors { message } } }')
    customer = body["customerCreate"]["customer"]
    assert customer["companyName"] == "Speelgoed BV" and customer["createdAt"].endswith("Z")
    assert api.data('{ customer(id: "%s") { email } }' % customer["id"]) == {"customer": {"email": "inkoop@speelgoed.example"}}


def test_bad_variables_are_request_errors(api):
    response = api.post('mutation($in: ProductCreateInput!) { productCreate(input: $in) { product { id } } }',
                        {"in": {"title": 5}})
    assert response.status_code == 200 or response.status_code == 400
    body = response.json()
    assert body["errors"] and body.get("data") is None
    missing = api.post('mutation($in: ProductCreateInput!) { productCreate(input: $in) { product { id } } }', {})
    assert missing.json()["errors"]
