"""Webhook subscriptions: who receives an event, and every statement of the subscriptions
(the deliveries' are in ``webhook_deliveries``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)

from ..models import (
    AccessToken,
    Account,
    DeliveryStatus,
    Installation,
    TokenKindName,
    WebhookDelivery,
    WebhookSigningSecret,
    WebhookSubscription,
)
from .base import Repository


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose subscriptions: an installed app's (``app_id``) or a private token's (``token_id``);
    exactly one is set. It also says whose secret signs the deliveries."""

    app_id: int | None = None
    token_id: int | None = None

    def __post_init__(self) -> None:
        if (self.app_id is None) == (self.token_id is None):
            raise ValueError("a subscription belongs to an app or to a private token")

    def condition(self, table: Any) -> Any:
        return table.app_id == self.app_id if self.app_id is not None else table.token_id == self.token_id


@dataclass(frozen=True, slots=True)
class Target:
    """Where an event goes: a subscription of an app or a private token, at its address."""

    subscription_id: int | None
    app_id: int | None
    address: str
    token_id: int | None = None


TOKEN_REVOKED = "The private token was revoked: nothing can sign this delivery any more."

MAX_HINTED = 4096


class SubscriberHint:
    """The (account, topic) pairs last seen with live subscribers, one set per ``Database``: an
    event of such a pair is recorded without its lookup (``DeliveryRepository.add_for_subscribers``
    looks up and inserts in one statement). Only a hint, never the answer: a pair that lost its
    subscribers shows when that insert writes nothing (and is dropped then), and a pair not here
    is looked up. Bounded: full, it starts over. No lock: a set's add, discard and membership
    test are each atomic, and an entry lost to a race only costs one lookup."""

    def __init__(self, max_size: int = MAX_HINTED) -> None:
        self.max_size = max_size
        self._pairs: set[tuple[int, str]] = set()

    def __len__(self) -> int:
        return len(self._pairs)

    def has_subscribers(self, account_id: int, topic: str) -> bool:
        return (account_id, topic) in self._pairs

    def note(self, account_id: int, topic: str, subscribed: bool) -> None:
        key = (account_id, topic)
        if not subscribed:
            self._pairs.discard(key)
        elif key not in self._pairs:
            if len(self._pairs) >= self.max_size:
                self._pairs.clear()
            self._pairs.add(key)


def _live_subscriptions(*columns: Any) -> Any:
    """``columns`` of the live subscriptions to a topic (bound as ``topic``) of apps still
    installed on the account (``account_id``): the one condition of who receives an event."""
    # An app's subscriptions count while it is installed; a private token's are deleted when
    # the token is revoked, so they need no join.
    return (select(*columns)
            .outerjoin(Installation, (Installation.account_id == WebhookSubscription.account_id)
                       & (Installation.app_id == WebhookSubscription.app_id))
            .where(WebhookSubscription.account_id == bindparam("account_id"),
                   WebhookSubscription.topic == bindparam("topic"),
                   WebhookSubscription.disabled_at.is_(None),
                   or_(Installation.id.is_not(None) & Installation.uninstalled_at.is_(None),
                       WebhookSubscription.token_id.is_not(None)))
            .order_by(WebhookSubscription.id))


def _targets_statement() -> Any:
    return _live_subscriptions(WebhookSubscription.id, WebhookSubscription.app_id, WebhookSubscription.address,
                               WebhookSubscription.token_id)


def _owner_of_token_statement() -> Any:
    return (select(AccessToken.kind, Installation.app_id)
            .outerjoin(Installation, AccessToken.installation_id == Installation.id)
            .where(AccessToken.id == bindparam("token_id")))


def _subscription_rows_statement() -> Any:
    # One of the two owner parameters is None, and ``= NULL`` matches nothing.
    t = WebhookSubscription.__table__
    return (select(t.c.id, t.c.topic, t.c.address, t.c.created_at, t.c.updated_at, t.c.disabled_at,
                   t.c.disabled_reason)
            .where(t.c.account_id == bindparam("account_id"),
                   or_(t.c.app_id == bindparam("app_id"), t.c.token_id == bindparam("token_id")))
            .order_by(t.c.id).limit(bindparam("limit")))


