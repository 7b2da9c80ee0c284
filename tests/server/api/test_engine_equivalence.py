"""Plans (api/plan.py, api/executor.py) answer exactly what graphql-core answers.

Every query of the corpus is asked of two apps on the same database, one with
``api_engine="plans"`` and one with ``api_engine="graphql-core"``, with a token of every
single read scope as well as one with all of them; the response bodies must be the same
bytes (data, errors, their paths and order), and the plans app must have chosen a plan. The
corpus reaches every root field, every relation and every connection shape.
"""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from starlette.testclient import TestClient

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.server.api.description import ROOT_FIELDS, TYPES
from orderchamp_auth.server.api.plan import CoreOnly, Plan
from orderchamp_auth.server.app import create_app

from ...e2e.api_support import seeded_account
from ...support import World

PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }"
ORDER_FIELDS = ("id number reference status currency totalPrice isConfirmed isCancelled isFulfilled "
                "confirmedAt cancelledAt createdAt __typename")
READ_SCOPES = ["account_read", "products_read", "orders_read", "customers_read", "fulfillment_read"]
TOKENS = [",".join(READ_SCOPES), *READ_SCOPES, "orders_read,products_read"]

# Answered by a plan, for every token (denied fields included).
PLANNED: list[tuple[str, dict | None]] = [
    ("{ account { id name type slug currency createdAt __typename } }", None),
    ("{ __typename account { name } }", None),
    ("{ products(first: 5) { totalCount nodes { id title description brand createdAt updatedAt } } }", None),
    ("{ products(first: 3) { __typename edges { cursor node { id title } } %s } }" % PAGE, None),
    ("{ products(last: 4) { edges { __typename cursor node { __typename id } } %s totalCount } }" % PAGE, None),
    ("{ products(first: 0) { nodes { id } %s totalCount } }" % PAGE, None),
    ("{ products(last: 0) { edges { cursor } %s } }" % PAGE, None),
    ("{ a: products(first: 2) { nodes { t: title } } b: products(first: 3) { n: nodes { id } } }", None),
    ("{ products(first: 50) { nodes { id title variants(first: 10) { nodes { id sku price inventoryQuantity } } } } }",
     None),
    ("{ products(first: 6) { nodes { variants(first: 2) { totalCount %s edges { cursor node { id title sku price "
     "inventoryQuantity inventoryPolicy position product { id title } } } } images(last: 1) { __typename nodes { id "
     "position originalUrl } %s } } } }" % (PAGE, PAGE), None),
    ("{ products(first: 4) { nodes { ...P variants(first: 3) { nodes { ... on ProductVariant { sku } ...V } } } } }"
     " fragment P on Product { id title } fragment V on ProductVariant { price sku }", None),
    ("query Q($n: Int!, $m: Int) { products(first: $n) { nodes { variants(first: $m) { nodes { sku } } } } }",
     {"n": 7, "m": 1}),
    ("query Q($n: Int!, $m: Int) { products(first: $n) { nodes { variants(first: $m) { nodes { sku } } } } }",
     {"n": 2, "m": 0}),
    ("{ orders(first: 10) { totalCount nodes { %s } %s } }" % (ORDER_FIELDS, PAGE), None),
    ("{ orders(first: 8, sort: NUMBER_ASC, includeCancelled: true) { edges { cursor node { number status } } } }",
     None),
    ("{ orders(last: 5, sort: NUMBER_DESC, includeUnconfirmed: false) { nodes { number isConfirmed } %s } }" % PAGE,
     None),
    ('{ orders(first: 20, since: "2026-01-20T00:00:00Z", sort: CREATED_AT_ASC) { totalCount nodes { createdAt } } }',
     None),
    ("{ orders(first: 10, includeCancelled: true) { nodes { number customer { id companyName email address "
     "createdAt } products(first: 3) { totalCount nodes { id sku title quantity unitPrice variant { sku product { "
     "title } } } } invoices(first: 2) { nodes { id number totalPrice currency createdAt order { number } items(first:"
     " 5) { nodes { id title quantity unitPrice } } } } shipments(first: 2) { nodes { id carrier trackingCode "
     "trackingUrl status createdAt updatedAt order { number } items { quantity orderProduct { sku } } } } } } }", None),
    ("{ invoices(first: 5) { nodes { number order { id number customer { companyName } } } %s } }" % PAGE, None),
    ("{ shipments(last: 3) { nodes { carrier status items { __typename quantity } } totalCount } }", None),
    ("{ customers(first: 5) { nodes { id companyName email address createdAt } %s totalCount } }" % PAGE, None),
    ('{ product(id: "PRODUCT") { id title } missing: product(id: "%s") { id } garbage: product(id: "nope") { id } '
     'wrong: product(id: "%s") { id } }' % (encode_global_id("Product", 10**12), encode_global_id("Order", 1)), None),
    ("query($id: ID!) { order(id: $id) { number products(first: 1) { nodes { sku } } } }", {"id": "ORDER"}),
    ("query($id: ID!) { customer(id: $id) { companyName } }", {"id": "CUSTOMER"}),
    ('{ productVariants(skus: ["LC-001-1", "LC-002-2", "nope"]) { sku product { title } } }', None),
    ('{ productVariants(skus: []) { sku } }', None),
    # Refused arguments and cursors: the same errors, at the same paths, by either engine.
    ("{ products(first: 300) { nodes { id } } }", None),
    ('{ products(first: 2, after: "not-a-cursor") { nodes { id } } }', None),
    ("{ products { nodes { id } } }", None),
    ("{ products(first: 1, last: 1) { nodes { id } } account { name } }", None),
    ('{ products(first: 2) { nodes { variants(first: 1, after: "bad") { nodes { id } } } } }', None),
    ("{ products(first: 2) { nodes { title images(first: 1, last: 2) { nodes { id } } } } }", None),
    ('{ orders(first: 2, since: "yesterday") { nodes { number } } }', None),
    ("{ orders(first: 2, sort: null, includeCancelled: null) { nodes { number } } }", None),
    ('{ productVariants(skus: ["a\\u0000b"]) { sku } }', None),
    ("query($skus: [String!]!) { productVariants(skus: $skus) { sku } }", {"skus": ["x"] * 251}),
    # node: planned for each type the ID may name; unknown, foreign or garbage IDs are null,
    # a type out of the token's scopes denied (in graphql-core's order of those checks).
    ('{ node(id: "PRODUCT") { id } }', None),
    ('{ p: node(id: "PRODUCT") { __typename id ... on Product { title variants(first: 2) { nodes { sku } } } '
     '... on Order { number } } o: node(id: "ORDER") { ... on Order { number customer { companyName } products('
     'first: 2) { nodes { sku variant { product { title } } } } } ... on Product { title } } }', None),
    ('query($id: ID!) { shipment: node(id: $id) { ... on Shipment { id carrier trackingCode trackingUrl status '
     'createdAt updatedAt order { id } items { quantity orderProduct { id } } } } }', {"id": "SHIPMENT"}),
    ('{ a: node(id: "ACCOUNT") { id ... on Account { name } } other: node(id: "%s") { id } item: node(id: "%s") '
     '{ id } garbage: node(id: "nope") { id } unknown: node(id: "%s") { id } missing: node(id: "%s") { id } '
     'c: node(id: "CUSTOMER") { ... on Customer { email } } }'
     % (encode_global_id("Account", 10**9), encode_global_id("ShipmentItem", 1), encode_global_id("Nope", 1),
        encode_global_id("Order", 10**12)), None),
    ('{ node(id: "PRODUCT") { ... on Product { variants(first: 300) { nodes { id } } } } }', None),
    # One object with its children read together (one statement on PostgreSQL), one relation refused.
    ('{ product(id: "PRODUCT") { title variants(first: 2) { nodes { sku } } images(first: 1, last: 2) { nodes { id } } '
     '} p: node(id: "PRODUCT") { ... on Product { images(last: 1) { nodes { originalUrl } } variants(first: 3, after: '
     '"bad") { nodes { id } } } } }', None),
    ('query($id: ID!) { product(id: $id) { id variants(first: 100) { nodes { id position } } images(first: 50) { '
     'nodes { id position } } } }', {"id": "PRODUCT"}),
]

