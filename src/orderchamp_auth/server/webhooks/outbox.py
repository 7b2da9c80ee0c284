"""Recording events: the one function every writer calls, inside its own transaction.

The delivery rows are written in the writer's transaction (a transactional outbox): a change
that rolls back leaves no event, and one that commits leaves its deliveries for the worker,
whatever happens to the process afterwards. Nothing is sent from here.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ...protocol.global_ids import encode_global_id
from ...protocol.times import iso_utc
from ..store.database import utcnow
from ..store.models import DeliveryStatus
from ..store.repositories.webhooks import Target
from ..store.transaction import Transaction
from .topics import APP_UNINSTALLED, TOPICS

Payload = dict[str, Any] | Callable[[], dict[str, Any]]
# (tx, account id, topic, object id) -> the payload of the object, in the API's shape
# (``api.webhook_payloads.api_payload``): handed to writers outside the API by who wires them, so
# that the pages never import the API (they are independent layers).
ObjectPayloads = Callable[[Transaction, int, str, int], dict[str, Any]]

# Called (from the committing thread) after a transaction that recorded deliveries commits,
# so that a worker in this process sends them without waiting for its next poll.
_committed_listeners: list[Callable[[], None]] = []
_listeners_lock = threading.Lock()
MAX_LISTENERS = 8  # one per worker in a process


def on_commit(listener: Callable[[], None]) -> Callable[[], None]:
    """Register ``listener``; returns the function that unregisters it."""
    with _listeners_lock:
        if len(_committed_listeners) >= MAX_LISTENERS:
            raise RuntimeError("too many webhook workers in one process")
        _committed_listeners.append(listener)

    def remove() -> None:
        with _listeners_lock:
            if listener in _committed_listeners:
                _committed_listeners.remove(listener)

    return remove


def _notify() -> None:
    for listener in list(_committed_listeners):
        listener()


def record_event(tx: Transaction, account_id: int, topic: str, payload: Payload, *,
                 app_id: int | None = None, now: dt.datetime | None = None) -> int:
    """Record ``topic`` for the account's subscribers, in the writer's transaction ``tx``.

    ``payload`` may be a function: it runs only when someone subscribed, so a change nobody
    listens to costs one indexed lookup. An account and topic known to have subscribers (the
    database's ``SubscriberHint``) skip that lookup: the payload is built first and the
    deliveries are written with the lookup folded into their insert. ``APP_UNINSTALLED`` goes
    to the app ``app_id`` at every address it subscribed with on the account, whatever the
    topics. How many deliveries were recorded.
    """
    hint = tx.subscriber_hint if app_id is None and topic != APP_UNINSTALLED else None
    if hint is not None and hint.has_subscribers(account_id, topic):
        now = now or utcnow()
        recorded = tx.webhook_deliveries.add_for_subscribers(account_id, topic, _body(payload), now)
        if recorded:
            _notify_after(tx)
        else:
            hint.note(account_id, topic, False)  # they went: look up again next time
        return recorded
    targets = _targets(tx, account_id, topic, app_id)
    if hint is not None:
        hint.note(account_id, topic, bool(targets))
    if not targets:
        return 0
    return len(enqueue(tx, account_id, topic, payload, targets, now=now))


def record_events(tx: Transaction, account_id: int, topic: str, payloads: Sequence[Payload], *,
                  now: dt.datetime | None = None) -> int:
    """``record_event`` for many objects of one topic at once (a seeding): the subscribers are
    looked up once, and with none the payloads are never built. How many deliveries."""
    targets = _targets(tx, account_id, topic, None) if payloads else []
    if not targets:
        return 0
    return sum(len(enqueue(tx, account_id, topic, payload, targets, now=now)) for payload in payloads)


def _targets(tx: Transaction, account_id: int, topic: str, app_id: int | None) -> list[Target]:
    if topic not in TOPICS:
        raise ValueError(f"unknown webhook topic {topic!r}")
    subscriptions = tx.webhook_subscriptions
    if topic == APP_UNINSTALLED:
        assert app_id is not None
        return [Target(None, app_id, address) for address in subscriptions.addresses_of_app(account_id, app_id)]
    targets = subscriptions.targets(account_id, topic)
    return targets if app_id is None else [t for t in targets if t.app_id == app_id]


def enqueue(tx: Transaction, account_id: int, topic: str, payload: Payload, targets: list[Target], *,
            now: dt.datetime | None = None, is_test: bool = False) -> list[str]:
    """One delivery per target of this payload (built here if a function), each under a
    webhook id of its own; the ids."""
    now = now or utcnow()
    body = _body(payload)
    ids = [str(uuid.uuid4()) for _ in targets]
    tx.webhook_deliveries.add_all([{
        "webhook_id": webhook_id, "subscription_id": target.subscription_id, "app_id": target.app_id,
        "token_id": target.token_id,
        "account_id": account_id, "topic": topic, "address": target.address, "body": body,
        "occurred_at": now, "is_test": is_test, "status": DeliveryStatus.PENDING, "attempts": 0,
        "next_attempt_at": now, "last_error": "", "created_at": now,
    } for webhook_id, target in zip(ids, targets, strict=True)])
    _notify_after(tx)
    return ids


def _body(payload: Payload) -> str:
    return orjson.dumps(payload() if callable(payload) else payload).decode("utf-8")


def _notify_after(tx: Transaction) -> None:
    if _committed_listeners:
        tx.after_commit(_notify)  # once per transaction, however many events it recorded


def uninstalled_payload(client_id: str, account_id: int, now: dt.datetime) -> dict[str, Any]:
    """``APP_UNINSTALLED``: the app's tokens were revoked in the same transaction."""
    return {"data": {"appUninstalled": {
        "app": {"clientId": client_id},
        "account": {"id": encode_global_id("Account", account_id)},
        "uninstalledAt": iso_utc(now),
        "tokensRevoked": True,
    }}}


def test_payload(topic: str, account_id: int, now: dt.datetime) -> dict[str, Any]:
    """What "Send a test event" sends: the topic's shape, marked as a test."""
    return {"data": {"test": True, "topic": topic, "account": {"id": encode_global_id("Account", account_id)},
                     "sentAt": iso_utc(now)}}
