"""A scope declared on any field is enforced by plans as by graphql-core: connection fields,
edges and pageInfo included (the real SDL guards none of these; a variant of it does)."""

from __future__ import annotations

import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from orderchamp_auth.server.api.endpoint import GraphQLEndpoint
from orderchamp_auth.server.api.plan import Plan
from orderchamp_auth.server.api.schema import SDL, build_api_schema

from ...e2e.api_support import seeded_account
from ...support import World

GUARD = ' @scope(requires: "orders_read")'
VARIANT_SDL = (SDL.read_text("utf-8")
               .replace("  endCursor: String\n", f"  endCursor: String{GUARD}\n")
               .replace("type ProductConnection { edges: [ProductEdge!]! nodes: [Product!]! pageInfo: PageInfo! "
                        "totalCount: Int! }",
                        f"type ProductConnection {{ edges: [ProductEdge!]{GUARD} nodes: [Product!]{GUARD} "
                        f"pageInfo: PageInfo{GUARD} totalCount: Int{GUARD} }}")
               .replace("type ProductEdge { cursor: String! node: Product! }",
                        f"type ProductEdge {{ cursor: String{GUARD} node: Product! }}")
               .replace("type ProductVariantEdge { cursor: String! node: ProductVariant! }",
                        f"type ProductVariantEdge {{ cursor: String{GUARD} node: ProductVariant! }}"))

QUERIES = [
    "{ products(first: 3) { totalCount nodes { id } } }",
    "{ products(first: 3) { edges { cursor node { title } } pageInfo { hasNextPage endCursor } } }",
    "{ products(first: 2) { pageInfo { startCursor endCursor } } }",
    "{ products(first: 2) { totalCount } a: products(last: 1) { pageInfo { endCursor } } }",
    "{ product(id: \"x\") { id } products(first: 2) { edges { node { variants(first: 2) { edges { cursor node { sku"
    " } } pageInfo { endCursor } } } } } }",
]


def test_the_variant_schema_guards_what_the_test_expects():
    assert VARIANT_SDL.count(GUARD) == SDL.read_text("utf-8").count(GUARD) + 7


@pytest.fixture(scope="module")
def engines(platform):
    world = World(platform)
    account = seeded_account(world)
    schema = build_api_schema(VARIANT_SDL)
    clients = []
    endpoints = []
    for engine in ("plans", "graphql-core"):
        endpoint = GraphQLEndpoint(schema, platform.database, platform.authenticator, "", engine=engine)
        endpoints.append(endpoint)
        clients.append(TestClient(Starlette(routes=[Route("/v1/graphql", endpoint.handle, methods=["POST"])])))
    tokens = {scopes: world.private_token(account.account_id, scopes)
              for scopes in ("products_read", "products_read,orders_read")}
    yield clients, endpoints[0], tokens


@pytest.mark.parametrize("scopes", ["products_read", "products_read,orders_read"])
@pytest.mark.parametrize("query", QUERIES)
def test_a_guarded_connection_edge_or_page_info_field_is_denied_alike(engines, query, scopes):
    (by_plan, by_core), endpoint, tokens = engines
    headers = {"authorization": f"Bearer {tokens[scopes]}"}
    planned = by_plan.post("/v1/graphql", json={"query": query}, headers=headers)
    core = by_core.post("/v1/graphql", json={"query": query}, headers=headers)
    assert (planned.status_code, planned.content) == (core.status_code, core.content)
    assert all(isinstance(plan, Plan) for plan in endpoint.documents.entry(query).plans.values())
    errors = orjson.loads(planned.content).get("errors", [])
    if scopes == "products_read":
        assert errors and all(e["extensions"] == {"code": "ACCESS_DENIED", "requiredScope": "orders_read"}
                              for e in errors)
    else:
        assert not errors