# Left to graphql-core, by choice made when the document is compiled.
CORE_ONLY: list[tuple[str, dict | None]] = [
    ("{ __schema { queryType { name } } }", None),
    ("query($s: Boolean!) { account { name @include(if: $s) } }", {"s": True}),
    ("{ products(first: 2) { nodes { id } edges { node { title } } } }", None),
    # The token's app's own subscriptions, not the catalogue: a private token has none.
    ("{ webhooks(first: 5) { totalCount nodes { id topic address } } }", None),
]


@pytest.fixture(scope="module")
def harness(settings, platform):
    world = World(platform)
    account = seeded_account(world)
    tokens = {scopes: world.private_token(account.account_id, scopes) for scopes in TOKENS}
    plans = create_app(dataclasses.replace(settings, api_engine="plans", api_response_cache_mb=0))
    core = create_app(dataclasses.replace(settings, api_engine="graphql-core", api_response_cache_mb=0))
    with TestClient(plans) as by_plan, TestClient(core) as by_core:
        yield by_plan, by_core, plans.state.graphql, tokens, ids_of(platform, account.account_id)


def ids_of(platform, account_id: int) -> dict[str, str]:
    from sqlalchemy import select

    from orderchamp_auth.server.store import models as m

    with platform.database.read() as db:
        found = {name: db.session.scalar(select(model.id).where(model.account_id == account_id).order_by(model.id).limit(1))
                 for name, model in (("Product", m.Product), ("Order", m.Order), ("Customer", m.Customer),
                                     ("Shipment", m.Shipment))}
    found["Account"] = account_id
    return {name.upper(): encode_global_id(name, value) for name, value in found.items()}


