"""A product mutation with a subscriber reads the product once: the read its PRODUCT_UPDATED
payload needs also gives the mutation its result (api/mutations.py ``_shaped``); without one,
the mutation reads its result itself. Either way the result is what the API would answer."""

from __future__ import annotations

import json
import re

import pytest
from graphql import execute, parse
from sqlalchemy import select, update

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.server.api.context import RequestContext
from orderchamp_auth.server.api.webhook_payloads import api_payload, api_schema
from orderchamp_auth.server.demo_catalogue import seed_catalogue
from orderchamp_auth.server.store import models as m
from orderchamp_auth.server.store import transaction

from ...e2e.webhook_support import subscribe

ADDRESS = "http://127.0.0.1:9/reads"  # never sent to: no worker runs in these tests
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)

# mutation -> (the type of its input's id, the field it answers, the fields asked of it, the change)
MUTATIONS = {
    "productUpdate": ("Product", "product", "id title description brand createdAt updatedAt",
                      'title: "Renamed"'),
    "productVariantUpdate": ("ProductVariant", "productVariant",
                             "id title sku price inventoryQuantity inventoryPolicy position",
                             "inventoryQuantity: 7"),
    "productImageUpdate": ("ProductImage", "productImage", "id position originalUrl", "position: 3"),
}


@pytest.fixture(autouse=True)
def _nothing_left_due(platform):
    """The deliveries written here are never sent: out of the worker tests' way."""
    yield
    with platform.database.write() as db:
        db.session.execute(update(m.WebhookDelivery).where(m.WebhookDelivery.address.startswith(ADDRESS))
                           .values(status="failed", next_attempt_at=None))


def _catalogue(world, platform) -> tuple[int, dict[str, int]]:
    supplier = world.supplier()
    with platform.database.write() as db:
        seed_catalogue(db, supplier.account_id, api_payload, products=1, orders=0)
        ids = {type_name: db.session.scalar(select(model.id).where(model.account_id == supplier.account_id)
                                            .order_by(model.id))
               for type_name, model in (("Product", m.Product), ("ProductVariant", m.ProductVariant),
                                        ("ProductImage", m.ProductImage))}
    return supplier.account_id, ids


def _mutate(platform, monkeypatch, account_id: int, name: str, object_id: int) -> tuple[dict, list[str]]:
    """The mutation's answer, and the tables each driver read after the change read from."""
    type_name, key, fields, change = MUTATIONS[name]
    document = parse(f'mutation {{ {name}(input: {{id: "{encode_global_id(type_name, object_id)}", {change}}}) '
                     f'{{ {key} {{ {fields} }} userErrors {{ message }} }} }}')
    tables: list[str] = []
    real_run = transaction.run

    def read(driver, dialect, statement, *args, **kwargs):
        if statement.sql.lstrip().upper().startswith("SELECT"):
            tables.extend(_FROM.findall(statement.sql))
        return real_run(driver, dialect, statement, *args, **kwargs)

    with platform.database.write() as db:
        monkeypatch.setattr(transaction, "run", read)
        try:
            answer = execute(api_schema(), document, context_value=RequestContext(account_id, ScopeSet.all(), db))
        finally:
            monkeypatch.undo()
    assert not answer.errors and not answer.data[name]["userErrors"], answer
    return answer.data[name][key], tables


def _query(platform, account_id: int, type_name: str, object_id: int, fields: str) -> dict:
    with platform.database.read() as db:
        answer = execute(api_schema(), parse(f'{{ node(id: "{encode_global_id(type_name, object_id)}") '
                                             f'{{ ... on {type_name} {{ {fields} }} }} }}'),
                         context_value=RequestContext(account_id, ScopeSet.all(), db))
    assert not answer.errors, answer.errors
    return answer.data["node"]


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_product_mutation_with_a_subscriber_reads_each_table_once(world, platform, monkeypatch, name):
    type_name, _, fields, _ = MUTATIONS[name]
    account_id, ids = _catalogue(world, platform)
    quiet, _ = _mutate(platform, monkeypatch, account_id, name, ids[type_name])
    assert quiet == _query(platform, account_id, type_name, ids[type_name], fields)

    subscribe(world, account_id, world.app(), "PRODUCT_UPDATED", ADDRESS)
    # The first event looks the subscribers up, the next ones know them (the hint): both paths.
    for _ in range(2):
        answered, tables = _mutate(platform, monkeypatch, account_id, name, ids[type_name])
        assert answered == _query(platform, account_id, type_name, ids[type_name], fields)
        # The payload's read (products, variants and images: one statement on PostgreSQL) is
        # the only one of the product's tables; the mutation's own result came from it.
        read = [table for table in tables if table.startswith("product")]
        assert sorted(read) == ["product_images", "product_variants", "products"], tables
    with platform.database.read() as db:
        bodies = [json.loads(d.body) for d, _ in db.webhook_deliveries.for_app(
            db.session.scalar(select(m.WebhookSubscription.app_id).where(m.WebhookSubscription.address == ADDRESS,
                                                                         m.WebhookSubscription.account_id == account_id)))]
    assert len(bodies) == 2 and all(b["data"]["product"]["id"] == encode_global_id("Product", ids["Product"])
                                    for b in bodies)
