"""Buckets in Redis, for many hosts: every reservation and refund is decided by a Lua script on
the Redis server, atomic there and timed by its clock (hosts' clocks may differ; Redis has one).

A round trip per request would cost more than the request, so a worker sends its reservations
in batches: the reservations and refunds queued while one batch is on its way go out together,
in order, as one script call that decides each of them in turn, exactly as the same calls one
by one would. A refund is queued, not awaited: it reaches Redis with the next batch, before any
reservation queued after it. The queue is bounded; past the bound a request is decided by this
worker's own buckets.

The one command this needs goes on the worker's own connection, an asyncio protocol that writes
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
import hashlib
import logging
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .bucket import Limits, Reservation
from .local import LocalBuckets

log = logging.getLogger(__name__)

# "b2": a bucket is one string (below); session 7's were hashes, which this script cannot read
KEY_PREFIX = "orderchamp:ratelimit:b2:"
DEFAULT_TIMEOUT = 0.1  # seconds (ORDERCHAMP_REDIS_TIMEOUT_MS)
FIRST_PAUSE = 0.5  # seconds before trying Redis again after a failure, doubling...
MAX_PAUSE = 30.0  # ...up to this
MAX_BATCH = 256  # reservations and refunds in one script call
MAX_QUEUED = 4096  # waiting for a batch; past it, this worker's own buckets decide
MAX_ENCODED_KEYS = 10_000  # keys whose command bytes are remembered

# bucket.py's arithmetic in Lua, once per entry. ARGV: capacity, restore rate, the time ('' for
# Redis's own clock; tests pass theirs), then one amount per key: a reservation of n points
# is n, a refund of n points is -n. The answer has (granted, available) for each reservation.
# A key met again in the batch goes on from where the entry before left it (one clock reading
# per batch: nothing refills in between), so each bucket is read and written once per batch.
# A bucket is one string, its level and time packed as two doubles, read with GET and written
# with SET PX: a command fewer per bucket than a hash and its PEXPIRE, and Redis's CPU for a call
# is mostly its commands (benchmarks/README.md, session 8). It expires once it would be full
# again: Redis keeps only the buckets in use.
BATCH_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
end
local levels = {}
local answers = {}
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[3 + i])
  local available = levels[key]
  if available == nil then
    local state = redis.call('GET', key)
    if state and #state == 16 then
      local level, updated = struct.unpack('dd', state)
      local elapsed = now - updated
      if elapsed < 0 then elapsed = 0 end
      available = math.min(capacity, level + elapsed * rate)
    else
      available = capacity
    end
  end
  if amount >= 0 then
    local granted = 0
    if amount <= available then available = available - amount; granted = 1 end
    answers[#answers + 1] = granted
    answers[#answers + 1] = tostring(available)
  else
    available = math.min(capacity, available - amount)
  end
  levels[key] = available
end
for key, available in pairs(levels) do
  redis.call('SET', key, struct.pack('dd', available, now), 'PX', math.ceil((capacity - available) / rate * 1000) + 1000)
end
return answers
"""

_SCRIPT = BATCH_SCRIPT.encode()
_SCRIPT_SHA = hashlib.sha1(_SCRIPT).hexdigest().encode()  # noqa: S324 - Redis names scripts by SHA-1