def with_real_ids(ids: dict[str, str], query: str, variables: dict | None) -> tuple[str, dict | None]:
    for placeholder, global_id in ids.items():
        query = query.replace(f'"{placeholder}"', f'"{global_id}"')
    if variables and variables.get("id") in ids:
        variables = {"id": ids[variables["id"]]}
    return query, variables


def ask(client: TestClient, token: str, query: str, variables: dict | None) -> tuple[int, bytes]:
    response = client.post("/v1/graphql", json={"query": query, "variables": variables},
                           headers={"authorization": f"Bearer {token}"})
    return response.status_code, response.content


def engine_of(endpoint, query: str, scopes: str):
    """The engine chosen for this document and a token of these scopes."""
    wanted = set(scopes.split(","))
    return next(engine for (_, granted), engine in endpoint.documents.entry(query).plans.items()
                if set(granted.replace(",", " ").split()) == wanted)


@pytest.mark.parametrize("scopes", TOKENS)
@pytest.mark.parametrize(("query", "variables"), PLANNED)
def test_plans_answer_the_same_bytes_as_graphql_core(harness, query, variables, scopes):
    by_plan, by_core, endpoint, tokens, ids = harness
    query, variables = with_real_ids(ids, query, variables)
    planned = ask(by_plan, tokens[scopes], query, variables)
    assert isinstance(engine_of(endpoint, query, scopes), Plan)
    assert planned == ask(by_core, tokens[scopes], query, variables)
    assert b"Internal error" not in planned[1]


@pytest.mark.parametrize(("query", "variables"), CORE_ONLY)
def test_what_plans_do_not_cover_is_marked_for_graphql_core_when_compiled(harness, query, variables):
    by_plan, by_core, endpoint, tokens, _ = harness
    scopes = TOKENS[0]
    planned = ask(by_plan, tokens[scopes], query, variables)
    assert isinstance(engine_of(endpoint, query, scopes), CoreOnly)
    assert planned == ask(by_core, tokens[scopes], query, variables)


def test_the_corpus_reaches_every_root_field_and_relation():
    text = " ".join(query for query, _ in PLANNED + CORE_ONLY)
    for root in ROOT_FIELDS:
        assert f"{root}(" in text or f"{{ {root} {{" in text, root
    for spec in TYPES.values():
        for relation in spec.relations:
            assert f" {relation.field} {{" in text or f" {relation.field}(" in text, (spec.name, relation.field)


