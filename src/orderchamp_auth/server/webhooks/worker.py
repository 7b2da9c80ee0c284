"""The delivery worker: claims due deliveries, sends them, records what happened.

Runs inside ``serve`` (a task of the app's lifespan) and as ``orderchamp-auth worker``. The
event loop only sends: claiming and recording are database work and run in a thread. A claim
is a lease (``DeliveryRepository.claim``): a worker stopped or killed between claim and send
loses nothing, the delivery is due again when its lease runs out and goes with the same
webhook id and attempt number.

Retries follow ``RetrySchedule``: the delay before each next attempt, spread by a random
``jitter`` so that a receiver that was down is not hit by every retry at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache

import anyio
import anyio.to_thread

from ...protocol.global_ids import encode_global_id
from ...protocol.signing import compute_signature
from ...protocol.times import iso_utc
from ..keys import SecretBox
from ..settings import Settings
from ..store.database import Database, utcnow
from ..store.repositories.webhook_deliveries import AttemptOutcome, ClaimedDelivery
from ..store.repositories.webhooks import TOKEN_REVOKED
from .addresses import resolver_for
from .outbox import on_commit
from .sender import SafeSender

log = logging.getLogger(__name__)

# Eight attempts over about four hours: the first at once, then after these many seconds.
DEFAULT_RETRY_DELAYS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 3600.0, 3600.0)
DEFAULT_LEASE = 30.0  # seconds: well past one attempt's timeout
DISABLE_AFTER = dt.timedelta(days=1)
BATCH = 20  # deliveries claimed at once, sent concurrently
MAX_IDLE_WAIT = 1.0  # seconds between polls when nothing was due


@dataclass(frozen=True)
class RetrySchedule:
    delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    jitter: float = 0.2  # each delay is spread by up to this fraction either way

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1

    def next_attempt(self, attempt: int, now: dt.datetime) -> dt.datetime | None:
        """When attempt ``attempt + 1`` is due after attempt ``attempt`` failed; None: no more."""
        if attempt >= self.attempts:
            return None
        delay = self.delays[attempt - 1]
        spread = random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311 - jitter, not a secret
        return now + dt.timedelta(seconds=delay * spread)

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """``"60,300,900"``: the delays in seconds before attempts 2, 3, 4."""
        delays = tuple(float(part) for part in text.split(",") if part.strip())
        if not delays or any(d < 0 or d > 7 * 86400 for d in delays) or len(delays) > 50:
            raise ValueError("a retry schedule is 1 to 50 delays of 0 to 604800 seconds, comma-separated")
        return cls(delays)


@dataclass(frozen=True)
class WorkerConfig:
    schedule: RetrySchedule = RetrySchedule()
    lease: float = DEFAULT_LEASE
    poll_interval: float = 0.25
    batch: int = BATCH
    disable_after: dt.timedelta = DISABLE_AFTER


class DeliveryWorker:
    def __init__(self, database: Database, box: SecretBox, sender: SafeSender, config: WorkerConfig) -> None:
        self.database = database
        self.sender = sender
        self.config = config
        self._secret = lru_cache(maxsize=1024)(box.decrypt)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.delivered = 0
        self.failed_attempts = 0

    # -- database work, in a thread

    def claim(self) -> list[ClaimedDelivery]:
        now = utcnow()
        # A read first: an idle worker's polls then never take SQLite's write lock.
        with self.database.read() as tx:
            if not tx.webhook_deliveries.any_due(now):
                return []
        with self.database.write() as tx:
            return tx.webhook_deliveries.claim(now, now + dt.timedelta(seconds=self.config.lease),
                                                     secrets.token_hex(16), self.config.batch)

    def record(self, results: list[tuple[ClaimedDelivery, AttemptOutcome]]) -> None:
        """A pass's attempts, in one transaction (one write per pass, not per delivery)."""
        now = utcnow()
        with self.database.write() as tx:
            deliveries = tx.webhook_deliveries
            for delivery, outcome in results:
                retry_at = None if outcome.succeeded or outcome.final else self.config.schedule.next_attempt(
                    delivery.attempt, now)
                if not deliveries.finish(delivery, outcome, retry_at=retry_at, now=now):
                    log.info("webhook %s: lease lost before its attempt was recorded", delivery.webhook_id)
                    continue
                if delivery.subscription_id is not None:
                    reason = f"Every delivery failed for {self.config.disable_after}; last: {outcome.error}"
                    deliveries.note_subscription_result(delivery.subscription_id, outcome.succeeded, now,
                                                        self.config.disable_after, reason[:1000])

    # -- sending, on the loop

    def headers(self, delivery: ClaimedDelivery, secret_encrypted: str) -> dict[str, str]:
        body = delivery.body.encode("utf-8")
        return {
            "Content-Type": "application/json",
            "User-Agent": "Orderchamp-Webhooks/1",
            "X-Orderchamp-Account-Id": encode_global_id("Account", delivery.account_id),
            "X-Orderchamp-Event": delivery.topic,
            "X-Orderchamp-Webhook-Id": delivery.webhook_id,
            "X-Orderchamp-Attempt": str(delivery.attempt),
            "X-Orderchamp-Triggered-At": iso_utc(delivery.occurred_at),
            # Signed with the app's (or private token's) current secret, as it is at this attempt.
            "X-Orderchamp-Signature": compute_signature(body, self._secret(secret_encrypted)),
        }

    async def deliver(self, delivery: ClaimedDelivery) -> AttemptOutcome:
        if delivery.secret_encrypted is None:
            # A private token revoked after this delivery was claimed: its secret is gone.
            self.failed_attempts += 1
            return AttemptOutcome(utcnow(), 0, None, TOKEN_REVOKED, "", "", final=True)
        outcome = await self.sender.post(delivery.address, delivery.body.encode("utf-8"),
                                         self.headers(delivery, delivery.secret_encrypted))
        if outcome.succeeded:
            self.delivered += 1
        else:
            self.failed_attempts += 1
            owner = f"app {delivery.app_id}" if delivery.app_id is not None else f"private token {delivery.token_id}"
            log.info("webhook %s attempt %d to %s failed: %s", delivery.webhook_id, delivery.attempt, owner,
                     outcome.error)
        return outcome

    async def run_once(self) -> int:
        """Claim one batch, send it (concurrently), record what happened; how many were claimed."""
        claimed = await anyio.to_thread.run_sync(self.claim)
        if not claimed:
            return 0
        outcomes: list[AttemptOutcome | None] = [None] * len(claimed)

        async def send(index: int, delivery: ClaimedDelivery) -> None:
            outcomes[index] = await self.deliver(delivery)

        async with anyio.create_task_group() as group:
            for index, delivery in enumerate(claimed):
                group.start_soon(send, index, delivery)
        results = [(d, o) for d, o in zip(claimed, outcomes, strict=True) if o is not None]
        await anyio.to_thread.run_sync(self.record, results)
        return len(claimed)

    def wake(self) -> None:
        """From any thread, the loop's too: something was recorded, look now."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass  # the loop is closed: the worker has stopped

    async def run(self) -> None:
        """Until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        while True:
            wake.clear()  # a wake-up during the pass below makes the wait after it return at once
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("the webhook worker's pass failed; it tries again")
                claimed = 0
            if claimed >= self.config.batch:
                continue
            with anyio.move_on_after(min(self.config.poll_interval, MAX_IDLE_WAIT)):
                await wake.wait()


def worker_from_settings(settings: Settings, database: Database, box: SecretBox) -> DeliveryWorker:
    schedule = RetrySchedule(settings.webhook_retry_delays) if settings.webhook_retry_delays else RetrySchedule()
    config = WorkerConfig(schedule=schedule, lease=settings.webhook_lease_ms / 1000,
                          poll_interval=settings.webhook_poll_ms / 1000)
    sender = SafeSender(allow_loopback=settings.webhook_allow_loopback, resolver=resolver_for(settings.webhook_hosts))
    return DeliveryWorker(database, box, sender, config)


@asynccontextmanager
async def running(worker: DeliveryWorker) -> AsyncIterator[DeliveryWorker]:
    """The worker running as a task of the current loop (woken by commits of this process)."""
    remove = on_commit(worker.wake)
    task = asyncio.create_task(worker.run(), name="webhook-worker")
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        remove()
        await worker.sender.aclose()
