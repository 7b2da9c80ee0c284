"""The cost of queries (api/cost.py): the table applied to a matrix of documents, and the same
actual cost whichever read engine answers."""

from __future__ import annotations

import orjson
import pytest
from graphql import OperationDefinitionNode, parse
from starlette.testclient import TestClient

from orderchamp_auth.server.api.cost import actual_cost, requested_cost
from orderchamp_auth.server.api.plan import Plan
from orderchamp_auth.server.api.schema import build_api_schema
from orderchamp_auth.server.app import create_app

from ...e2e.api_support import seeded_account
from ...support import World

SCHEMA = build_api_schema()

# (query, variables, requested cost by the table: object 1, connection 2 + page x item, mutation 10)
MATRIX: list[tuple[str, dict | None, int]] = [
    ("{ account { name type slug } }", None, 1),
    ("{ __typename account { __typename name } }", None, 1),
    ("{ a: account { name } b: account { slug } }", None, 2),
    ("{ products(first: 10) { edges { cursor node { id title } } pageInfo { hasNextPage } totalCount } }", None,
     2 + 10 * 1),
    ("{ products(last: 4) { nodes { id } edges { node { id } } } }", None, 2 + 4 * 2),
    ("{ products(first: 10) { nodes { id variants(first: 5) { nodes { id } } } } }", None, 2 + 10 * (1 + 2 + 5)),
    ("{ products(first: 3) { nodes { variants(first: 2) { nodes { product { images(first: 4) { nodes { id } } } } } } } }",
     None, 2 + 3 * (1 + 2 + 2 * (1 + 1 + 2 + 4))),
    ("{ products(first: 4) { nodes { ...P } } } fragment P on Product { id images(first: 2) { nodes { ...I } } } "
     "fragment I on ProductImage { id position }", None, 2 + 4 * (1 + 2 + 2)),
    ("{ products(first: 2) { nodes { ... on Product { variants(first: 3) { nodes { sku } } } } } }", None,
     2 + 2 * (1 + 2 + 3)),
    ("query($n: Int = 3) { products(first: $n) { nodes { id } } }", None, 2 + 3),
    ("query($n: Int = 3) { products(first: $n) { nodes { id } } }", {"n": 7}, 2 + 7),
    ("query($n: Int!, $m: Int = 2) { products(first: $n) { nodes { variants(first: $m) { nodes { sku } } } } }",
     {"n": 5}, 2 + 5 * (1 + 2 + 2)),
    ('{ productVariants(skus: ["A", "B", "C"]) { sku product { title } } }', None, 2 + 3 * 2),
    ("query($s: [String!]!) { productVariants(skus: $s) { sku } }", {"s": ["A", "B"]}, 2 + 2),
    ("{ orders(first: 5) { nodes { number customer { email } products(first: 3) { nodes { sku } } } } }", None,
     2 + 5 * (1 + 1 + 2 + 3)),
    ("{ shipments(first: 2) { nodes { items { quantity orderProduct { sku } } } } }", None, 2 + 2 * (1 + 1 + 1)),
    ("{ products(first: 1000000) { nodes { id } } }", None, 2 + 1000000),
    ("{ __schema { types { name } } }", None, 1),
    ('mutation { productCreate(input: {title: "x"}) { product { id } userErrors { field } } }', None, 10 + 1 + 1),
    ('mutation { a: productDelete(id: "x") { deletedProductId } b: productDelete(id: "y") { deletedProductId } }',
     None, 20),
]


def _operation(query: str):
    document = parse(query)
    return document, next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))


@pytest.mark.parametrize(("query", "variables", "expected"), MATRIX)
def test_requested_cost_follows_the_table(query, variables, expected):
    document, operation = _operation(query)
    cost = requested_cost(SCHEMA, document, operation, variables)
    assert cost.requested == expected
    assert cost.uses_variables == ("$" in query)


def test_actual_cost_counts_the_items_returned():
    query = "{ products(first: 10) { edges { node { id variants(first: 5) { nodes { id } } } } } }"
    document, operation = _operation(query)
    data = {"products": {"edges": [{"node": {"id": "a", "variants": {"nodes": [{"id": 1}, {"id": 2}]}}},
                                   {"node": {"id": "b", "variants": {"nodes": []}}}]}}
    assert requested_cost(SCHEMA, document, operation, None).requested == 2 + 10 * (1 + 2 + 5)
    assert actual_cost(SCHEMA, document, operation, None, data) == 2 + (1 + 2 + 2) + (1 + 2 + 0)


def test_a_null_field_costs_what_it_was_requested_at():
    document, operation = _operation("{ product(id: \"x\") { id images(first: 3) { nodes { id } } } }")
    assert actual_cost(SCHEMA, document, operation, None, {"product": None}) == 1 + 2 + 3


@pytest.fixture(scope="module")
def harness(settings, platform):
    from dataclasses import replace

    world = World(platform)
    account = seeded_account(world)
    token = world.private_token(account.account_id, "account_read,products_read,orders_read,customers_read,"
                                                    "fulfillment_read")
    # a bucket no test here empties: the costs are what is compared; no response cache, so
    # that each engine answers itself
    limited = replace(settings, rate_limits=True, rate_limit_capacity=10**9, rate_limit_max_query_cost=10**9,
                      api_response_cache_mb=0)
    engines = {}
    for engine in ("plans", "graphql-core"):
        app = create_app(replace(limited, api_engine=engine))
        engines[engine] = TestClient(app).__enter__(), app.state.graphql
    yield engines, token
    for client, _ in engines.values():
        client.__exit__(None, None, None)


# reads within the node limit (limits.py refuses larger ones before they are priced)
ENGINE_MATRIX = [(q, v) for q, v, cost in MATRIX if not q.startswith("mutation") and cost < 10_000]


@pytest.mark.parametrize(("query", "variables"), ENGINE_MATRIX)
def test_both_read_engines_charge_the_same(harness, query, variables):
    engines, token = harness
    costs = []
    planned: list[bool] = []
    for engine, (client, endpoint) in engines.items():
        response = client.post("/v1/graphql", json={"query": query, "variables": variables},
                               headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        chosen = list(endpoint.documents.entry(query).plans.values())
        # the engine named answered: a plan where plans cover the shape (introspection and a
        # few shapes are graphql-core's on both)
        if engine == "plans":
            assert len(chosen) == 1
            planned.append(isinstance(chosen[0], Plan))
        else:
            assert endpoint.engine == "graphql-core" and chosen == []
        cost = orjson.loads(response.content)["extensions"]["cost"]
        costs.append((cost["requestedQueryCost"], cost["actualQueryCost"]))
    assert costs[0] == costs[1]
    document, operation = _operation(query)
    assert costs[0][0] == requested_cost(SCHEMA, document, operation, variables).requested
    assert costs[0][1] <= costs[0][0]
    assert planned == [not query.startswith("{ __schema") and "last: 4" not in query]


def test_a_page_of_the_seeded_catalogue_is_charged_for_what_it_returned(harness):
    engines, token = harness
    client, _ = engines["plans"]
    response = client.post("/v1/graphql", json={"query": "{ products(first: 100) { nodes { id } } }"},
                           headers={"authorization": f"Bearer {token}"})
    body = response.json()
    returned = len(body["data"]["products"]["nodes"])
    assert 0 < returned < 100
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 100
    assert body["extensions"]["cost"]["actualQueryCost"] == 2 + returned
