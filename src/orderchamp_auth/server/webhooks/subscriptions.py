"""Creating, changing and removing an installation's webhook subscriptions: the rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ...protocol.scopes import ScopeSet
from ..store.repositories.webhooks import DeliveryRepository, SubscriptionRepository, Target
from ..store.webhook_models import WebhookSubscription
from .addresses import check_address
from .outbox import enqueue, test_payload
from .topics import TOPICS

MAX_SUBSCRIPTIONS = 100  # per installation: far more than an app has topics


class SubscriptionError(Exception):
    """Bad input for a subscription; ``field`` names the input field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _checked_address(address: Any, allow_loopback: bool) -> str:
    if not isinstance(address, str):
        raise SubscriptionError("address", "The address is required.")
    address = address.strip()
    problem = check_address(address, allow_loopback=allow_loopback)
    if problem:
        raise SubscriptionError("address", problem)
    return address


def create_subscription(session: Session, *, account_id: int, app_id: int, scopes: ScopeSet, topic: str,
                        address: Any, allow_loopback: bool, now: dt.datetime) -> WebhookSubscription:
    if topic not in TOPICS:
        raise SubscriptionError("topic", "Unknown topic.")
    needed = TOPICS[topic]
    if needed is not None and needed not in scopes:
        raise SubscriptionError("topic", f"The topic {topic} needs the {needed.value} scope.")
    address = _checked_address(address, allow_loopback)
    repository = SubscriptionRepository(session)
    if repository.find(account_id, app_id, topic, address) is not None:
        raise SubscriptionError("address", "The app already has a subscription to this topic at this address.")
    if repository.count_for(account_id, app_id) >= MAX_SUBSCRIPTIONS:
        raise SubscriptionError("topic", f"An app can have at most {MAX_SUBSCRIPTIONS} subscriptions per account.")
    return repository.add(WebhookSubscription(account_id=account_id, app_id=app_id, topic=topic, address=address,
                                              created_at=now, updated_at=now, disabled_reason=""))


def update_subscription(session: Session, subscription: WebhookSubscription, *, address: Any,
                        allow_loopback: bool, now: dt.datetime) -> WebhookSubscription:
    """A new address, if given; either way a disabled subscription is enabled again."""
    if address is not None:
        address = _checked_address(address, allow_loopback)
        if address != subscription.address and SubscriptionRepository(session).find(
                subscription.account_id, subscription.app_id, subscription.topic, address) is not None:
            raise SubscriptionError("address", "The app already has a subscription to this topic at this address.")
        subscription.address = address
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.failing_since = None
    subscription.updated_at = now
    session.flush()
    return subscription


def send_test_event(session: Session, app_id: int, subscription_id: int, now: dt.datetime) -> str | None:
    """Queue a test event of the subscription's topic to its address; the webhook id (None:
    no such subscription of this app)."""
    subscription = SubscriptionRepository(session).get_of_app(app_id, subscription_id)
    if subscription is None:
        return None
    target = Target(subscription.id, app_id, subscription.address)
    (webhook_id,) = enqueue(session, subscription.account_id, subscription.topic,
                            test_payload(subscription.topic, subscription.account_id, now), [target],
                            now=now, is_test=True)
    return webhook_id


def redeliver(session: Session, app_id: int, delivery_id: int, now: dt.datetime) -> str | None:
    """Send a delivery of this app again, now, under its webhook id; the id (None: not found)."""
    deliveries = DeliveryRepository(session)
    delivery = deliveries.get(delivery_id)
    if delivery is None or delivery.app_id != app_id:
        return None
    deliveries.requeue(delivery, now)
    return delivery.webhook_id
