"""Buckets in Redis, for many hosts: one Lua script per reserve and per refund, each atomic on
the Redis server and timed by its clock (hosts' clocks may differ; Redis has one).

Redis down, slow or unreachable: the request goes on (fail open) against this worker's own
buckets, which still stop one client from taking the worker. The failure is logged once per
outage and counted; Redis is tried again after a pause that doubles up to a bound, and used
again as soon as it answers. No call waits for Redis longer than ``timeout``.
"""

from __future__ import annotations

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

# The refill of bucket.py, in Lua. A bucket expires once it would be full again: Redis keeps
# only the buckets that are in use.
_PRELUDE = """
local capacity = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'a', 'u')
local available = tonumber(state[1])
local updated = tonumber(state[2])
if available == nil or updated == nil then available = capacity; updated = now end
local elapsed = now - updated
if elapsed < 0 then elapsed = 0 end
available = math.min(capacity, available + elapsed * rate)
"""
_STORE = """
redis.call('HSET', KEYS[1], 'a', tostring(available), 'u', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - available) / rate * 1000) + 1000)
"""
RESERVE_SCRIPT = _PRELUDE + """
local cost = tonumber(ARGV[1])
local granted = 0
if cost <= available then available = available - cost; granted = 1 end
""" + _STORE + "return {granted, tostring(available)}\n"
REFUND_SCRIPT = _PRELUDE + """
available = math.min(capacity, available + tonumber(ARGV[1]))
""" + _STORE + "return tostring(available)\n"


class RedisBuckets:
    def __init__(self, url: str, limits: Limits, *, timeout: float = DEFAULT_TIMEOUT,
                 on_failure: Callable[[], None] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.limits = limits
        self.timeout = timeout
        self.fallback = LocalBuckets(limits)
        self.on_failure = on_failure
        self.clock = clock
        self.failures = 0  # calls that failed and fell back (tests and metrics read it)
        self._client: Any = None
        self._reserve: Any = None
        self._refund: Any = None
        self._pause = 0.0
        self._retry_at = 0.0
        self._down = False

    def _scripts(self) -> tuple[Any, Any]:
        if self._client is None:
            import redis.asyncio as redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # No retries of its own: a failure falls back at once, and the pause below paces
            # the next attempt. The socket timeouts bound every connect and every read (an
            # asyncio.wait_for around each call would bound it too, at the cost of a task each).
            self._client = redis.Redis.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0), max_connections=64, single_connection_client=False)
            self._reserve = self._client.register_script(RESERVE_SCRIPT)
            self._refund = self._client.register_script(REFUND_SCRIPT)
        return self._reserve, self._refund

    @property
    def is_down(self) -> bool:
        return self._down

    async def reserve(self, key: str, cost: int) -> Reservation:
        if self._paused():
            return self.fallback.reserve_now(key, cost)
        try:
            script, _ = self._scripts()  # inside: a client that cannot be made fails open too
            granted, available = await script(keys=[KEY_PREFIX + key], args=self._args(cost))
        except Exception as exc:  # any failure of Redis or of the way to it: fail open
            self._failed(exc)
            return self.fallback.reserve_now(key, cost)
        self._answered()
        return Reservation(bool(int(granted)), float(available), self.limits.capacity, self.limits.restore_rate)

    async def refund(self, key: str, points: int) -> None:
        if self._paused():
            self.fallback.refund_now(key, points)
            return
        try:
            _, script = self._scripts()
            await script(keys=[KEY_PREFIX + key], args=self._args(points))
        except Exception as exc:
            self._failed(exc)
            self.fallback.refund_now(key, points)
            return
        self._answered()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _args(self, amount: int) -> list[Any]:
        return [amount, self.limits.capacity, repr(float(self.limits.restore_rate))]

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
