"""Writers outside the API record their events in their own transaction: the demo seeding and
the sandbox's test order."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.server.api.webhook_payloads import api_payload
from orderchamp_auth.server.demo_catalogue import build_catalogue, place_test_order, seed_catalogue
from orderchamp_auth.server.errors import ValidationError
from orderchamp_auth.server.store import models as m
from orderchamp_auth.server.webhooks.outbox import record_event, record_events

from ...e2e.webhook_support import subscribe

ADDRESS = "http://127.0.0.1:9/hooks"  # never sent to: no worker runs in these tests


def test_the_demo_seeding_records_what_it_made_and_a_rollback_records_nothing(world, platform):
    supplier, app = world.supplier(), world.app()
    subscribe(world, supplier.account_id, app, "PRODUCT_CREATED", ADDRESS)
    with pytest.raises(RuntimeError), platform.database.write() as db:
        seed_catalogue(db, supplier.account_id, api_payload, products=4, orders=2)
        raise RuntimeError("the seeding fails after writing")
    with platform.database.read() as db:
        assert db.webhook_deliveries.for_app(app.app_id) == []
        assert not db.catalogue_seed.has_products(supplier.account_id)

    with platform.database.write() as db:
        assert seed_catalogue(db, supplier.account_id, api_payload, products=4, orders=2)
    with platform.database.read() as db:
        deliveries = [d for d, _ in db.webhook_deliveries.for_app(app.app_id)]
    assert len(deliveries) == 4 and {d.topic for d in deliveries} == {"PRODUCT_CREATED"}
    products = [json.loads(d.body)["data"]["product"] for d in deliveries]
    seeded = build_catalogue(supplier.account_id, products=4, orders=2).products
    assert sorted(p["title"] for p in products) == sorted(p.title for p in seeded)
    assert len({p["id"] for p in products}) == 4
    assert all(len(p["variants"]["nodes"]) >= 2 for p in products)  # the payload is the whole product


def test_with_nobody_subscribed_no_payload_is_built(world, platform):
    supplier = world.supplier()

    def never() -> dict:
        raise AssertionError("a payload was built for nobody")

    with platform.database.write() as db:
        assert record_events(db, supplier.account_id, "PRODUCT_CREATED", [never] * 50) == 0


def test_a_test_order_records_order_created_and_its_new_customer_once(world, platform):
    supplier, app = world.supplier(), world.app()
    with platform.database.write() as db, pytest.raises(ValidationError, match="no products"):
        place_test_order(db, supplier.account_id, api_payload)
    with platform.database.write() as db:
        seed_catalogue(db, supplier.account_id, api_payload, products=3, orders=0)
    subscribe(world, supplier.account_id, app, "ORDER_CREATED", ADDRESS)
    subscribe(world, supplier.account_id, app, "CUSTOMER_CREATED", ADDRESS)
    with platform.database.write() as db:
        first = place_test_order(db, supplier.account_id, api_payload, products=5)
    with platform.database.write() as db:
        second = place_test_order(db, supplier.account_id, api_payload, products=1)
    assert second.number == first.number + 1 and second.customer_id == first.customer_id
    assert first.customer_created and not second.customer_created
    with platform.database.read() as db:
        deliveries = sorted((d for d, _ in db.webhook_deliveries.for_app(app.app_id)), key=lambda d: d.id)
    assert [d.topic for d in deliveries] == ["CUSTOMER_CREATED", "ORDER_CREATED", "ORDER_CREATED"]
    orders = [json.loads(d.body)["data"]["order"] for d in deliveries[1:]]
    assert [o["id"] for o in orders] == [encode_global_id("Order", first.order_id),
                                         encode_global_id("Order", second.order_id)]
    assert all(o["status"] == "NEW" and o["isConfirmed"] is False for o in orders)
    with platform.database.write() as db, pytest.raises(ValidationError):
        place_test_order(db, supplier.account_id, api_payload, products=0)


def test_an_event_for_several_subscribers_is_one_body_under_a_webhook_id_each(world, platform):
    supplier, apps = world.supplier(), [world.app() for _ in range(3)]
    with platform.database.write() as db:
        seed_catalogue(db, supplier.account_id, api_payload, products=1, orders=0)
    for number, app in enumerate(apps):
        subscribe(world, supplier.account_id, app, "PRODUCT_UPDATED", f"{ADDRESS}/{number}")
    with platform.database.read() as db:
        product_id = db.session.scalar(select(m.Product.id).where(m.Product.account_id == supplier.account_id))
    with platform.database.write() as db:
        assert record_event(db, supplier.account_id, "PRODUCT_UPDATED",
                            lambda: api_payload(db, supplier.account_id, "PRODUCT_UPDATED", product_id)) == 3
    with platform.database.read() as db:
        deliveries = [d for app in apps for d, _ in db.webhook_deliveries.for_app(app.app_id)]
    assert len(deliveries) == 3 and len({d.webhook_id for d in deliveries}) == 3
    assert sorted(d.address for d in deliveries) == [f"{ADDRESS}/{number}" for number in range(3)]
    assert len({d.body for d in deliveries}) == 1
    assert json.loads(deliveries[0].body)["data"]["product"]["id"] == encode_global_id("Product", product_id)
    assert {(d.status, d.attempts, d.is_test, d.occurred_at == d.next_attempt_at) for d in deliveries} == {
        ("pending", 0, False, True)}
