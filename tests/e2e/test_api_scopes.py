"""The scope matrix: for every scope, a token with only that scope against every query and
mutation family — allowed, denied, and write implying read."""

from __future__ import annotations

import pytest

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.protocol.scopes import Scope, ScopeSet

from .api_support import Api, SeededAccount, seeded_account

MISSING = encode_global_id("Order", 999999999)

QUERIES: dict[str, tuple[Scope, str]] = {
    "account": (Scope.ACCOUNT_READ, "{ account { name } }"),
    "products": (Scope.PRODUCTS_READ, "{ products(first: 2) { nodes { id title } } }"),
    "product": (Scope.PRODUCTS_READ, '{ product(id: "PRODUCT_ID") { id } }'),
    "productVariants": (Scope.PRODUCTS_READ, '{ productVariants(skus: ["LC-001-1"]) { sku } }'),
    "orders": (Scope.ORDERS_READ, "{ orders(first: 2) { nodes { number } } }"),
    "order": (Scope.ORDERS_READ, '{ order(id: "%s") { id } }' % MISSING),
    "invoices": (Scope.ORDERS_READ, "{ invoices(first: 2) { nodes { number } } }"),
    "shipments": (Scope.FULFILLMENT_READ, "{ shipments(first: 2) { nodes { carrier } } }"),
    "customers": (Scope.CUSTOMERS_READ, "{ customers(first: 2) { nodes { companyName } } }"),
    "customer": (Scope.CUSTOMERS_READ, '{ customer(id: "%s") { id } }' % encode_global_id("Customer", 999999999)),
}

# Each mutation with an input that changes nothing (unknown id): allowed means a payload
# with userErrors, denied means null plus ACCESS_DENIED.
MUTATIONS: dict[str, tuple[Scope, str]] = {
    "accountUpdate": (Scope.ACCOUNT_WRITE, 'mutation { accountUpdate(input: {currency: "nope"}) { userErrors { message } } }'),
    "productCreate": (Scope.PRODUCTS_WRITE, 'mutation { productCreate(input: {title: " "}) { userErrors { message } } }'),
    "productUpdate": (Scope.PRODUCTS_WRITE, 'mutation { productUpdate(input: {id: "%s"}) { userErrors { message } } }' % MISSING),
    "productDelete": (Scope.PRODUCTS_WRITE, 'mutation { productDelete(input: {id: "%s"}) { userErrors { message } } }' % MISSING),
    "productVariantCreate": (Scope.PRODUCTS_WRITE, 'mutation { productVariantCreate(input: {productId: "%s", price: "1.00"}) { userErrors { message } } }' % MISSING),
    "productVariantUpdate": (Scope.PRODUCTS_WRITE, 'mutation { productVariantUpdate(input: {id: "%s"}) { userErrors { message } } }' % MISSING),
    "productVariantDelete": (Scope.PRODUCTS_WRITE, 'mutation { productVariantDelete(input: {id: "%s"}) { userErrors { message } } }' % MISSING),
    "productImageCreate": (Scope.PRODUCTS_WRITE, 'mutation { productImageCreate(input: {productId: "%s", originalUrl: "https://x.example/a.png"}) { userErrors { message } } }' % MISSING),
    "productImageUpdate": (Scope.PRODUCTS_WRITE, 'mutation { productImageUpdate(input: {id: "%s"}) { userErrors { message } } }' % MISSING),
    "productImageDelete": (Scope.PRODUCTS_WRITE, 'mutation { productImageDelete(input: {id: "%s"}) { userErrors { message } } }' % MISSING),
    "orderConfirm": (Scope.ORDERS_WRITE, 'mutation { orderConfirm(input: {id: "%s"}) { userErrors { message } } }' % MISSING),
    "orderCancel": (Scope.ORDERS_WRITE, 'mutation { orderCancel(input: {id: "%s"}) { userErrors { message } } }' % MISSING),
    "shipmentCreate": (Scope.FULFILLMENT_WRITE, 'mutation { shipmentCreate(input: {orderId: "%s", carrier: "DHL"}) { userErrors { message } } }' % MISSING),
    "shipmentUpdate": (Scope.FULFILLMENT_WRITE, 'mutation { shipmentUpdate(input: {id: "%s"}) { userErrors { message } } }' % MISSING),
    "customerCreate": (Scope.CUSTOMERS_WRITE, 'mutation { customerCreate(input: {companyName: ""}) { userErrors { message } } }'),
}


