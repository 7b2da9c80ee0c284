"""Buckets in Redis, for many hosts: every reservation and refund is decided by a Lua script on
the Redis server, atomic there and timed by its clock (hosts' clocks may differ; Redis has one).

A round trip per request would cost more than the request, so a worker sends its reservations
in batches: the reservations and refunds queued while one batch is on its way go out together,
in order, as one script call that decides each of them in turn, exactly as the same calls one
by one would. A refund is queued, not awaited: it reaches Redis with the next batch, before any
reservation queued after it. The queue is bounded; past the bound a request is decided by this
worker's own buckets.

The one command this needs goes on the worker's own connection (``redis_wire``), an asyncio protocol that writes
the command's bytes itself and reads the answers with hiredis (redis-py's connection, even
without its client and pool, cost a worker more CPU per batch than the rest of a small request):
no task and no timeout context per batch, one timer per batch on its way, and the next batch
leaves from the callback that read the answer to the last.

Redis down, slow or unreachable: the request goes on (fail open) against this worker's own
buckets, which still stop one client from taking the worker. The failure is logged once per
outage and counted; Redis is tried again after a pause that doubles up to a bound, and used
again as soon as it answers. No batch waits for Redis longer than ``timeout`` (connecting
included); when one does not answer in time, it and everything queued behind it are decided
by this worker's own buckets at once, refunds included. A reservation waits for the batches
ahead of it and its own: at most ``max_queued / max_batch`` and one more (17 by default; in
practice the one on its way).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .bucket import Limits, Reservation
from .local import LocalBuckets
from .redis_wire import (
    SCRIPT,
    SCRIPT_SHA,
    RedisConnection,
    RedisUnavailable,
    bulk,
    connection_options,
    open_connection,
)

log = logging.getLogger(__name__)

# "b2": a bucket is one string (below); session 7's were hashes, which this script cannot read
KEY_PREFIX = "orderchamp:ratelimit:b2:"
DEFAULT_TIMEOUT = 0.1  # seconds (ORDERCHAMP_REDIS_TIMEOUT_MS)
FIRST_PAUSE = 0.5  # seconds before trying Redis again after a failure, doubling...
MAX_PAUSE = 30.0  # ...up to this
MAX_BATCH = 256  # reservations and refunds in one script call
MAX_QUEUED = 4096  # waiting for a batch; past it, this worker's own buckets decide
MAX_ENCODED_KEYS = 10_000  # keys whose command bytes are remembered

# (key, amount as sent, the reservation's future or None for a refund)
_Entry = tuple[str, int, "asyncio.Future[Reservation] | None"]


class RedisBuckets:
    """``redis_clock``: for tests, the time the script reckons with instead of Redis's own."""

    def __init__(self, url: str, limits: Limits, *, timeout: float = DEFAULT_TIMEOUT,
                 on_failure: Callable[[], None] | None = None, clock: Callable[[], float] = time.monotonic,
                 redis_clock: Callable[[], float] | None = None, key_prefix: str = KEY_PREFIX,
                 max_batch: int = MAX_BATCH, max_queued: int = MAX_QUEUED) -> None:
        self.url = url
        self.limits = limits
        self.timeout = timeout
        self.fallback = LocalBuckets(limits)
        self.on_failure = on_failure
        self.clock = clock
        self.redis_clock = redis_clock
        self.key_prefix = key_prefix
        self.max_batch = max_batch
        self.max_queued = max_queued
        self.failures = 0  # batches that failed and fell back (tests and metrics read it)
        self.round_trips = 0  # script calls sent (tests and the benchmark read it)
        self.overflows = 0  # entries decided locally because the queue was full
        self._queue: list[_Entry] = []
        self._on_its_way: list[_Entry] | None = None  # the batch sent, not answered yet
        self._due = 0.0  # loop time: the batch on its way is answered by then, or decided locally
        self._watchdog: asyncio.TimerHandle | None = None
        self._scheduled = False  # a _send_next is on the loop's list
        self._loop: asyncio.AbstractEventLoop | None = None  # the event loop all below belongs to
        self._connection: RedisConnection | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._connect_deadline = 0.0  # loop time: the first batch's answer is due by then too
        self._idle: list[asyncio.Future[None]] = []  # flush()es waiting
        self._pause = 0.0
        self._retry_at = 0.0
        self._down = False
        self._keys: dict[str, bytes] = {}  # key -> its bulk string in the command
        self._head = (bulk(str(limits.capacity).encode()) + bulk(repr(float(limits.restore_rate)).encode()))

    @property
    def is_down(self) -> bool:
        return self._down

    def reserve(self, key: str, cost: int) -> Awaitable[Reservation]:
        # a future, not a coroutine around it: a frame less to make and to resume per request
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reservation] = loop.create_future()
        if self._without_redis():
            future.set_result(self.fallback.reserve_now(key, cost))
            return future
        self._enqueue((key, cost, future), loop)
        return future

    def reserve_now(self, key: str, cost: int) -> Reservation | None:
        """This worker's own buckets' answer while Redis is paused or the queue is full; else
        None: Redis decides."""
        if self._without_redis():
            return self.fallback.reserve_now(key, cost)
        return None

    def refund_soon(self, key: str, points: int) -> None:
        if points <= 0:
            return
        if self._without_redis():
            self.fallback.refund_now(key, points)
            return
        self._enqueue((key, -points, None), asyncio.get_running_loop())

    async def refund(self, key: str, points: int) -> None:
        self.refund_soon(key, points)

    def _without_redis(self) -> bool:
        if self._paused():
            return True
        if len(self._queue) >= self.max_queued:
            self.overflows += 1
            return True
        return False

    def _enqueue(self, entry: _Entry, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:
            self._on_loop(loop)
        self._queue.append(entry)
        if not self._scheduled and self._on_its_way is None and self._connecting is None:
            self._scheduled = True
            loop.call_soon(self._send_next)  # after the requests ready now have queued theirs

    def _on_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Used from another event loop than before (an app served again, as tests do): what was
        the old loop's (its connection, timer, batch on its way) is of no use here, and waiting
        for it would wait forever. Its refunds go to this worker's own buckets."""
        self._loop = loop
        for key, amount, future in self._take_all() + (self._on_its_way or []):
            if future is None:
                self.fallback.refund_now(key, -amount)
        self._on_its_way = None
        self._scheduled = False
        self._connection = self._watchdog = self._connecting = None
        self._connect_deadline = 0.0
        self._idle = []

    async def flush(self) -> None:
        """Wait until everything queued so far has been decided (tests, and closing)."""
        if asyncio.get_running_loop() is not self._loop:
            self._on_loop(asyncio.get_running_loop())
        while self._queue or self._on_its_way is not None or self._connecting is not None:
            idle: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._idle.append(idle)
            if not self._scheduled and self._on_its_way is None and self._connecting is None:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._send_next)
            await idle

    async def aclose(self) -> None:
        await self.flush()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- the pipeline: one batch on its way at a time; what queues meanwhile is the next batch

    def _send_next(self) -> None:
        self._scheduled = False
        if self._on_its_way is not None or self._connecting is not None:
            return
        if not self._queue:
            self._wake_flushes()
            return
        if self._paused():
            self._decide_locally(self._take_all())
            self._wake_flushes()
            return
        connection = self._connection
        if connection is None:
            self._connecting = asyncio.get_running_loop().create_task(self._connect())
            return
        batch = self._queue[:self.max_batch]
        del self._queue[:self.max_batch]
        self._on_its_way = batch
        self.round_trips += 1
        loop = asyncio.get_running_loop()
        due = loop.time() + self.timeout
        if self._connect_deadline:  # the first batch on a new connection: connecting counts too
            due, self._connect_deadline = min(due, self._connect_deadline), 0.0
        self._due = due
        if self._watchdog is None:
            self._watchdog = loop.call_at(due, self._watch)
        connection.send(self._script_call(batch, b"EVALSHA", SCRIPT_SHA), lambda answer: self._answered(batch, answer))

    def _script_call(self, batch: list[_Entry], command: bytes, script: bytes) -> bytes:
        keys = self._keys
        if len(keys) > MAX_ENCODED_KEYS:
            keys.clear()
        parts = [b"*%d\r\n" % (2 * len(batch) + 6), bulk(command), bulk(script), bulk(b"%d" % len(batch))]
        for key, _, _ in batch:
            encoded = keys.get(key)
            if encoded is None:
                encoded = keys[key] = bulk((self.key_prefix + key).encode())
            parts.append(encoded)
        parts.append(self._head)
        parts.append(bulk(b"") if self.redis_clock is None else bulk(repr(self.redis_clock()).encode()))
        for _, amount, _ in batch:
            digits = b"%d" % amount
            parts.append(b"$%d\r\n%s\r\n" % (len(digits), digits))
        return b"".join(parts)

    def _answered(self, batch: list[_Entry], answer: Any) -> None:
        if self._on_its_way is not batch:  # timed out already, and decided locally then
            return
        connection = self._connection
        if isinstance(answer, Exception) and str(answer).startswith("NOSCRIPT") and connection is not None:
            # a Redis that has not seen the script yet: EVAL runs it and caches it
            connection.send(self._script_call(batch, b"EVAL", SCRIPT), lambda again: self._answered(batch, again))
            return
        self._on_its_way = None
        if isinstance(answer, Exception) or not isinstance(answer, list):
            self._failed(answer if isinstance(answer, Exception) else RedisUnavailable("unexpected answer"))
            self._decide_locally(batch)
            self._decide_locally(self._take_all())
            self._wake_flushes()
            return
        self._redis_answers()
        limits = self.limits
        index = 0
        for _, _, future in batch:
            if future is None:
                continue
            granted, available = answer[index], answer[index + 1]
            index += 2
            if not future.done():  # its request may have gone (client disconnected)
                future.set_result(Reservation(granted == 1, float(available), limits.capacity, limits.restore_rate))
        self._send_next()

    def _watch(self) -> None:
        """The batch on its way is answered by its due time, or decided without Redis then. One
        timer, re-armed for the batch on its way when it fires, not one per batch."""
        self._watchdog = None
        if self._on_its_way is None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self._due:
            self._watchdog = loop.call_at(self._due, self._watch)
            return
        batch, self._on_its_way = self._on_its_way, None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._failed(TimeoutError())
        self._decide_locally(batch)
        self._decide_locally(self._take_all())
        self._wake_flushes()

    def _lost(self, connection: RedisConnection) -> None:
        if self._connection is connection:
            self._connection = None  # the batch on its way (if any) got its answer: an exception

    async def _connect(self) -> None:
        try:
            try:
                # Not timed: the first time, this imports redis-py, which on a busy host may take
                # longer than the timeout; the timeout bounds what Redis takes.
                options, tls = connection_options(self.url)
                self._connect_deadline = asyncio.get_running_loop().time() + self.timeout
                connection = await asyncio.wait_for(open_connection(options, tls, self._lost), self.timeout)
            except Exception as exc:  # unreachable, refused, a bad URL, redis-py missing: fail open
                self._failed(exc)
                self._connect_deadline = 0.0
                self._decide_locally(self._take_all())
                return
            self._connection = connection
        finally:
            self._connecting = None
            if not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._send_next)

    # -- deciding without Redis

    def _take_all(self) -> list[_Entry]:
        queued, self._queue = self._queue, []
        return queued

    def _decide_locally(self, batch: list[_Entry]) -> None:
        """This worker's own buckets decide; a refund goes to them too (its reservation may have
        come from them, and a point given back that Redis took is a point the outage forgives)."""
        fallback = self.fallback
        for key, amount, future in batch:
            if future is None:
                fallback.refund_now(key, -amount)
            elif not future.done():
                future.set_result(fallback.reserve_now(key, amount))

    def _wake_flushes(self) -> None:
        idle, self._idle = self._idle, []
        for future in idle:
            if not future.done():
                future.set_result(None)

    def _paused(self) -> bool:
        return self._down and self.clock() < self._retry_at

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        if self.on_failure is not None:
            self.on_failure()
        if not self._down:
            # The exception's class only: its text may hold the URL, and with it a password.
            log.warning("Redis for rate limits is unavailable (%s); each worker limits on its own "
                        "until it answers again", type(exc).__name__)
            self._down = True
        self._pause = min(max(self._pause * 2, FIRST_PAUSE), MAX_PAUSE)
        self._retry_at = self.clock() + self._pause

    def _redis_answers(self) -> None:
        if self._down:
            log.warning("Redis for rate limits answers again; buckets are shared again")
            self._down = False
        self._pause = 0.0
