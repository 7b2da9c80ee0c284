"""Compiled plans (api/compiled.py) answer exactly what graphql-core answers.

Every query of the corpus runs twice through the real endpoint, once by its compiled plan and
once by graphql-core, and the two response bodies must be the same bytes. The tests also check
which path answered: the plan for the queries it covers (a silent fall back to graphql-core
would make the comparison prove nothing), graphql-core for what it must report.
"""

from __future__ import annotations

import orjson
import pytest
from starlette.testclient import TestClient

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.server.app import create_app

from ..support import World
from .api_support import seeded_account

PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }"
ORDER_FIELDS = ("id number reference status currency totalPrice isConfirmed isCancelled isFulfilled "
                "confirmedAt cancelledAt createdAt __typename")

# (query, variables): every one is answered by its plan.
COVERED: list[tuple[str, dict | None]] = [
    ("{ account { id name type slug currency createdAt __typename } }", None),
    ("{ __typename account { name } }", None),
    ("{ products(first: 5) { totalCount nodes { id title description brand createdAt updatedAt } } }", None),
    ("{ products(first: 3) { edges { cursor node { id title } } %s } }" % PAGE, None),
    ("{ products(last: 4) { edges { __typename cursor node { __typename id } } %s totalCount } }" % PAGE, None),
    ("{ products(first: 0) { nodes { id } %s totalCount } }" % PAGE, None),
    ("{ a: products(first: 2) { nodes { t: title } } b: products(first: 3) { n: nodes { id } } }", None),
    ("{ products(first: 50) { nodes { id title variants(first: 10) { nodes { id sku price inventoryQuantity } } } } }",
     None),
    ("{ products(first: 6) { nodes { variants(first: 2) { totalCount %s edges { cursor node { id title sku price "
     "inventoryQuantity inventoryPolicy position product { id title } } } } images(last: 1) { nodes { id position "
     "originalUrl } %s } } } }" % (PAGE, PAGE), None),
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
    ('{ product(id: "%s") { id title } missing: product(id: "%s") { id } garbage: product(id: "nope") { id } '
     'wrong: product(id: "%s") { id } }' % (encode_global_id("Product", "PRODUCT"), encode_global_id("Product", 10**12),
                                          encode_global_id("Order", 1)), None),
    ("query($id: ID!) { order(id: $id) { number products(first: 1) { nodes { sku } } } }", {"id": "ORDER"}),
    ("query($id: ID!) { customer(id: $id) { companyName } }", {"id": "CUSTOMER"}),
]

# graphql-core's path answers these (denied, errors, or shapes the plans leave to it).
NOT_COVERED: list[tuple[str, dict | None]] = [
    ("{ products(first: 300) { nodes { id } } }", None),
    ('{ products(first: 2, after: "not-a-cursor") { nodes { id } } }', None),
    ("{ products { nodes { id } } }", None),
    ('{ products(first: 2) { nodes { variants(first: 1, after: "bad") { nodes { id } } } } }', None),
    ('{ orders(first: 2, since: "yesterday") { nodes { number } } }', None),
    ("query($n: Int!) { products(first: $n) { nodes { id } } }", {"n": "many"}),
    ('{ node(id: "%s") { id } }' % encode_global_id("Product", 1), None),
    ('{ productVariants(skus: ["LC-001-1"]) { sku } }', None),
    ("{ __schema { queryType { name } } }", None),
    ("query($s: Boolean!) { account { name @include(if: $s) } }", {"s": True}),
]


@pytest.fixture(scope="module")
def harness(settings, platform):
    world = World(platform)
    account = seeded_account(world)
    token = world.private_token(account.account_id, "account_read,products_read,orders_read,customers_read,"
                                                    "fulfillment_read")
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, app.state.graphql, token, account.account_id


def ask(harness, query: str, variables: dict | None, *, plans: bool, token: str | None = None) -> bytes:
    client, endpoint, default_token, _ = harness
    endpoint.use_plans = plans
    try:
        response = client.post("/v1/graphql", json={"query": query, "variables": variables},
                               headers={"authorization": f"Bearer {token or default_token}"})
    finally:
        endpoint.use_plans = True
    return response.content


