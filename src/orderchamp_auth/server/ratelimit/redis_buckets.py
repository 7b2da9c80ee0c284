"""Buckets in Redis, for many hosts: every reservation and refund is decided by a Lua script on
the Redis server, atomic there and timed by its clock (hosts' clocks may differ; Redis has one).

A round trip per request would cost more than the request (a redis-py call is most of a
small query's CPU), so a worker sends its reservations in batches: the reservations and
refunds queued while one batch is on its way go out together, in order, as one script call
that decides each of them in turn, exactly as the same calls one by one would. A refund is
queued, not awaited: it reaches Redis with the next batch, before any reservation queued after
it. The queue is bounded; past the bound a request is decided by this worker's own buckets.

Redis down, slow or unreachable: the request goes on (fail open) against this worker's own
buckets, which still stop one client from taking the worker. The failure is logged once per
outage and counted; Redis is tried again after a pause that doubles up to a bound, and used
again as soon as it answers. No batch waits for Redis longer than ``timeout``, and a
reservation waits for the batches ahead of it and its own: at most ``max_queued / max_batch``
and one more (17 by default; in practice the one on its way).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from .bucket import Limits, Reservation
from .local import LocalBuckets

log = logging.getLogger(__name__)

KEY_PREFIX = "orderchamp:ratelimit:"
DEFAULT_TIMEOUT = 0.1  # seconds (ORDERCHAMP_REDIS_TIMEOUT_MS)
FIRST_PAUSE = 0.5  # seconds before trying Redis again after a failure, doubling...
MAX_PAUSE = 30.0  # ...up to this
MAX_BATCH = 256  # reservations and refunds in one script call
MAX_QUEUED = 4096  # waiting for a batch; past it, this worker's own buckets decide

# bucket.py's arithmetic in Lua, once per entry. ARGV: capacity, restore rate, the time ('' for
# Redis's own clock; tests pass theirs), then one amount per key: a reservation of n points
# is n, a refund of n points is -n. The answer has (granted, available) for each reservation.
# A bucket expires once it would be full again: Redis keeps only the buckets in use.
BATCH_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
end
local answers = {}
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[3 + i])
  local state = redis.call('HMGET', key, 'a', 'u')
  local available = tonumber(state[1])
  local updated = tonumber(state[2])
  if available == nil or updated == nil then available = capacity; updated = now end
  local elapsed = now - updated
  if elapsed < 0 then elapsed = 0 end
  available = math.min(capacity, available + elapsed * rate)
  if amount >= 0 then
    local granted = 0
    if amount <= available then available = available - amount; granted = 1 end
    answers[#answers + 1] = granted
    answers[#answers + 1] = tostring(available)
  else
    available = math.min(capacity, available - amount)
  end
  redis.call('HSET', key, 'a', tostring(available), 'u', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((capacity - available) / rate * 1000) + 1000)
end
return answers
"""

_SCRIPT_SHA = hashlib.sha1(BATCH_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1

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
        self._connection: Any = None
        self._unsettled = False  # a call on the connection did not finish
        self._queue: list[_Entry] = []
        self._flusher: asyncio.Task[None] | None = None
        self._pause = 0.0
        self._retry_at = 0.0
        self._down = False

    async def _call(self, keys: list[str], args: list[Any]) -> Any:
        """One script call on this worker's own connection. One batch is on its way at a time, so
        one connection is all it needs, and going past redis-py's client and pool to it saves a
        third of a call's CPU (the pool's bookkeeping: 115-120 against 75-80 µs a call)."""
        if self._connection is None:
            import redis.asyncio as redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # No retries of its own: a failure falls back at once, and the pause below paces
            # the next attempt. The whole call is bounded below, by one timer: redis-py's own
            # socket timeout would start a task for every write.
            pool = redis.ConnectionPool.from_url(self.url, socket_connect_timeout=self.timeout,
                                                 retry=Retry(NoBackoff(), 0))
            self._connection = pool.make_connection()
        connection = self._connection
        if self._unsettled:
            # an earlier call was cut short: a reply may still be on its way on this socket
            await connection.disconnect(nowait=True)
            self._unsettled = False
        from redis.exceptions import NoScriptError, ResponseError

        self._unsettled = True
        try:
            async with asyncio.timeout(self.timeout):
                try:
                    await connection.send_command("EVALSHA", _SCRIPT_SHA, len(keys), *keys, *args)
                    answer = await connection.read_response()
                except NoScriptError:  # a Redis that has not seen the script yet: EVAL caches it
                    await connection.send_command("EVAL", BATCH_SCRIPT, len(keys), *keys, *args)
                    answer = await connection.read_response()
        except ResponseError:
            self._unsettled = False  # Redis answered: the socket is in step
            raise
        self._unsettled = False
        return answer

    @property
    def is_down(self) -> bool:
        return self._down

    async def reserve(self, key: str, cost: int) -> Reservation:
        if self._paused() or len(self._queue) >= self.max_queued:
            if not self._paused():
                self.overflows += 1
            return self.fallback.reserve_now(key, cost)
        future: asyncio.Future[Reservation] = asyncio.get_running_loop().create_future()
        self._queue.append((key, cost, future))
        self._start_flushing()
        return await future

    async def refund(self, key: str, points: int) -> None:
        if points <= 0:
            return
        if self._paused() or len(self._queue) >= self.max_queued:
            if not self._paused():
                self.overflows += 1
            self.fallback.refund_now(key, points)
            return
        self._queue.append((key, -points, None))
        self._start_flushing()

    async def flush(self) -> None:
        """Wait until everything queued so far has been decided (tests, and closing)."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def aclose(self) -> None:
        await self.flush()
        if self._connection is not None:
            await self._connection.disconnect()
            self._connection = None

    def _start_flushing(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        # One batch on its way at a time: what is queued meanwhile is the next batch.
        try:
            while self._queue:
                batch = self._queue[:self.max_batch]
                del self._queue[:self.max_batch]
                try:
                    await self._send(batch)
                finally:
                    self._decide_locally(batch)  # whatever _send left undecided (it was cancelled)
        finally:
            self._flusher = None
            rest, self._queue = self._queue, []  # left only when cancelled (the loop closing)
            self._decide_locally(rest)

    async def _send(self, batch: list[_Entry]) -> None:
        if self._paused():
            return
        limits = self.limits
        now = "" if self.redis_clock is None else repr(self.redis_clock())
        try:  # inside: a client that cannot be made (redis-py missing, a bad URL) fails open too
            self.round_trips += 1
            answers = await self._call([self.key_prefix + key for key, _, _ in batch],
                                       [limits.capacity, repr(float(limits.restore_rate)), now,
                                        *[amount for _, amount, _ in batch]])
        except Exception as exc:  # any failure of Redis or of the way to it: fail open
            self._failed(exc)
            return
        self._answered()
        index = 0
        for _, _, future in batch:
            if future is None:
                continue
            granted, available = answers[index], answers[index + 1]
            index += 2
            if not future.done():  # its request may have gone (client disconnected)
                future.set_result(Reservation(bool(int(granted)), float(available), limits.capacity,
                                              limits.restore_rate))

    def _decide_locally(self, batch: list[_Entry]) -> None:
        for key, amount, future in batch:
            if future is None:
                continue  # a refund Redis did not take: this worker's bucket never held the points
            if not future.done():
                future.set_result(self.fallback.reserve_now(key, amount))

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

    def _answered(self) -> None:
        if self._down:
            log.warning("Redis for rate limits answers again; buckets are shared again")
            self._down = False
        self._pause = 0.0