def test_the_corpus_reads_real_data_and_reports_denied_fields(harness):
    by_plan, _, _, tokens, ids = harness
    query = next(q for q, _ in PLANNED if "shipments(first: 2)" in q)
    status, body = ask(by_plan, tokens[TOKENS[0]], query, None)
    orders = orjson.loads(body)["data"]["orders"]["nodes"]
    assert status == 200 and len(orders) == 10
    assert any(order["customer"] for order in orders)
    assert any(order["products"]["nodes"] and order["products"]["nodes"][0]["variant"] for order in orders)
    assert any(order["invoices"]["nodes"] and order["invoices"]["nodes"][0]["items"]["nodes"] for order in orders)
    assert any(order["shipments"]["nodes"] and order["shipments"]["nodes"][0]["items"] for order in orders)
    denied = orjson.loads(ask(by_plan, tokens["orders_read"], query, None)[1])
    assert {e["extensions"]["requiredScope"] for e in denied["errors"]} == {"customers_read", "fulfillment_read",
                                                                            "products_read"}
    assert denied["data"]["orders"]["nodes"][0]["customer"] is None


def test_paging_with_cursors_by_plan_matches_graphql_core(harness):
    by_plan, by_core, endpoint, tokens, _ = harness
    token = tokens[TOKENS[0]]
    query = ("query($after: String, $before: String, $first: Int, $last: Int) { orders(first: $first, after: $after,"
             " last: $last, before: $before, includeCancelled: true) { nodes { number } %s } }" % PAGE)
    first = orjson.loads(ask(by_plan, token, query, {"first": 7})[1])["data"]["orders"]["pageInfo"]
    for variables in ({"first": 7, "after": first["endCursor"]}, {"last": 3, "before": first["endCursor"]}):
        planned = ask(by_plan, token, query, variables)
        assert planned == ask(by_core, token, query, variables)
        assert len(orjson.loads(planned[1])["data"]["orders"]["nodes"]) in (7, 3)
    child = ("query($after: String, $before: String) { products(first: 3) { nodes { variants(first: 1, after: $after)"
             " { nodes { sku } %s } images(last: 1, before: $before) { nodes { id } } } } }" % PAGE)
    nodes = orjson.loads(ask(by_plan, token, child, None)[1])["data"]["products"]["nodes"]
    cursor = nodes[0]["variants"]["pageInfo"]["endCursor"]
    # A child cursor is valid only under its own parent: the others report an error.
    for variables in ({"after": cursor}, {"before": cursor}):
        planned = ask(by_plan, token, child, variables)
        assert planned == ask(by_core, token, child, variables)
        assert "does not point into this list" in planned[1].decode()
    assert isinstance(engine_of(endpoint, child, TOKENS[0]), Plan)


def test_variables_that_do_not_coerce_are_refused_alike(harness):
    by_plan, by_core, _, tokens, _ = harness
    query = "query($n: Int!) { products(first: $n) { nodes { id } } }"
    planned = ask(by_plan, tokens[TOKENS[0]], query, {"n": "many"})
    assert planned[0] == 400
    assert planned == ask(by_core, tokens[TOKENS[0]], query, {"n": "many"})


def test_node_by_plan_reads_real_data_and_denies_by_the_ids_type(harness):
    by_plan, _, endpoint, tokens, ids = harness
    query, variables = with_real_ids(ids, *next(c for c in PLANNED if c[1] == {"id": "SHIPMENT"}))
    shipment = orjson.loads(ask(by_plan, tokens[TOKENS[0]], query, variables)[1])["data"]["shipment"]
    assert shipment["id"] == ids["SHIPMENT"] and shipment["order"]["id"].startswith("T3JkZXI6")  # "Order:"
    assert shipment["items"] and all(item["orderProduct"]["id"] for item in shipment["items"])
    denied = orjson.loads(ask(by_plan, tokens["products_read"], query, variables)[1])
    assert denied["data"] == {"shipment": None}
    assert denied["errors"][0]["extensions"]["requiredScope"] == "fulfillment_read"
    assert isinstance(engine_of(endpoint, query, "products_read"), Plan)
