"""Creating, changing and removing an installation's webhook subscriptions: the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ...protocol.scopes import ScopeSet
from ..store.database import utcnow
from ..store.models import WebhookSubscription
from ..store.repositories.webhooks import Owner, Target
from ..store.transaction import Transaction
from .addresses import check_address
from .outbox import enqueue, test_payload
from .topics import TOPICS

MAX_SUBSCRIPTIONS = 100  # per installation or private token: far more than an app has topics


_DUPLICATE = "There already is a subscription to this topic at this address."


class SubscriptionError(Exception):
    """Bad input for a subscription; ``field`` names the input field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _checked_address(address: Any, allow_loopback: bool, looked_up: Mapping[str, str | None]) -> str:
    """The address, stripped, if its form is right and its lookup (``check_addresses``, made
    before the transaction) found it public."""
    if not isinstance(address, str):
        raise SubscriptionError("address", "The address is required.")
    address = address.strip()
    problem = check_address(address, allow_loopback=allow_loopback)
    if problem is None:
        problem = looked_up.get(address, "The address could not be checked.")
    if problem:
        raise SubscriptionError("address", problem)
    return address


def create_subscription(tx: Transaction, *, account_id: int, owner: Owner, scopes: ScopeSet, topic: str,
                        address: Any, allow_loopback: bool, looked_up: Mapping[str, str | None],
                        now: dt.datetime) -> WebhookSubscription:
    if topic not in TOPICS:
        raise SubscriptionError("topic", "Unknown topic.")
    needed = TOPICS[topic]
    if needed is not None and needed not in scopes:
        raise SubscriptionError("topic", f"The topic {topic} needs the {needed.value} scope.")
    address = _checked_address(address, allow_loopback, looked_up)
    repository = tx.webhook_subscriptions
    if repository.find(account_id, owner, topic, address) is not None:
        raise SubscriptionError("address", _DUPLICATE)
    if repository.count_for(account_id, owner) >= MAX_SUBSCRIPTIONS:
        raise SubscriptionError("topic", f"At most {MAX_SUBSCRIPTIONS} subscriptions per app or token and account.")
    return repository.add(WebhookSubscription(account_id=account_id, app_id=owner.app_id, token_id=owner.token_id,
                                              topic=topic, address=address, created_at=now, updated_at=now,
                                              disabled_reason=""))


def update_subscription(tx: Transaction, subscription: WebhookSubscription, *, address: Any,
                        allow_loopback: bool, looked_up: Mapping[str, str | None],
                        now: dt.datetime) -> WebhookSubscription:
    """A new address, if given; either way a disabled subscription is enabled again."""
    if address is not None:
        address = _checked_address(address, allow_loopback, looked_up)
        owner = Owner(subscription.app_id, subscription.token_id)
        if address != subscription.address and tx.webhook_subscriptions.find(
                subscription.account_id, owner, subscription.topic, address) is not None:
            raise SubscriptionError("address", _DUPLICATE)
        subscription.address = address
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.failing_since = None
    subscription.updated_at = now
    tx.flush()
    return subscription


def send_test_event(tx: Transaction, app_id: int, subscription_id: int, now: dt.datetime) -> str | None:
    """Queue a test event of the subscription's topic to its address; the webhook id (None:
    no such subscription of this app)."""
    subscription = tx.webhook_subscriptions.get_of_app(app_id, subscription_id)
    if subscription is None:
        return None
    target = Target(subscription.id, app_id, subscription.address)
    (webhook_id,) = enqueue(tx, subscription.account_id, subscription.topic,
                            test_payload(subscription.topic, subscription.account_id, now), [target],
                            now=now, is_test=True)
    return webhook_id


def redeliver(tx: Transaction, app_id: int, delivery_id: int, now: dt.datetime) -> str | None:
    """Send a delivery of this app again, now, under its webhook id; the id (None: not found)."""
    deliveries = tx.webhook_deliveries
    delivery = deliveries.get(delivery_id)
    if delivery is None or delivery.app_id != app_id:
        return None
    deliveries.requeue(delivery, now)
    return delivery.webhook_id


class TriggerError(Exception):
    """Why ``trigger_test_event`` queued nothing, in one line."""


def trigger_test_event(tx: Transaction, *, app_id: int, account_id: int, topic: str) -> list[str]:
    """A test event of ``topic`` to the app's subscriptions to it on the account (``orderchamp-auth
    webhook trigger``); the webhook ids."""
    if topic not in TOPICS:
        raise TriggerError(f"unknown topic {topic!r}; the topics are {', '.join(TOPICS)}")
    subscriptions = tx.webhook_subscriptions
    targets = [t for t in subscriptions.targets(account_id, topic) if t.app_id == app_id]
    if not targets:
        # Any address the app subscribed with: a test of a topic it has not subscribed to yet.
        targets = [Target(None, app_id, a) for a in subscriptions.addresses_of_app(account_id, app_id)]
    if not targets:
        raise TriggerError("the app has no webhook subscription on this account")
    now = utcnow()
    return enqueue(tx, account_id, topic, test_payload(topic, account_id, now), targets, now=now, is_test=True)
