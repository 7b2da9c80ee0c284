"""The real server (over HTTP on 127.0.0.1, plans) answers the same bytes as graphql-core in
process, for a query of each shape: pages, relations, cursors, denied fields, refused
arguments. The full corpus runs in process: tests/server/api/test_engine_equivalence.py."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from starlette.testclient import TestClient

from orderchamp_auth.server.app import create_app

from ..server.api.test_engine_equivalence import PAGE
from ..support import World
from .api_support import seeded_account

QUERIES = [
    "{ account { id name } products(first: 3) { totalCount %s edges { cursor node { id title variants(first: 2) "
    "{ nodes { sku price product { id } } } } } } }" % PAGE,
    "{ orders(last: 4, sort: NUMBER_ASC) { nodes { number customer { email } shipments(first: 1) { nodes { items "
    "{ quantity orderProduct { sku variant { sku } } } } } } } }",
    '{ products(first: 2) { nodes { variants(first: 1, after: "bad") { nodes { id } } } } orders(first: 300) '
    "{ totalCount } }",
]


@pytest.mark.parametrize("scopes", ["account_read,products_read,orders_read,customers_read,fulfillment_read",
                                    "orders_read"])
def test_the_live_server_answers_what_graphql_core_answers(live, settings, platform, scopes):
    world = World(platform)
    account = seeded_account(world)
    token = world.private_token(account.account_id, scopes)
    headers = {"authorization": f"Bearer {token}"}
    core = create_app(dataclasses.replace(settings, api_engine="graphql-core", api_response_cache_mb=0))
    with TestClient(core) as by_core:
        for query in QUERIES:
            served = httpx.post(f"{live.base_url}/v1/graphql", json={"query": query}, headers=headers, timeout=30)
            expected = by_core.post("/v1/graphql", json={"query": query}, headers=headers)
            assert (served.status_code, served.content) == (expected.status_code, expected.content)
