"""The outbox of webhook deliveries: recording, claiming, finishing and listing them, every
statement of the deliveries and their attempts (who receives an event: ``webhooks``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    String,
    bindparam,
    cast,
    false,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)

from ..models import (
    Account,
    App,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSigningSecret,
    WebhookSubscription,
)
from .base import Repository, rowcount, table_of
from .webhooks import _live_subscriptions


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    webhook_id: str
    lease_token: str
    subscription_id: int | None
    app_id: int | None
    account_id: int
    topic: str
    address: str
    body: str
    occurred_at: dt.datetime
    attempt: int  # the number of this attempt, from 1
    secret_encrypted: str | None  # the app's client secret or the private token's; None: token revoked
    token_id: int | None = None


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    started_at: dt.datetime
    latency_ms: int
    status_code: int | None
    error: str
    response_headers: str
    response_body: str
    final: bool = False  # no retry can succeed (the private token was revoked)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


DELIVERY_COLUMNS = ("webhook_id", "subscription_id", "app_id", "token_id", "account_id", "topic", "address",
                    "body", "occurred_at", "is_test", "status", "attempts", "next_attempt_at", "last_error",
                    "created_at")


def _insert_delivery_statement() -> Any:
    table = table_of(WebhookDelivery)
    return insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in DELIVERY_COLUMNS})


def _new_webhook_id(dialect_name: str) -> Any:
    """A random (version 4) UUID made by the database, in ``str(uuid.uuid4())``'s text form."""
    if dialect_name == "postgresql":
        return cast(func.gen_random_uuid(), String)  # built in from PostgreSQL 13
    hexes = [func.lower(func.hex(func.randomblob(n))) for n in (4, 2, 2, 2, 6)]
    variant = func.substr(literal("89ab"), 1 + func.abs(func.random()) % 4, 1)
    return (hexes[0] + "-" + hexes[1] + "-4" + func.substr(hexes[2], 2) + "-" + variant
            + func.substr(hexes[3], 2) + "-" + hexes[4])


def _insert_for_subscribers_statement(dialect_name: str) -> Any:
    # The subscriber lookup folded into the insert: one statement, one round trip.
    # What is the same for every new delivery is written into the SQL, and the three times are
    # one parameter: each one bound costs a conversion per event.
    table = table_of(WebhookDelivery)
    s = WebhookSubscription
    now = bindparam("now", type_=table.c.created_at.type)
    per_event = {"body": bindparam("body", type_=table.c.body.type), "occurred_at": now, "is_test": false(),
                 "status": literal_column(f"'{DeliveryStatus.PENDING}'"), "attempts": literal_column("0"),
                 "next_attempt_at": now, "last_error": literal_column("''"), "created_at": now}
    rows = _live_subscriptions(_new_webhook_id(dialect_name), s.id, s.app_id, s.token_id, s.account_id, s.topic,
                               s.address, *(per_event[name] for name in DELIVERY_COLUMNS[7:]))
    return insert(table).from_select(list(DELIVERY_COLUMNS), rows)


