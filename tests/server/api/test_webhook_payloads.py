"""Webhook payloads are built by plans (api/webhook_payloads.py), and are the bytes graphql-core
gives for the same document: for every topic kind, on the writer's transaction."""

from __future__ import annotations

import orjson
import pytest
from graphql import execute, parse
from sqlalchemy import func, select

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.server.api.context import RequestContext
from orderchamp_auth.server.api.plan import Plan
from orderchamp_auth.server.api.webhook_payloads import DOCUMENTS, api_schema, object_payload, payload_plans
from orderchamp_auth.server.store import models as m
from orderchamp_auth.server.webhooks.topics import TOPICS

from ...e2e.api_support import seeded_account
from ...support import World

PER_KIND = 6  # objects compared of each kind, the fullest first (most variants, items, ...)


@pytest.fixture(scope="module")
def account_id(platform) -> int:
    return seeded_account(World(platform)).account_id


def by_graphql_core(tx, account_id: int, kind: str, object_id: int | None, document: str | None = None) -> bytes:
    type_name, text = DOCUMENTS[kind]
    variables = {} if object_id is None else {"id": encode_global_id(type_name, object_id)}
    result = execute(api_schema(), parse(document or text), context_value=RequestContext(account_id, ScopeSet.all(), tx),
                     variable_values=variables)
    assert not result.errors, result.errors
    return orjson.dumps({"data": result.data})


def subjects(db, account_id: int) -> dict[str, list[int]]:
    """Objects of each kind, those with the most children first, then some with none."""
    def fullest(model, child_model, key: str) -> list[int]:
        counts = (select(model.id, func.count(getattr(child_model, key))).outerjoin(
            child_model, getattr(child_model, key) == model.id).where(model.account_id == account_id)
            .group_by(model.id).order_by(func.count(getattr(child_model, key)).desc(), model.id))
        rows = db.session.execute(counts).all()
        return [row[0] for row in rows[:PER_KIND - 1]] + [rows[-1][0]]

    return {
        "PRODUCT": fullest(m.Product, m.ProductVariant, "product_id"),
        "ORDER": fullest(m.Order, m.Shipment, "order_id"),
        "SHIPMENT": fullest(m.Shipment, m.ShipmentItem, "shipment_id"),
        "CUSTOMER": fullest(m.Customer, m.Order, "customer_id"),
    }


def test_every_payload_document_is_planned():
    plans = payload_plans(api_schema())
    assert set(plans) == set(DOCUMENTS) and all(isinstance(plan, Plan) for plan in plans.values())
    assert payload_plans(api_schema()) is plans  # compiled once
    assert {topic.split("_", 1)[0] for topic in TOPICS} - {"APP"} == set(DOCUMENTS)


@pytest.mark.parametrize("kind", ["PRODUCT", "ORDER", "SHIPMENT", "CUSTOMER"])
def test_object_payloads_are_the_bytes_graphql_core_answers(platform, account_id, kind):
    with platform.database.write() as db:
        ids = subjects(db, account_id)[kind]
        assert len(ids) == PER_KIND
        for object_id in ids:
            planned = orjson.dumps(object_payload(api_schema(), db, account_id, f"{kind}_UPDATED", object_id))
            assert planned == by_graphql_core(db, account_id, kind, object_id)
        full = orjson.loads(orjson.dumps(object_payload(api_schema(), db, account_id, f"{kind}_UPDATED", ids[0])))
    only = next(iter(full["data"].values()))
    assert only["id"] == encode_global_id(DOCUMENTS[kind][0], ids[0])
    children = {"PRODUCT": lambda o: o["variants"]["nodes"], "SHIPMENT": lambda o: o["items"]}.get(kind)
    assert children is None or children(only)  # the fullest object has children: they were read


def test_the_account_payload_is_the_bytes_graphql_core_answers(platform, account_id):
    with platform.database.write() as db:
        planned = orjson.dumps(object_payload(api_schema(), db, account_id, "ACCOUNT_UPDATED"))
        assert planned == by_graphql_core(db, account_id, "ACCOUNT", None)
    assert orjson.loads(planned)["data"]["account"]["id"] == encode_global_id("Account", account_id)


@pytest.mark.parametrize("kind", ["PRODUCT"])
def test_a_deleted_payload_is_the_id_graphql_core_answers_for_the_object(platform, account_id, kind):
    with platform.database.write() as db:
        object_id = subjects(db, account_id)[kind][0]
        planned = orjson.dumps(object_payload(api_schema(), db, account_id, f"{kind}_DELETED", object_id))
        assert planned == by_graphql_core(db, account_id, kind, object_id,
                                          "query($id: ID!) { product(id: $id) { id } }")


class _RollBack(Exception):
    pass


def test_a_payload_sees_the_writers_uncommitted_change(platform, account_id):
    with pytest.raises(_RollBack), platform.database.write() as db:
        product_id = subjects(db, account_id)["PRODUCT"][0]
        db.session.get(m.Product, product_id).title = "Changed in this transaction"
        db.flush()
        planned = object_payload(api_schema(), db, account_id, "PRODUCT_UPDATED", product_id)
        assert planned["data"]["product"]["title"] == "Changed in this transaction"
        assert orjson.dumps(planned) == by_graphql_core(db, account_id, "PRODUCT", product_id)
        raise _RollBack
