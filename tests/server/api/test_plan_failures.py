"""A plan that fails at run time is not retried on another engine: the client gets a generic
error with the request id, the log gets the exception; a busy database is answered 503."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from orderchamp_auth.server.app import create_app
from orderchamp_auth.server.store.repositories.catalogue import CatalogueRepository
from orderchamp_auth.server.store.write_lock import WriteLockBusy

from ...e2e.api_support import seeded_account
from ...support import World

QUERY = "{ products(first: 2) { nodes { id } } }"


@pytest.fixture(scope="module")
def client_and_token(settings, platform):
    world = World(platform)
    account = seeded_account(world)
    token = world.private_token(account.account_id, "products_read")
    with TestClient(create_app(settings)) as client:
        yield client, token


def test_a_failing_plan_answers_a_generic_error_and_logs_the_exception(client_and_token, monkeypatch, caplog):
    client, token = client_and_token

    def broken(*_args, **_kwargs):
        raise RuntimeError("driver says: secret table layout")

    monkeypatch.setattr(CatalogueRepository, "page", broken)
    with caplog.at_level(logging.ERROR):
        response = client.post("/v1/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 500
    assert "secret" not in response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    assert response.headers["x-request-id"] == request_id
    assert any("secret table layout" in (r.exc_text or "") and request_id in r.getMessage() for r in caplog.records)


def test_a_busy_database_during_a_plan_is_answered_503(client_and_token, monkeypatch):
    client, token = client_and_token

    def busy(*_args, **_kwargs):
        raise WriteLockBusy()

    monkeypatch.setattr(CatalogueRepository, "page", busy)
    response = client.post("/v1/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert "retry-after" in response.headers