def with_real_ids(harness, query: str, variables: dict | None) -> tuple[str, dict | None]:
    _, _, _, account_id = harness
    from sqlalchemy import select

    from orderchamp_auth.server.store import models as m

    app_db = harness[1].database
    with app_db.read() as db:
        product = db.session.scalar(select(m.Product.id).where(m.Product.account_id == account_id).limit(1))
        order = db.session.scalar(select(m.Order.id).where(m.Order.account_id == account_id).limit(1))
        customer = db.session.scalar(select(m.Customer.id).where(m.Customer.account_id == account_id).limit(1))
    query = query.replace(encode_global_id("Product", "PRODUCT"), encode_global_id("Product", product))
    if variables and variables.get("id") == "ORDER":
        variables = {"id": encode_global_id("Order", order)}
    if variables and variables.get("id") == "CUSTOMER":
        variables = {"id": encode_global_id("Customer", customer)}
    return query, variables


@pytest.mark.parametrize(("query", "variables"), COVERED)
def test_plans_answer_the_same_bytes_as_graphql_core(harness, query, variables):
    query, variables = with_real_ids(harness, query, variables)
    endpoint = harness[1]
    before = endpoint.fallbacks
    planned = ask(harness, query, variables, plans=True)
    assert endpoint.fallbacks == before, "the plan fell back to graphql-core"
    assert any(plan is not None for plan in endpoint.documents.entry(query).plans.values()), "no plan was compiled"
    core = ask(harness, query, variables, plans=False)
    assert planned == core
    body = orjson.loads(planned)
    assert "errors" not in body and body["data"]


def test_the_corpus_reads_real_data(harness):
    """The comparison means something only if the pages are full and the relations found."""
    query = COVERED[16][0]
    data = orjson.loads(ask(harness, query, None, plans=True))["data"]["orders"]["nodes"]
    assert len(data) == 10
    assert any(order["customer"] for order in data)
    assert any(order["products"]["nodes"] and order["products"]["nodes"][0]["variant"] for order in data)
    assert any(order["invoices"]["nodes"] and order["invoices"]["nodes"][0]["items"]["nodes"] for order in data)
    assert any(order["shipments"]["nodes"] and order["shipments"]["nodes"][0]["items"] for order in data)


def test_paging_with_cursors_by_plan_matches_graphql_core(harness):
    query = ("query($after: String, $before: String, $first: Int, $last: Int) { orders(first: $first, after: $after,"
             " last: $last, before: $before, includeCancelled: true) { nodes { number } %s } }" % PAGE)
    first = orjson.loads(ask(harness, query, {"first": 7}, plans=True))["data"]["orders"]["pageInfo"]
    for variables in ({"first": 7, "after": first["endCursor"]}, {"last": 3, "before": first["endCursor"]}):
        before = harness[1].fallbacks
        planned = ask(harness, query, variables, plans=True)
        assert harness[1].fallbacks == before
        assert planned == ask(harness, query, variables, plans=False)
        assert len(orjson.loads(planned)["data"]["orders"]["nodes"]) in (7, 3)
    child = ("query($after: String) { products(first: 3) { nodes { variants(first: 1, after: $after) { nodes { sku }"
             " %s } } } }" % PAGE)
    nodes = orjson.loads(ask(harness, child, None, plans=True))["data"]["products"]["nodes"]
    cursor = nodes[0]["variants"]["pageInfo"]["endCursor"]
    # A child cursor is valid only under its own parent: the others report an error, which
    # the plan leaves to graphql-core.
    assert ask(harness, child, {"after": cursor}, plans=True) == ask(harness, child, {"after": cursor}, plans=False)


@pytest.mark.parametrize(("query", "variables"), NOT_COVERED)
def test_what_plans_do_not_cover_is_answered_by_graphql_core(harness, query, variables):
    planned = ask(harness, query, variables, plans=True)
    assert planned == ask(harness, query, variables, plans=False)


def test_a_denied_field_is_left_to_graphql_core_which_reports_it(harness, world_for_tokens):
    client, endpoint, _, account_id = harness
    token = world_for_tokens.private_token(account_id, "orders_read")
    query = "{ orders(first: 2) { nodes { number customer { companyName } } } }"
    planned = ask(harness, query, None, plans=True, token=token)
    assert planned == ask(harness, query, None, plans=False, token=token)
    body = orjson.loads(planned)
    assert body["errors"][0]["extensions"] == {"code": "ACCESS_DENIED", "requiredScope": "customers_read"}
    assert body["data"]["orders"]["nodes"][0]["customer"] is None
    # The same document with a token that has the scope gets a plan of its own.
    full = ask(harness, query, None, plans=True)
    assert "errors" not in orjson.loads(full)
    plans = endpoint.documents.entry(query).plans
    assert sorted(plan is not None for plan in plans.values()) == [False, True]


@pytest.fixture
def world_for_tokens(platform):
    return World(platform)
