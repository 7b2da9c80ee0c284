"""Shared pieces of the API tests: seeded accounts and a small GraphQL caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from orderchamp_auth.server.api.webhook_payloads import api_payload
from orderchamp_auth.server.demo_catalogue import seed_catalogue

from ..support import World


@dataclass
class SeededAccount:
    account_id: int
    email: str


def seeded_account(world: World) -> SeededAccount:
    supplier = world.supplier()
    with world.platform.database.write() as db:
        seed_catalogue(db, supplier.account_id, api_payload, products=30, orders=60)
    return SeededAccount(supplier.account_id, supplier.email)


class Api:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token

    def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.post(f"{self.base_url}/v1/graphql", json={"query": query, "variables": variables},
                          headers={"authorization": f"Bearer {self.token}"}, timeout=30)

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text[:500]
        return response.json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]