@pytest.fixture(scope="module")
def account(platform) -> SeededAccount:
    from ..support import World

    return seeded_account(World(platform))


@pytest.fixture(scope="module")
def apis(live, platform, account) -> dict[Scope, Api]:
    from ..support import World

    world = World(platform)
    return {scope: Api(live.base_url, world.private_token(account.account_id, scope.value)) for scope in Scope}


@pytest.fixture(scope="module")
def product_id(apis) -> str:
    return apis[Scope.PRODUCTS_READ].data("{ products(first: 1) { nodes { id } } }")["products"]["nodes"][0]["id"]


def _granted(token_scope: Scope, required: Scope) -> bool:
    return ScopeSet([token_scope]).covers([required])


@pytest.mark.parametrize("token_scope", list(Scope), ids=lambda s: s.value)
@pytest.mark.parametrize("family", list(QUERIES))
def test_query_family_is_open_exactly_to_its_scope_or_the_matching_write(apis, product_id, token_scope, family):
    required, query = QUERIES[family]
    query = query.replace("PRODUCT_ID", product_id)
    body = apis[token_scope](query)
    field = next(iter(body["data"]))
    if _granted(token_scope, required):
        assert "errors" not in body, body
        if family in ("order", "customer"):
            assert body["data"][field] is None  # unknown id: not found, no error
        else:
            assert body["data"][field] is not None
    else:
        assert body["data"][field] is None
        error = body["errors"][0]
        assert error["extensions"] == {"code": "ACCESS_DENIED", "requiredScope": required.value}
        assert error["path"] == [field]


@pytest.mark.parametrize("token_scope", list(Scope), ids=lambda s: s.value)
@pytest.mark.parametrize("family", list(MUTATIONS))
def test_mutation_family_is_open_exactly_to_its_write_scope(apis, token_scope, family):
    required, query = MUTATIONS[family]
    body = apis[token_scope](query)
    payload = body["data"][family]
    if token_scope == required:
        assert "errors" not in body, body
        assert payload["userErrors"], payload
    else:
        assert payload is None
        assert body["errors"][0]["extensions"] == {"code": "ACCESS_DENIED", "requiredScope": required.value}


def test_denied_field_leaves_the_rest_of_the_query_resolving(apis):
    body = apis[Scope.PRODUCTS_READ]("{ account { name } products(first: 1) { nodes { title } } }")
    assert body["data"]["account"] is None
    assert body["data"]["products"]["nodes"][0]["title"]
    assert [e["extensions"]["requiredScope"] for e in body["errors"]] == ["account_read"]


def test_nested_fields_declare_their_own_scopes(apis):
    query = "{ orders(first: 3, includeCancelled: true) { nodes { number customer { companyName } products(first: 1) { nodes { sku variant { sku } } } } } }"
    body = apis[Scope.ORDERS_READ](query)
    orders = body["data"]["orders"]["nodes"]
    assert len(orders) == 3 and all(o["customer"] is None for o in orders)
    codes = {(e["extensions"]["requiredScope"], e["path"][-1]) for e in body["errors"]}
    assert codes == {("customers_read", "customer"), ("products_read", "variant")}


def test_node_lookup_checks_the_scope_of_the_type(apis, product_id):
    body = apis[Scope.ORDERS_READ]('{ node(id: "%s") { id } }' % product_id)
    assert body["data"]["node"] is None
    assert body["errors"][0]["extensions"] == {"code": "ACCESS_DENIED", "requiredScope": "products_read"}
    allowed = apis[Scope.PRODUCTS_WRITE]('{ node(id: "%s") { id ... on Product { title } } }' % product_id)
    assert allowed["data"]["node"]["id"] == product_id and allowed["data"]["node"]["title"]


def test_mutation_without_scope_writes_nothing(apis, account):
    before = apis[Scope.CUSTOMERS_READ].data("{ customers(first: 1) { totalCount } }")["customers"]["totalCount"]
    body = apis[Scope.CUSTOMERS_READ]('mutation { customerCreate(input: {companyName: "Sneaky"}) { customer { id } } }')
    assert body["data"]["customerCreate"] is None
    after = apis[Scope.CUSTOMERS_READ].data("{ customers(first: 1) { totalCount } }")["customers"]["totalCount"]
    assert before == after
