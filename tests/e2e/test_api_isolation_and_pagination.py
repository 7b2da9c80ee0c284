"""Account isolation for every type, and pagination without gaps or repeats."""

from __future__ import annotations

import pytest

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.protocol.scopes import Scope

from ..support import World
from .api_support import Api, SeededAccount, seeded_account

ALL = ",".join(s.value for s in Scope)

# type -> (connection query that lists its ids, direct lookup field or None)
LISTS = {
    "Product": ("{ products(first: 250) { nodes { id } } }", "product"),
    "ProductVariant": ("{ products(first: 250) { nodes { variants(first: 50) { nodes { id } } } } }", None),
    "ProductImage": ("{ products(first: 250) { nodes { images(first: 50) { nodes { id } } } } }", None),
    "Order": ("{ orders(first: 250, includeCancelled: true) { nodes { id } } }", "order"),
    "OrderProduct": ("{ orders(first: 250, includeCancelled: true) { nodes { products(first: 50) { nodes { id } } } } }", None),
    "Invoice": ("{ invoices(first: 250) { nodes { id } } }", None),
    "InvoiceItem": ("{ invoices(first: 250) { nodes { items(first: 50) { nodes { id } } } } }", None),
    "Shipment": ("{ shipments(first: 250) { nodes { id } } }", None),
    "Customer": ("{ customers(first: 250) { nodes { id } } }", "customer"),
}


def _ids(data: object) -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "id" and isinstance(value, str):
                found.append(value)
            else:
                found += _ids(value)
    elif isinstance(data, list):
        for item in data:
            found += _ids(item)
    return found


@pytest.fixture(scope="module")
def two_accounts(live, platform) -> tuple[Api, Api, SeededAccount, SeededAccount]:
    world = World(platform)
    a, b = seeded_account(world), seeded_account(world)
    return (Api(live.base_url, world.private_token(a.account_id, ALL)),
            Api(live.base_url, world.private_token(b.account_id, ALL)), a, b)


@pytest.mark.parametrize("type_name", list(LISTS))
def test_objects_of_another_account_behave_as_not_found(two_accounts, type_name):
    api_a, api_b, _, _ = two_accounts
    query, lookup = LISTS[type_name]
    ids_b = _ids(api_b.data(query))
    assert ids_b, f"account B has no {type_name}"
    sample = ids_b[:5]
    for gid in sample:
        own = api_b.data('{ node(id: "%s") { id } }' % gid)
        assert own["node"] == {"id": gid}
        foreign = api_a('{ node(id: "%s") { id } }' % gid)
        assert foreign == {"data": {"node": None}}
        if lookup:
            assert api_a('{ %s(id: "%s") { id } }' % (lookup, gid)) == {"data": {lookup: None}}
    assert not set(ids_b) & set(_ids(api_a.data(query)))


def test_account_node_of_another_account_is_not_found(two_accounts):
    api_a, _, _, b = two_accounts
    assert api_a('{ node(id: "%s") { id } }' % encode_global_id("Account", b.account_id)) == {"data": {"node": None}}


def test_mutations_cannot_touch_another_accounts_objects(two_accounts):
    api_a, api_b, _, _ = two_accounts
    product = api_b.data("{ products(first: 1) { nodes { id title } } }")["products"]["nodes"][0]
    body = api_a.data('mutation { productUpdate(input: {id: "%s", title: "Hijacked"}) { product { id } userErrors { field message } } }' % product["id"])
    assert body["productUpdate"]["product"] is None
    assert body["productUpdate"]["userErrors"][0]["field"] == ["input", "id"]
    again = api_b.data('{ product(id: "%s") { title } }' % product["id"])
    assert again["product"]["title"] == product["title"]


@pytest.mark.parametrize("id_value", ["", "garbage", "UHJvZHVjdDo", encode_global_id("Product", "abc"),
                                      encode_global_id("Nope", 1), encode_global_id("Product", -1),
                                      encode_global_id("Product", 10**30)])
def test_forged_ids_are_not_found(two_accounts, id_value):
    api_a, _, _, _ = two_accounts
    assert api_a('{ node(id: "%s") { id } product(id: "%s") { id } }' % (id_value, id_value)) == {
        "data": {"node": None, "product": None}}


CONNECTIONS = {
    "products": ("products", ""),
    "customers": ("customers", ""),
    "invoices": ("invoices", ""),
    "shipments": ("shipments", ""),
    "orders_created_desc": ("orders", "includeCancelled: true"),
    "orders_number_asc": ("orders", "includeCancelled: true, sort: NUMBER_ASC"),
    "orders_created_asc": ("orders", "includeCancelled: true, sort: CREATED_AT_ASC"),
}


def _walk(api: Api, field: str, extra: str, size: int, backwards: bool) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(200):
        args = [f"{'last' if backwards else 'first'}: {size}"]
        if cursor:
            args.append(f'{"before" if backwards else "after"}: "{cursor}"')
        if extra:
            args.append(extra)
        data = api.data("{ %s(%s) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }"
                        % (field, ", ".join(args)))[field]
        ids = [e["node"]["id"] for e in data["edges"]]
        seen = ids + seen if backwards else seen + ids
        info = data["pageInfo"]
        if data["edges"]:
            assert info["startCursor"] == data["edges"][0]["cursor"]
            assert info["endCursor"] == data["edges"][-1]["cursor"]
        more = info["hasPreviousPage"] if backwards else info["hasNextPage"]
        if not more:
            break
        cursor = info["startCursor"] if backwards else info["endCursor"]
    assert len(seen) == data["totalCount"]
    return seen


