"""Recording with the database's hint of who has subscribers: an account and topic seen with
subscribers skip the lookup, and their deliveries are written by one INSERT ... SELECT that
applies the lookup's own condition. The hint only saves a statement: it never decides who
receives an event."""

from __future__ import annotations

import json
import uuid

import orjson
import pytest
from graphql import execute, parse
from sqlalchemy import event, select, update

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.server.api.context import RequestContext
from orderchamp_auth.server.api.webhook_payloads import DOCUMENTS, api_payload, api_schema
from orderchamp_auth.server.demo_catalogue import seed_catalogue
from orderchamp_auth.server.oauth.revocation import uninstall
from orderchamp_auth.server.store import models as m
from orderchamp_auth.server.store import transaction
from orderchamp_auth.server.store.repositories.webhooks import SubscriberHint, SubscriptionRepository
from orderchamp_auth.server.store.types import utcnow
from orderchamp_auth.server.webhooks import outbox
from orderchamp_auth.server.webhooks.outbox import record_event

from ...e2e.webhook_support import subscribe

ADDRESS = "http://127.0.0.1:9/hint"  # never sent to: no worker runs in these tests
TOPIC = "PRODUCT_UPDATED"


def _record(platform, account_id: int, seq: int, topic: str = TOPIC) -> int:
    with platform.database.write() as db:
        return record_event(db, account_id, topic, lambda: {"data": {"seq": seq}})


def _deliveries(platform, app_ids) -> list[m.WebhookDelivery]:
    with platform.database.read() as db:
        return sorted((d for app_id in app_ids for d, _ in db.webhook_deliveries.for_app(app_id)),
                      key=lambda d: d.id)


@pytest.fixture(autouse=True)
def _nothing_left_due(platform):
    """The deliveries these tests write are never sent: out of the way of the worker tests
    that share the database (a worker claims the oldest due deliveries first)."""
    yield
    with platform.database.write() as db:
        db.session.execute(update(m.WebhookDelivery).where(m.WebhookDelivery.address.startswith(ADDRESS))
                           .values(status="failed", next_attempt_at=None))


@pytest.fixture
def no_lookup(monkeypatch):
    """Fails a test whose recording looks subscribers up (once it is meant to use the hint)."""
    def forbid():
        def targets(*_args):
            raise AssertionError("the subscribers were looked up although the hint knew them")
        monkeypatch.setattr(SubscriptionRepository, "targets", targets)

    return forbid


def test_a_hinted_event_is_written_in_one_statement_for_the_live_subscriptions_only(world, platform, no_lookup):
    supplier = world.supplier()
    live, disabled, uninstalled, other_topic = (world.app() for _ in range(4))
    subscriptions = {app.app_id: subscribe(world, supplier.account_id, app, TOPIC, f"{ADDRESS}/{n}")
                     for n, app in enumerate((live, disabled, uninstalled))}
    subscribe(world, supplier.account_id, other_topic, "ORDER_CREATED", f"{ADDRESS}/3")
    hint = platform.database.subscriber_hint
    assert not hint.has_subscribers(supplier.account_id, TOPIC)
    assert _record(platform, supplier.account_id, 0) == 3  # looked up: the hint learns of them
    assert hint.has_subscribers(supplier.account_id, TOPIC)

    # Behind the hint's back: one subscription disabled, one app uninstalled (its subscription
    # left in place), so the hint is stale for those two.
    with platform.database.write() as db:
        db.session.execute(update(m.WebhookSubscription).where(
            m.WebhookSubscription.id == subscriptions[disabled.app_id]).values(disabled_at=utcnow()))
        db.session.execute(update(m.Installation).where(
            m.Installation.account_id == supplier.account_id, m.Installation.app_id == uninstalled.app_id,
        ).values(uninstalled_at=utcnow()))
    no_lookup()
    assert _record(platform, supplier.account_id, 1) == 1
    second = [d for d in _deliveries(platform, (live.app_id, disabled.app_id, uninstalled.app_id, other_topic.app_id))
              if json.loads(d.body)["data"]["seq"] == 1]
    assert [(d.app_id, d.subscription_id, d.address, d.topic, d.account_id) for d in second] == [
        (live.app_id, subscriptions[live.app_id], f"{ADDRESS}/0", TOPIC, supplier.account_id)]
    delivery = second[0]
    assert (delivery.status, delivery.attempts, delivery.is_test, delivery.last_error, delivery.token_id) == (
        "pending", 0, False, "", None)
    assert delivery.occurred_at == delivery.next_attempt_at == delivery.created_at


def test_webhook_ids_made_by_the_database_are_version_4_uuids_and_unique(world, platform):
    supplier, apps = world.supplier(), [world.app() for _ in range(3)]
    for number, app in enumerate(apps):
        subscribe(world, supplier.account_id, app, TOPIC, f"{ADDRESS}/{number}")
    _record(platform, supplier.account_id, 0)  # looked up, ids made in Python
    for seq in range(1, 6):
        assert _record(platform, supplier.account_id, seq) == 3  # the hinted path: ids made in SQL
    ids = [d.webhook_id for d in _deliveries(platform, [app.app_id for app in apps])]
    assert len(ids) == 18 and len(set(ids)) == 18
    for webhook_id in ids:
        parsed = uuid.UUID(webhook_id)
        assert str(parsed) == webhook_id and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_stale_hint_builds_a_payload_but_writes_nothing_and_wakes_no_worker(world, platform, monkeypatch):
    supplier, app = world.supplier(), world.app()
    subscribe(world, supplier.account_id, app, "ORDER_CREATED", ADDRESS)  # another topic only
    woken: list[int] = []
    monkeypatch.setattr(outbox, "_committed_listeners", [lambda: woken.append(1)])
    hint = platform.database.subscriber_hint
    hint.note(supplier.account_id, TOPIC, True)  # wrong: nobody subscribed to it
    built: list[int] = []
    with platform.database.write() as db:
        assert record_event(db, supplier.account_id, TOPIC, lambda: built.append(1) or {"data": {}}) == 0
    assert built == [1] and woken == []
    assert not hint.has_subscribers(supplier.account_id, TOPIC)  # dropped: the next event looks up
    assert _deliveries(platform, [app.app_id]) == []
    assert _record(platform, supplier.account_id, 0, "ORDER_CREATED") == 1
    assert woken == [1]


