"""The SDK's pagination helper walking the platform's products connection over the demo data."""

from __future__ import annotations

import math

import httpx
import pytest
from sqlalchemy import func, select

from orderchamp_auth.client import AsyncOrderchampClient, OrderchampClient
from orderchamp_auth.server.demo import seed_demo
from orderchamp_auth.server.store import models

QUERY = """
query Products($first: Int, $after: String) {
  products(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id title }
  }
}
"""


@pytest.fixture
def demo(settings, platform):
    """The demo data of ``orderchamp-auth demo`` in the live server's database."""
    return seed_demo(settings, platform.database, platform.client_secrets)


def demo_titles(platform, account_id: str) -> list[str]:
    with platform.database.read() as db:
        assert db.session.scalar(select(func.count()).select_from(models.Product)
                         .where(models.Product.account_id == int(account_id)))
        return sorted(db.session.scalars(select(models.Product.title).where(models.Product.account_id == int(account_id))))


def test_paginate_walks_every_product_of_the_demo_account(live, platform, demo):
    expected = demo_titles(platform, demo.account_id)
    requests: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [requests.append]})
    with OrderchampClient(demo.private_token, api_url=f"{live.base_url}/v1", http_client=http) as client:
        nodes = list(client.paginate(QUERY, "products", page_size=7))
    http.close()
    assert sorted(node["title"] for node in nodes) == expected
    assert len({node["id"] for node in nodes}) == len(nodes)
    assert all(node["id"] for node in nodes)
    # One request per page of seven, none more.
    assert len(requests) == math.ceil(len(expected) / 7)


def test_max_pages_stops_early(live, demo):
    with OrderchampClient(demo.private_token, api_url=f"{live.base_url}/v1") as client:
        nodes = list(client.paginate(QUERY, "products", page_size=5, max_pages=2))
    assert len(nodes) == 10


async def test_async_paginate_yields_the_same_nodes_in_the_same_order(live, demo):
    with OrderchampClient(demo.private_token, api_url=f"{live.base_url}/v1") as client:
        expected = [node["id"] for node in client.paginate(QUERY, "products", page_size=10)]
    async with AsyncOrderchampClient(demo.private_token, api_url=f"{live.base_url}/v1") as client:
        walked = [node["id"] async for node in client.paginate(QUERY, "products", page_size=10)]
    assert walked == expected
