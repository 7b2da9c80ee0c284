"""``orderchamp-auth worker`` and ``orderchamp-auth webhook trigger``."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from ..settings import Settings
from ..store.database import utcnow
from ..store.repositories.webhooks import SubscriptionRepository, Target
from .outbox import enqueue, test_payload
from .topics import TOPICS


class TriggerError(Exception):
    pass


def cmd_worker(_args: argparse.Namespace, settings: Settings) -> int:
    """Deliver webhooks until SIGINT or SIGTERM; a delivery cut short is sent again later."""
    from ..app import build_platform
    from .worker import running, worker_from_settings

    platform = build_platform(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with running(worker_from_settings(settings, platform.database, platform.secret_box)):
            print("delivering webhooks; stop with Ctrl-C", flush=True)
            await stop.wait()

    try:
        asyncio.run(main())
    finally:
        platform.database.dispose()
    return 0


def trigger(db: Any, *, app_id: int, account_id: int, topic: str) -> list[str]:
    """A test event of ``topic`` to the app's subscriptions to it on the account; the webhook ids."""
    if topic not in TOPICS:
        raise TriggerError(f"unknown topic {topic!r}; the topics are {', '.join(TOPICS)}")
    subscriptions = SubscriptionRepository(db)
    targets = [t for t in subscriptions.targets(account_id, topic) if t.app_id == app_id]
    if not targets:
        # Any address the app subscribed with: a test of a topic it has not subscribed to yet.
        targets = [Target(None, app_id, a) for a in subscriptions.addresses_of_app(account_id, app_id)]
    if not targets:
        raise TriggerError("the app has no webhook subscription on this account")
    now = utcnow()
    return enqueue(db, account_id, topic, test_payload(topic, account_id, now), targets, now=now, is_test=True)