@pytest.mark.parametrize("name", list(CONNECTIONS))
def test_pagination_forwards_and_backwards_has_no_gaps_or_repeats(two_accounts, name):
    api_a, _, _, _ = two_accounts
    field, extra = CONNECTIONS[name]
    everything = _ids(api_a.data("{ %s(first: 250%s) { nodes { id } } }" % (field, ", " + extra if extra else ""))[field])
    forwards = _walk(api_a, field, extra, 7, backwards=False)
    backwards = _walk(api_a, field, extra, 7, backwards=True)
    assert forwards == everything
    assert backwards == everything
    assert len(set(forwards)) == len(forwards)


def test_orders_sort_and_filters(two_accounts):
    api_a, _, _, _ = two_accounts
    numbers = [o["number"] for o in api_a.data("{ orders(first: 250, sort: NUMBER_ASC, includeCancelled: true) { nodes { number } } }")["orders"]["nodes"]]
    assert numbers == sorted(numbers)
    desc = [o["number"] for o in api_a.data("{ orders(first: 250, sort: NUMBER_DESC, includeCancelled: true) { nodes { number } } }")["orders"]["nodes"]]
    assert desc == sorted(numbers, reverse=True)
    default = api_a.data("{ orders(first: 250) { nodes { isCancelled isConfirmed } } }")["orders"]["nodes"]
    assert default and not any(o["isCancelled"] for o in default)
    confirmed = api_a.data("{ orders(first: 250, includeUnconfirmed: false) { nodes { isConfirmed } } }")["orders"]["nodes"]
    assert confirmed and all(o["isConfirmed"] for o in confirmed)
    created = [o["createdAt"] for o in api_a.data("{ orders(first: 250, includeCancelled: true) { nodes { createdAt } } }")["orders"]["nodes"]]
    since = created[len(created) // 2]
    recent = api_a.data('{ orders(first: 250, includeCancelled: true, since: "%s") { nodes { createdAt } } }' % since)["orders"]["nodes"]
    assert recent and all(o["createdAt"] >= since for o in recent)
    assert len(recent) < len(created)


def test_cursors_stay_valid_when_rows_are_inserted(two_accounts):
    api_a, _, _, _ = two_accounts
    page = api_a.data("{ customers(first: 3) { nodes { id } pageInfo { endCursor } } }")["customers"]
    api_a.data('mutation { customerCreate(input: {companyName: "Inserted Later"}) { customer { id } } }')
    after = api_a.data('{ customers(first: 2, after: "%s") { nodes { id } } }' % page["pageInfo"]["endCursor"])
    everything = _ids(api_a.data("{ customers(first: 250) { nodes { id } } }"))
    index = everything.index(page["nodes"][-1]["id"])
    assert [n["id"] for n in after["customers"]["nodes"]] == everything[index + 1:index + 3]


@pytest.mark.parametrize(
    "args",
    ["", "first: 251", "last: 251", "first: -1", "first: 2, last: 2", 'first: 2, after: "@@@"',
     'first: 2, before: "WzFd"', 'last: 2, after: "WzFd"', 'first: 2, after: "WyJ4Il0"'],
)
def test_bad_pagination_arguments_are_clear_errors(two_accounts, args):
    api_a, _, _, _ = two_accounts
    body = api_a("{ products%s { nodes { id } } }" % (f"({args})" if args else ""))
    assert body["data"]["products"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_product_variants_by_sku(two_accounts):
    api_a, _, _, _ = two_accounts
    data = api_a.data('{ productVariants(skus: ["LC-001-1", "LC-002-1", "NOPE"]) { sku price product { title } } }')
    assert sorted(v["sku"] for v in data["productVariants"]) == ["LC-001-1", "LC-002-1"]
    assert all(v["product"]["title"] for v in data["productVariants"])
    many = api_a('{ productVariants(skus: [%s]) { sku } }' % ",".join(f'"s{i}"' for i in range(251)))
    assert many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_shapes_match_orderchamp(two_accounts):
    api_a, _, a, _ = two_accounts
    data = api_a.data("{ products(first: 1) { edges { node { id title description createdAt updatedAt images(first: 2) { edges { node { id position originalUrl } } } variants(first: 2) { edges { node { id inventoryQuantity position price } } } } } } }")
    node = data["products"]["edges"][0]["node"]
    assert node["createdAt"].endswith("Z")
    variant = node["variants"]["edges"][0]["node"]
    assert isinstance(variant["price"], str) and len(variant["price"].split(".")[1]) == 2
    assert node["images"]["edges"][0]["node"]["originalUrl"].startswith("https://")
    orders = api_a.data("{ orders(first: 2, after: null, sort: CREATED_AT_DESC) { nodes { id number customer { companyName } } } }")
    assert len(orders["orders"]["nodes"]) == 2