# (key, amount as sent, the reservation's future or None for a refund)
_Entry = tuple[str, int, "asyncio.Future[Reservation] | None"]


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _command(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(_bulk(part) for part in parts)


class RedisUnavailable(Exception):
    """Redis answered with an error, went away, or did not answer in time."""


class _Connection(asyncio.Protocol):
    """One socket to Redis: commands written as they come, each answer handed to the callback
    registered with its command, in order (Redis answers in order)."""

    def __init__(self, on_lost: Callable[[_Connection], None]) -> None:
        import hiredis

        self._reader = hiredis.Reader()
        self._waiting: deque[Callable[[Any], None]] = deque()
        self._on_lost = on_lost
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, command: bytes, on_answer: Callable[[Any], None]) -> None:
        assert self.transport is not None
        self._waiting.append(on_answer)
        self.transport.write(command)

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        try:
            while self._waiting:
                answer = reader.gets()
                if answer is False:
                    return
                self._waiting.popleft()(answer)
        except Exception:  # hiredis.ProtocolError: not Redis, or out of step
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        waiting, self._waiting = self._waiting, deque()
        for on_answer in waiting:
            on_answer(RedisUnavailable("connection lost"))
        self._on_lost(self)

    def close(self) -> None:
        """Drop the socket: an answer still on its way would be read as the next command's."""
        if self.transport is not None:
            self.transport.abort()  # connection_lost follows, from the loop


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
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._connect_deadline = 0.0  # loop time: the first batch's answer is due by then too
        self._idle: list[asyncio.Future[None]] = []  # flush()es waiting
        self._pause = 0.0
        self._retry_at = 0.0
        self._down = False
        self._keys: dict[str, bytes] = {}  # key -> its bulk string in the command
        self._head = (_bulk(str(limits.capacity).encode()) + _bulk(repr(float(limits.restore_rate)).encode()))

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
        connection.send(self._script_call(batch, b"EVALSHA", _SCRIPT_SHA), lambda answer: self._answered(batch, answer))

    def _script_call(self, batch: list[_Entry], command: bytes, script: bytes) -> bytes:
        keys = self._keys
        if len(keys) > MAX_ENCODED_KEYS:
            keys.clear()
        parts = [b"*%d\r\n" % (2 * len(batch) + 6), _bulk(command), _bulk(script), _bulk(b"%d" % len(batch))]
        for key, _, _ in batch:
            encoded = keys.get(key)
            if encoded is None:
                encoded = keys[key] = _bulk((self.key_prefix + key).encode())
            parts.append(encoded)
        parts.append(self._head)
        parts.append(_bulk(b"") if self.redis_clock is None else _bulk(repr(self.redis_clock()).encode()))
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
            connection.send(self._script_call(batch, b"EVAL", _SCRIPT), lambda again: self._answered(batch, again))
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

    def _lost(self, connection: _Connection) -> None:
        if self._connection is connection:
            self._connection = None  # the batch on its way (if any) got its answer: an exception

    async def _connect(self) -> None:
        try:
            try:
                # Not timed: the first time, this imports redis-py, which on a busy host may take
                # longer than the timeout; the timeout bounds what Redis takes.
                options, tls = self._options()
                self._connect_deadline = asyncio.get_running_loop().time() + self.timeout
                connection = await asyncio.wait_for(self._open(options, tls), self.timeout)
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

    def _options(self) -> tuple[dict[str, Any], ssl.SSLContext | None]:
        """The URL read as redis-py reads it, and for rediss:// the TLS context."""
        import hiredis  # noqa: F401 - imported here, not by the first connection's reader
        from redis.connection import parse_url

        options = parse_url(self.url)
        tls = None
        if self.url.startswith("rediss:"):
            tls = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
            if options.get("ssl_cert_reqs") in ("none", ssl.CERT_NONE):
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE
        return options, tls

    async def _open(self, options: dict[str, Any], tls: ssl.SSLContext | None) -> _Connection:
        """A connection, authenticated and on the URL's database."""
        loop = asyncio.get_running_loop()
        connection: _Connection
        if "path" in options:
            _, connection = await loop.create_unix_connection(lambda: _Connection(self._lost), options["path"])
        else:
            _, connection = await loop.create_connection(lambda: _Connection(self._lost),
                                                         options.get("host", "localhost"),
                                                         int(options.get("port", 6379)), ssl=tls)
        setup = []
        if options.get("password") is not None:
            user = options.get("username")
            setup.append(_command(b"AUTH", *([user.encode()] if user else []), options["password"].encode()))
        if options.get("db"):
            setup.append(_command(b"SELECT", str(int(options["db"])).encode()))
        try:
            for command in setup:
                answer: asyncio.Future[Any] = loop.create_future()
                connection.send(command, answer.set_result)
                if isinstance(await answer, Exception):
                    raise RedisUnavailable(type(await answer).__name__)
        except BaseException:
            connection.close()
            raise
        return connection

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
