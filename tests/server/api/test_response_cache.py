"""The API's response cache never serves what a change made stale.

Responses of plans are kept per worker under the account's data version, which
database triggers raise in every transaction that changes the account or its data. These
tests change data every way there is (a mutation through the API, a write by another process's
connection, each table by plain SQL) and check the very next request sees it.
"""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select, text, update
from starlette.testclient import TestClient

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.server.api.description import watched_tables
from orderchamp_auth.server.app import create_app
from orderchamp_auth.server.store import models as m
from orderchamp_auth.server.store.database import Database

from ...e2e.api_support import seeded_account
from ...support import World

PRODUCTS = "{ products(first: 3) { nodes { id title variants(first: 5) { nodes { sku price } } } } }"
ALL_SCOPES = "account_read,account_write,products_read,products_write,orders_read,customers_read,fulfillment_read"


@pytest.fixture(scope="module")
def cached_api(settings, platform):
    world = World(platform)
    account = seeded_account(world)
    other = seeded_account(world)
    token = world.private_token(account.account_id, ALL_SCOPES)
    other_token = world.private_token(other.account_id, ALL_SCOPES)
    app = create_app(settings)
    with TestClient(app) as client:

        def ask(query: str, variables: dict | None = None, bearer: str = token) -> dict:
            response = client.post("/v1/graphql", json={"query": query, "variables": variables},
                                   headers={"authorization": f"Bearer {bearer}"})
            assert response.status_code == 200, response.text
            return orjson.loads(response.content)

        yield ask, app.state.graphql.responses, account.account_id, other_token


def version_of(database: Database, account_id: int) -> int:
    with database.read() as db:
        return db.session.scalar(select(m.DataVersion.version).where(m.DataVersion.account_id == account_id)) or 0


def test_the_same_request_is_answered_from_the_cache(cached_api):
    ask, responses, _, _ = cached_api
    first = ask(PRODUCTS)
    hits = responses.hits
    assert ask(PRODUCTS) == first
    assert responses.hits == hits + 1


def test_a_mutation_is_seen_by_the_next_read(cached_api):
    ask, _, _, _ = cached_api
    product = ask(PRODUCTS)["data"]["products"]["nodes"][0]
    ask('mutation($id: ID!) { productUpdate(input: {id: $id, title: "Renamed by mutation"}) { userErrors { message } } }',
        {"id": product["id"]})
    assert ask(PRODUCTS)["data"]["products"]["nodes"][0]["title"] == "Renamed by mutation"


def test_a_write_by_another_process_is_seen_by_the_next_read(cached_api, migrated_database_url):
    ask, responses, account_id, _ = cached_api
    ask(PRODUCTS)
    ask(PRODUCTS)  # now cached
    other_worker = Database(migrated_database_url)  # its own engine and connections
    try:
        with other_worker.write() as db:
            first = db.session.scalar(select(m.Product.id).where(m.Product.account_id == account_id).order_by(m.Product.id))
            db.session.execute(update(m.Product).where(m.Product.id == first).values(title="Renamed elsewhere"))
            variant = db.session.scalar(select(m.ProductVariant.id).where(m.ProductVariant.product_id == first)
                                .order_by(m.ProductVariant.position, m.ProductVariant.id))
            db.session.execute(update(m.ProductVariant).where(m.ProductVariant.id == variant).values(price="123.45"))
    finally:
        other_worker.dispose()
    misses = responses.misses
    node = ask(PRODUCTS)["data"]["products"]["nodes"][0]
    assert responses.misses == misses + 1
    assert node["title"] == "Renamed elsewhere"
    assert node["variants"]["nodes"][0]["price"] == "123.45"


