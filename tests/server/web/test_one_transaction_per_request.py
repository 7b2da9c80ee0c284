"""A page's handler runs its database work in one transaction (``web.units``), besides the one
read that authenticates the request (the session); signing in takes two, by design."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from orderchamp_auth.server.app import create_app
from orderchamp_auth.server.store.database import Database

from ...e2e.partner_support import app_of, partner_member, support_user
from ...support import Browser, World, form_fields, make_settings


@dataclass
class Counted:
    """How many transactions the database began, by kind."""

    reads: int = 0
    writes: int = 0

    @property
    def total(self) -> int:
        return self.reads + self.writes


def count_transactions(database: Database) -> Counted:
    """Count every transaction ``database`` begins: ``reading``/``writing`` and the pages'
    units all go through ``read()``/``write()``."""
    counted = Counted()
    read, write = database.read, database.write

    def counting_read() -> AbstractContextManager[Any]:
        counted.reads += 1
        return read()

    def counting_write() -> AbstractContextManager[Any]:
        counted.writes += 1
        return write()

    database.read = counting_read  # type: ignore[method-assign]
    database.write = counting_write  # type: ignore[method-assign]
    return counted


@pytest.fixture
def site(migrated_database_url: str) -> Iterator[tuple[Browser, World, Counted]]:
    app = create_app(make_settings(migrated_database_url, 8000))
    platform = app.state.platform
    with TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
        counted = count_transactions(platform.database)
        yield Browser("http://127.0.0.1:8000", client), World(platform), counted
    platform.database.dispose()


def transactions_of(counted: Counted, request: Any) -> tuple[int, Any]:
    before = counted.total
    response = request()
    return counted.total - before, response


def test_signing_in_takes_two_transactions_the_attempt_and_the_session(site):
    browser, world, counted = site
    supplier = world.supplier()
    fields = dict(form_fields(browser.http.get("/login").text, "/login"))
    fields.update(email=supplier.email, password=supplier.password)
    used, response = transactions_of(counted, lambda: browser.http.post("/login", data=fields))
    assert response.status_code == 303
    assert used == 2
    # The session it started works: the next page is the back office, not the login page.
    assert browser.http.get("/backoffice/integrations").status_code == 200


def test_a_wrong_password_takes_one_transaction(site):
    browser, world, counted = site
    supplier = world.supplier()
    fields = dict(form_fields(browser.http.get("/login").text, "/login"))
    fields.update(email=supplier.email, password="not the password")
    used, response = transactions_of(counted, lambda: browser.http.post("/login", data=fields))
    assert response.status_code == 400
    assert used == 1


def test_back_office_pages_and_forms_take_the_session_read_and_one_transaction(site):
    browser, world, counted = site
    supplier = world.supplier()
    browser.login(supplier.email)
    for path in ("/backoffice/integrations", "/backoffice/api"):
        used, response = transactions_of(counted, lambda path=path: browser.http.get(path))
        assert response.status_code == 200, path
        assert used == 2, path
    csrf = browser.csrf()
    used, response = transactions_of(counted, lambda: browser.http.post(
        "/backoffice/api/tokens", data={"csrf_token": csrf, "name": "mine", "scopes": "products_read"}))
    assert response.status_code == 303
    assert used == 2


def test_partner_pages_find_the_partner_in_the_session_and_take_one_transaction(site):
    browser, world, counted = site
    member = partner_member(world)
    app = app_of(world, member.partner_id)
    browser.login(member.email)
    app_path = f"/partners/{member.partner_id}/apps/{app.client_id}"
    for path in (f"/partners/{member.partner_id}/apps", app_path, app_path + "/edit"):
        used, response = transactions_of(counted, lambda path=path: browser.http.get(path))
        assert response.status_code == 200, path
        assert used == 2, path
    csrf = dict(form_fields(browser.http.get(app_path).text))["csrf_token"]
    for action in ("secret", "rotate-secret"):
        used, response = transactions_of(counted, lambda action=action: browser.http.post(
            f"{app_path}/{action}", data={"csrf_token": csrf}))
        assert response.status_code == 200, action
        assert "secret" in response.text
        assert used == 2, action


def test_another_partners_pages_are_not_found_without_reading_the_partner(site):
    browser, world, counted = site
    member = partner_member(world)
    other = partner_member(world)
    browser.login(member.email)
    used, response = transactions_of(counted, lambda: browser.http.get(f"/partners/{other.partner_id}/apps"))
    assert response.status_code == 404
    assert used == 1  # the session only


def test_support_pages_take_the_session_read_and_one_transaction(site):
    browser, world, counted = site
    browser.login(support_user(world))
    for path in ("/support/review", "/support/partners", "/support/accounts"):
        used, response = transactions_of(counted, lambda path=path: browser.http.get(path))
        assert response.status_code == 200, path
        assert used == 2, path
