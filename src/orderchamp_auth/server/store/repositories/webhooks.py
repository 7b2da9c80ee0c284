"""Webhook subscriptions and the outbox of deliveries: every statement of the webhooks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update

from ..models import (
    AccessToken,
    Account,
    App,
    DeliveryStatus,
    Installation,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from .base import Repository, rowcount, table_of


@dataclass(frozen=True, slots=True)
class Target:
    """Where an event goes: a subscription of an app, at its address."""

    subscription_id: int | None
    app_id: int
    address: str


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    webhook_id: str
    lease_token: str
    subscription_id: int | None
    app_id: int
    account_id: int
    topic: str
    address: str
    body: str
    occurred_at: dt.datetime
    attempt: int  # the number of this attempt, from 1
    secret_encrypted: str


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    started_at: dt.datetime
    latency_ms: int
    status_code: int | None
    error: str
    response_headers: str
    response_body: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _targets_statement() -> Any:
    return (select(WebhookSubscription.id, WebhookSubscription.app_id, WebhookSubscription.address)
            .join(Installation, (Installation.account_id == WebhookSubscription.account_id)
                  & (Installation.app_id == WebhookSubscription.app_id))
            .where(WebhookSubscription.account_id == bindparam("account_id"),
                   WebhookSubscription.topic == bindparam("topic"),
                   WebhookSubscription.disabled_at.is_(None), Installation.uninstalled_at.is_(None))
            .order_by(WebhookSubscription.id))


def _app_of_token_statement() -> Any:
    return (select(Installation.app_id).join(AccessToken, AccessToken.installation_id == Installation.id)
            .where(AccessToken.id == bindparam("token_id")))


def _subscription_rows_statement() -> Any:
    t = WebhookSubscription.__table__
    return (select(t.c.id, t.c.topic, t.c.address, t.c.created_at, t.c.updated_at, t.c.disabled_at,
                   t.c.disabled_reason)
            .where(t.c.account_id == bindparam("account_id"), t.c.app_id == bindparam("app_id"))
            .order_by(t.c.id).limit(bindparam("limit")))


class SubscriptionRepository(Repository):
    def targets(self, account_id: int, topic: str) -> list[Target]:
        """The live subscriptions to ``topic`` of apps still installed on the account. Every
        mutation asks, mostly to hear "none": on the driver, where a lookup costs a fraction
        of SQLAlchemy's execution of it (``driver_statements``)."""
        rows = self.tx.rows(self.tx.statement("webhook_targets", _targets_statement),
                            {"account_id": account_id, "topic": topic})
        return [Target(row[0], row[1], row[2]) for row in rows]

    def app_of_token(self, token_id: int) -> int | None:
        """The app whose installation issued this token; None for private tokens (on the
        driver: the API asks on every ``webhooks`` query and webhook mutation)."""
        rows = self.tx.rows(self.tx.statement("webhooks_app_of_token", _app_of_token_statement),
                            {"token_id": token_id})
        return int(rows[0][0]) if rows else None

    def rows_of(self, account_id: int, app_id: int, limit: int) -> list[dict[str, Any]]:
        """An installation's subscriptions as plain rows, oldest first (on the driver, as above)."""
        read = self.tx.statement("webhooks_subscription_rows", _subscription_rows_statement)
        return [dict(zip(read.columns, row, strict=True))
                for row in self.tx.rows(read, {"account_id": account_id, "app_id": app_id, "limit": limit})]

    def addresses_of_app(self, account_id: int, app_id: int) -> list[str]:
        return list(self.session.scalars(
            select(WebhookSubscription.address).distinct()
            .where(WebhookSubscription.account_id == account_id, WebhookSubscription.app_id == app_id,
                   WebhookSubscription.disabled_at.is_(None))
            .order_by(WebhookSubscription.address)
        ))

    def delete_of_app(self, account_id: int, app_id: int) -> None:
        self.session.execute(delete(WebhookSubscription).where(
            WebhookSubscription.account_id == account_id, WebhookSubscription.app_id == app_id))

    def list_for(self, account_id: int, app_id: int, *, after_id: int = 0, limit: int = 100) -> list[WebhookSubscription]:
        return list(self.session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.account_id == account_id, WebhookSubscription.app_id == app_id,
                   WebhookSubscription.id > after_id)
            .order_by(WebhookSubscription.id).limit(limit)
        ))

    def count_for(self, account_id: int, app_id: int) -> int:
        return int(self.session.scalar(select(func.count()).select_from(WebhookSubscription).where(
            WebhookSubscription.account_id == account_id, WebhookSubscription.app_id == app_id)) or 0)

    def list_for_account(self, account_id: int) -> list[tuple[WebhookSubscription, str]]:
        rows = self.session.execute(
            select(WebhookSubscription, App.name).join(App, App.id == WebhookSubscription.app_id)
            .where(WebhookSubscription.account_id == account_id).order_by(App.name, WebhookSubscription.id)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def list_for_app(self, app_id: int) -> list[tuple[WebhookSubscription, str]]:
        rows = self.session.execute(
            select(WebhookSubscription, Account.name).join(Account, Account.id == WebhookSubscription.account_id)
            .where(WebhookSubscription.app_id == app_id).order_by(Account.name, WebhookSubscription.id)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def get(self, account_id: int, app_id: int, subscription_id: int) -> WebhookSubscription | None:
        return self.session.scalar(select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id, WebhookSubscription.account_id == account_id,
            WebhookSubscription.app_id == app_id))

    def get_of_app(self, app_id: int, subscription_id: int) -> WebhookSubscription | None:
        return self.session.scalar(select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id, WebhookSubscription.app_id == app_id))

    def find(self, account_id: int, app_id: int, topic: str, address: str) -> WebhookSubscription | None:
        return self.session.scalar(select(WebhookSubscription).where(
            WebhookSubscription.account_id == account_id, WebhookSubscription.app_id == app_id,
            WebhookSubscription.topic == topic, WebhookSubscription.address == address))

    def add(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self.session.add(subscription)
        self.session.flush()
        return subscription

    def remove(self, subscription: WebhookSubscription) -> None:
        self.session.delete(subscription)
        self.session.flush()


class DeliveryRepository(Repository):
    def add_all(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(table_of(WebhookDelivery).insert(), rows)

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
                   WebhookDelivery.attempts, App.client_secret_encrypted)
            .join(App, App.id == WebhookDelivery.app_id)
            .where(WebhookDelivery.lease_token == token, WebhookDelivery.status == DeliveryStatus.PENDING)
            .order_by(WebhookDelivery.id)
        ).all()
        return [ClaimedDelivery(r[0], r[1], token, r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9] + 1, r[10])
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