def test_app_uninstalled_goes_to_the_app_whatever_the_hint_and_later_events_do_not(world, platform):
    supplier, app = world.supplier(), world.app()
    subscribe(world, supplier.account_id, app, TOPIC, f"{ADDRESS}/a")
    subscribe(world, supplier.account_id, app, "ORDER_CREATED", f"{ADDRESS}/b")
    assert _record(platform, supplier.account_id, 0) == 1
    hint = platform.database.subscriber_hint
    assert hint.has_subscribers(supplier.account_id, TOPIC)
    with platform.database.write() as db:
        installation = db.session.scalar(select(m.Installation).where(
            m.Installation.account_id == supplier.account_id, m.Installation.app_id == app.app_id))
        uninstall(db, installation, utcnow())
    assert not hint.has_subscribers(supplier.account_id, "APP_UNINSTALLED")
    assert _record(platform, supplier.account_id, 1) == 0  # the hint was stale: nothing written
    assert not hint.has_subscribers(supplier.account_id, TOPIC)
    deliveries = _deliveries(platform, [app.app_id])
    assert [(d.topic, d.address) for d in deliveries] == [
        (TOPIC, f"{ADDRESS}/a"), ("APP_UNINSTALLED", f"{ADDRESS}/a"), ("APP_UNINSTALLED", f"{ADDRESS}/b")]
    assert json.loads(deliveries[1].body)["data"]["appUninstalled"]["tokensRevoked"] is True


def test_the_hint_is_bounded_and_forgets_pairs_that_lost_their_subscribers():
    hint = SubscriberHint(max_size=3)
    for account_id in range(3):
        hint.note(account_id, TOPIC, True)
    assert len(hint) == 3 and hint.has_subscribers(2, TOPIC)
    hint.note(3, TOPIC, True)  # full: it starts over
    assert len(hint) == 1 and hint.has_subscribers(3, TOPIC) and not hint.has_subscribers(0, TOPIC)
    hint.note(3, TOPIC, False)
    hint.note(4, TOPIC, False)  # "none" is never kept: absence already means "look up"
    assert len(hint) == 0


def test_a_hinted_product_event_on_postgresql_is_two_statements_and_the_apis_bytes(world, platform, monkeypatch):
    """A subscribed account's PRODUCT_UPDATED, hinted: on PostgreSQL the product with its
    variants and images in one read, then the deliveries' INSERT ... SELECT; on SQLite (no round
    trips) the product and each relation read apart. The body is the API's answer, byte for byte."""
    supplier, app = world.supplier(), world.app()
    with platform.database.write() as db:
        seed_catalogue(db, supplier.account_id, api_payload, products=1, orders=0)
        product_id = db.session.scalar(select(m.Product.id).where(m.Product.account_id == supplier.account_id))
    subscribe(world, supplier.account_id, app, TOPIC, f"{ADDRESS}/two")
    assert _record(platform, supplier.account_id, 0) == 1  # looked up: the hint learns of it
    statements: list[str] = []
    real_run, real_execute = transaction.run, transaction.execute

    def read(driver, dialect, statement, *args, **kwargs):
        statements.append(statement.sql)
        return real_run(driver, dialect, statement, *args, **kwargs)

    def write(cursor, statement, *args, **kwargs):
        statements.append(statement.sql)
        return real_execute(cursor, statement, *args, **kwargs)

    def orm(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with platform.database.write() as db:
        monkeypatch.setattr(transaction, "run", read)
        monkeypatch.setattr(transaction, "execute", write)
        event.listen(platform.database.engine, "before_cursor_execute", orm)
        try:
            assert record_event(db, supplier.account_id, TOPIC,
                                lambda: api_payload(db, supplier.account_id, TOPIC, product_id)) == 1
        finally:
            event.remove(platform.database.engine, "before_cursor_execute", orm)
            monkeypatch.undo()
    kinds = [s.lstrip().split(None, 1)[0].upper() for s in statements]
    assert kinds == (["SELECT", "INSERT"] if platform.database.engine.dialect.name == "postgresql"
                     else ["SELECT", "SELECT", "SELECT", "INSERT"]), statements
    (delivery,) = [d for d in _deliveries(platform, [app.app_id]) if "product" in json.loads(d.body)["data"]]
    with platform.database.read() as db:
        answer = execute(api_schema(), parse(DOCUMENTS["PRODUCT"][1]),
                         context_value=RequestContext(supplier.account_id, ScopeSet.all(), db),
                         variable_values={"id": encode_global_id("Product", product_id)})
    assert not answer.errors and answer.data["product"]["variants"]["nodes"] and answer.data["product"]["images"]["nodes"]
    assert delivery.body.encode() == orjson.dumps({"data": answer.data})