def test_accounts_and_scopes_never_share_an_entry(cached_api, platform):
    ask, _, account_id, other_token = cached_api
    mine = ask("{ account { id name } }")["data"]["account"]
    theirs = ask("{ account { id name } }", bearer=other_token)["data"]["account"]
    assert mine["id"] == encode_global_id("Account", account_id)
    assert theirs["id"] != mine["id"]
    narrow = World(platform).private_token(account_id, "products_read")
    denied = ask("{ account { id name } }", bearer=narrow)
    assert denied["data"]["account"] is None
    assert denied["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


def test_an_account_update_is_seen_by_the_next_read(cached_api, platform):
    ask, _, account_id, _ = cached_api
    ask("{ account { name } }")
    with platform.database.write() as db:
        db.session.execute(update(m.Account).where(m.Account.id == account_id).values(name="Renamed account"))
    assert ask("{ account { name } }")["data"]["account"]["name"] == "Renamed account"


# Each statement changes one table of the account (account_id = :a); the version must rise.
# Every table the API reads (the description's) needs one here.
CHANGES = {
    "products": "UPDATE products SET brand = 'x' WHERE account_id = :a",
    "product_variants": "UPDATE product_variants SET inventory_quantity = 7 WHERE account_id = :a",
    "product_images": "DELETE FROM product_images WHERE id = (SELECT MAX(id) FROM product_images WHERE account_id = :a)",
    "customers": "UPDATE customers SET email = 'new@example.com' WHERE account_id = :a",
    "orders": "UPDATE orders SET reference = 'R' WHERE account_id = :a",
    "order_products": "UPDATE order_products SET title = 'T' WHERE account_id = :a",
    "invoices": "UPDATE invoices SET currency = 'USD' WHERE account_id = :a",
    "invoice_items": "UPDATE invoice_items SET title = 'I' WHERE account_id = :a",
    "shipments": "UPDATE shipments SET carrier = 'C' WHERE account_id = :a",
    "shipment_items": "DELETE FROM shipment_items WHERE id = (SELECT MAX(id) FROM shipment_items WHERE account_id = :a)",
    "accounts": "UPDATE accounts SET currency = 'GBP' WHERE id = :a",
}


@pytest.mark.parametrize("table", watched_tables())
def test_every_table_the_api_reads_raises_the_data_version(platform, table):
    account = seeded_account(World(platform))
    before = version_of(platform.database, account.account_id)
    with platform.database.write() as db:
        changed = db.session.execute(text(CHANGES[table]), {"a": account.account_id}).rowcount
    assert changed >= 1
    assert version_of(platform.database, account.account_id) > before


def test_a_failed_transaction_leaves_the_version_alone(platform):
    account = seeded_account(World(platform))
    before = version_of(platform.database, account.account_id)
    with pytest.raises(RuntimeError), platform.database.write() as db:
        db.session.execute(text(CHANGES["products"]), {"a": account.account_id})
        raise RuntimeError("rolled back")
    assert version_of(platform.database, account.account_id) == before


def test_the_cache_holds_no_more_than_its_budget():
    from orderchamp_auth.server.api.response_cache import ResponseCache

    cache = ResponseCache(max_bytes=10_000)
    for i in range(100):
        cache.put(("q", i), 1, b"x" * 500, i, 10)
    assert cache.size <= 10_000
    assert cache.get(("q", 99), 1) == (b"x" * 500, 99)
    assert cache.get(("q", 0), 1) is None  # evicted first
    assert cache.get(("q", 99), 2) is None  # another version
    cache.put(("big",), 1, b"x" * 5000, 0, 10)  # over an eighth of the budget: not kept
    assert cache.get(("big",), 1) is None


def test_a_hit_opens_no_unit_of_work(settings, platform, monkeypatch):
    """The version alone, read for the event loop (no thread handoff on PostgreSQL), answers a
    hit; the units of work (``Database.reading``) are for misses. With rate limits on, the hit's
    bytes carry this request's ``extensions.cost``."""
    world = World(platform)
    account = seeded_account(world)
    token = world.private_token(account.account_id, ALL_SCOPES)
    app = create_app(settings)
    database = app.state.graphql.database
    units: list[object] = []
    reading = database.reading

    async def counted(work):
        units.append(work)
        return await reading(work)

    monkeypatch.setattr(database, "reading", counted)
    with TestClient(app) as client:
        def ask() -> dict:
            response = client.post("/v1/graphql", json={"query": PRODUCTS}, headers={"authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
            return orjson.loads(response.content)

        first = ask()
        missed = len(units)
        assert missed >= 1
        second = ask()
        assert len(units) == missed
        assert app.state.graphql.responses.hits == 1
    assert second["data"] == first["data"]
    if app.state.graphql.rate_limits is not None:
        assert second["extensions"]["cost"]["requestedQueryCost"] == first["extensions"]["cost"]["requestedQueryCost"] > 0
        assert second["extensions"]["cost"]["actualQueryCost"] == first["extensions"]["cost"]["actualQueryCost"]