class DeliveryRepository(Repository):
    def add_all(self, rows: list[dict[str, Any]]) -> None:
        """New deliveries, each with every one of ``DELIVERY_COLUMNS``. On the driver, one
        call for all of them: recording is part of every mutation that has subscribers."""
        if rows:
            self.tx.execute_many(self.tx.statement("insert_webhook_delivery", _insert_delivery_statement), rows)

    def add_for_subscribers(self, account_id: int, topic: str, body: str, now: dt.datetime) -> int:
        """A new pending delivery of ``body`` for each live subscription to ``topic`` on the
        account (``SubscriptionRepository.targets``'s), under a webhook id of its own made by
        the database, in one statement; how many (none when nobody subscribed after all)."""
        insert_rows = self.tx.statement("insert_webhook_deliveries_for_subscribers",
                                        lambda: _insert_for_subscribers_statement(self.tx.dialect.name))
        return self.tx.execute(insert_rows, {"account_id": account_id, "topic": topic, "body": body, "now": now})

    def any_due(self, now: dt.datetime) -> bool:
        """Whether a delivery is due: the idle worker's poll, a read (no write lock taken)."""
        return self.session.scalar(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now)
            .limit(1)) is not None

    def claim(self, now: dt.datetime, lease_until: dt.datetime, token: str, limit: int) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries to this worker until ``lease_until``.

        PostgreSQL: FOR UPDATE SKIP LOCKED, so that workers claiming at once each get other
        rows and never wait for one another. SQLite: the write transaction (BEGIN IMMEDIATE)
        already runs claims one at a time. The lease moves the row's next attempt to the lease's
        end: a worker that dies holding it leaves a row that is due again once it runs out.
        """
        due = (select(WebhookDelivery.id)
               .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now)
               .order_by(WebhookDelivery.next_attempt_at).limit(limit)
               .with_for_update(skip_locked=True))
        claimed = rowcount(self.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=lease_until, lease_until=lease_until, lease_token=token)
            .execution_options(synchronize_session=False)
        ))
        if not claimed:
            return []
        rows = self.session.execute(
            select(WebhookDelivery.id, WebhookDelivery.webhook_id, WebhookDelivery.subscription_id,
                   WebhookDelivery.app_id, WebhookDelivery.account_id, WebhookDelivery.topic,
                   WebhookDelivery.address, WebhookDelivery.body, WebhookDelivery.occurred_at,
                   WebhookDelivery.attempts,
                   func.coalesce(App.client_secret_encrypted, WebhookSigningSecret.secret_encrypted),
                   WebhookDelivery.token_id)
            .outerjoin(App, App.id == WebhookDelivery.app_id)
            .outerjoin(WebhookSigningSecret, WebhookSigningSecret.token_id == WebhookDelivery.token_id)
            .where(WebhookDelivery.lease_token == token, WebhookDelivery.status == DeliveryStatus.PENDING)
            .order_by(WebhookDelivery.id)
        ).all()
        return [ClaimedDelivery(r[0], r[1], token, r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9] + 1, r[10], r[11])
                for r in rows]

    def finish(self, delivery: ClaimedDelivery, outcome: AttemptOutcome, *, retry_at: dt.datetime | None,
               now: dt.datetime) -> bool:
        """Record an attempt. Delivered on success; else pending again at ``retry_at``, or
        failed when there is none. False (nothing recorded) when this worker's lease was lost."""
        if outcome.succeeded:
            values: dict[str, Any] = {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_attempt_at": None}
        elif retry_at is not None:
            values = {"status": DeliveryStatus.PENDING, "next_attempt_at": retry_at}
        else:
            values = {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
        kept = rowcount(self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id, WebhookDelivery.lease_token == delivery.lease_token)
            .values(attempts=delivery.attempt, lease_until=None, lease_token=None,
                    last_status_code=outcome.status_code, last_error=outcome.error, **values)
            .execution_options(synchronize_session=False)
        ))
        if not kept:
            return False
        self.session.add(WebhookAttempt(
            delivery_id=delivery.id, attempt=delivery.attempt, started_at=outcome.started_at,
            latency_ms=outcome.latency_ms, status_code=outcome.status_code, error=outcome.error,
            response_headers=outcome.response_headers, response_body=outcome.response_body))
        return True

    def note_subscription_result(self, subscription_id: int, succeeded: bool, now: dt.datetime,
                                 disable_after: dt.timedelta, reason: str) -> None:
        """A success ends a failing streak; a failure starts one, and one older than
        ``disable_after`` disables the subscription, saying why."""
        table = WebhookSubscription
        if succeeded:
            self.session.execute(update(table).where(table.id == subscription_id, table.failing_since.is_not(None))
                                 .values(failing_since=None))
            return
        self.session.execute(update(table).where(table.id == subscription_id, table.failing_since.is_(None))
                             .values(failing_since=now))
        self.session.execute(update(table).where(table.id == subscription_id, table.disabled_at.is_(None),
                                                 table.failing_since <= now - disable_after)
                             .values(disabled_at=now, disabled_reason=reason))

    def for_app(self, app_id: int, *, limit: int = 50) -> list[tuple[WebhookDelivery, str]]:
        rows = self.session.execute(
            select(WebhookDelivery, Account.name).join(Account, Account.id == WebhookDelivery.account_id)
            .where(WebhookDelivery.app_id == app_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def attempts_of(self, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
        found: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
        if delivery_ids:
            for attempt in self.session.scalars(select(WebhookAttempt).where(
                    WebhookAttempt.delivery_id.in_(delivery_ids)).order_by(WebhookAttempt.attempt)):
                found[attempt.delivery_id].append(attempt)
        return found

    def get(self, delivery_id: int) -> WebhookDelivery | None:
        return self.session.get(WebhookDelivery, delivery_id)

    def by_webhook_id(self, webhook_id: str) -> WebhookDelivery | None:
        return self.session.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))

    def requeue(self, delivery: WebhookDelivery, now: dt.datetime) -> None:
        """Send again now, under the same webhook id (the app deduplicates by it)."""
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now
        delivery.lease_until = None
        delivery.lease_token = None
        self.session.flush()

    def counts_by_status(self) -> dict[str, int]:
        rows = self.session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all()
        return {row[0]: int(row[1]) for row in rows}