class SubscriptionRepository(Repository):
    def targets(self, account_id: int, topic: str) -> list[Target]:
        """The live subscriptions to ``topic`` of apps still installed on the account. Every
        mutation asks, mostly to hear "none": on the driver, where a lookup costs a fraction
        of SQLAlchemy's execution of it (``driver_statements``)."""
        rows = self.tx.rows(self.tx.statement("webhook_targets", _targets_statement),
                            {"account_id": account_id, "topic": topic})
        return [Target(row[0], row[1], row[2], row[3]) for row in rows]

    def owner_of_token(self, token_id: int) -> Owner | None:
        """Whose subscriptions a bearer token manages: its installation's app, or the private
        token itself (on the driver: the API asks on every ``webhooks`` query and webhook
        mutation)."""
        rows = self.tx.rows(self.tx.statement("webhooks_owner_of_token", _owner_of_token_statement),
                            {"token_id": token_id})
        if not rows:
            return None
        kind, app_id = rows[0]
        if kind == TokenKindName.PRIVATE.value:
            return Owner(token_id=token_id)
        return Owner(app_id=int(app_id)) if app_id is not None else None

    def rows_of(self, account_id: int, owner: Owner, limit: int) -> list[dict[str, Any]]:
        """An owner's subscriptions as plain rows, oldest first (on the driver, as above)."""
        read = self.tx.statement("webhooks_subscription_rows", _subscription_rows_statement)
        values = {"account_id": account_id, "app_id": owner.app_id, "token_id": owner.token_id, "limit": limit}
        return [dict(zip(read.columns, row, strict=True)) for row in self.tx.rows(read, values)]

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

    def delete_of_token(self, token_id: int, now: dt.datetime) -> None:
        """A revoked private token's subscriptions, its signing secret, and its deliveries still
        pending (failed: nothing could sign them any more)."""
        self.session.execute(delete(WebhookSubscription).where(WebhookSubscription.token_id == token_id))
        self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.token_id == token_id, WebhookDelivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.FAILED, next_attempt_at=None, lease_until=None, lease_token=None,
                    last_error=TOKEN_REVOKED)
            .execution_options(synchronize_session=False))
        self.session.execute(delete(WebhookSigningSecret).where(WebhookSigningSecret.token_id == token_id))

    def signing_secret(self, token_id: int) -> WebhookSigningSecret | None:
        return self.session.get(WebhookSigningSecret, token_id)

    def set_signing_secret(self, token_id: int, secret_encrypted: str, now: dt.datetime) -> None:
        """Store (or replace: a rotation) a private token's encrypted signing secret."""
        found = self.session.get(WebhookSigningSecret, token_id)
        if found is None:
            self.session.add(WebhookSigningSecret(token_id=token_id, secret_encrypted=secret_encrypted,
                                                  created_at=now))
        else:
            found.secret_encrypted = secret_encrypted
            found.rotated_at = now
        self.session.flush()

    def count_of_tokens(self, token_ids: list[int]) -> dict[int, int]:
        """How many subscriptions each of these private tokens has."""
        if not token_ids:
            return {}
        rows = self.session.execute(
            select(WebhookSubscription.token_id, func.count()).where(WebhookSubscription.token_id.in_(token_ids))
            .group_by(WebhookSubscription.token_id)).all()
        return {int(row[0] or 0): int(row[1]) for row in rows}

    def list_for(self, account_id: int, app_id: int, *, after_id: int = 0, limit: int = 100) -> list[WebhookSubscription]:
        return list(self.session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.account_id == account_id, WebhookSubscription.app_id == app_id,
                   WebhookSubscription.id > after_id)
            .order_by(WebhookSubscription.id).limit(limit)
        ))

    def count_for(self, account_id: int, owner: Owner) -> int:
        return int(self.session.scalar(select(func.count()).select_from(WebhookSubscription).where(
            WebhookSubscription.account_id == account_id, owner.condition(WebhookSubscription))) or 0)

    def list_for_app(self, app_id: int) -> list[tuple[WebhookSubscription, str]]:
        rows = self.session.execute(
            select(WebhookSubscription, Account.name).join(Account, Account.id == WebhookSubscription.account_id)
            .where(WebhookSubscription.app_id == app_id).order_by(Account.name, WebhookSubscription.id)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def get(self, account_id: int, owner: Owner, subscription_id: int) -> WebhookSubscription | None:
        return self.session.scalar(select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id, WebhookSubscription.account_id == account_id,
            owner.condition(WebhookSubscription)))

    def get_of_app(self, app_id: int, subscription_id: int) -> WebhookSubscription | None:
        return self.session.scalar(select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id, WebhookSubscription.app_id == app_id))

    def find(self, account_id: int, owner: Owner, topic: str, address: str) -> WebhookSubscription | None:
        return self.session.scalar(select(WebhookSubscription).where(
            WebhookSubscription.account_id == account_id, owner.condition(WebhookSubscription),
            WebhookSubscription.topic == topic, WebhookSubscription.address == address))

    def add(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self.session.add(subscription)
        self.session.flush()
        return subscription

    def remove(self, subscription: WebhookSubscription) -> None:
        self.session.delete(subscription)
        self.session.flush()
