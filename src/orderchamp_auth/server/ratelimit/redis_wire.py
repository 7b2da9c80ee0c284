"""Redis on the wire, for the buckets (``redis_buckets``): the batch script, the commands' bytes and
the worker's one connection, an asyncio protocol that reads the answers with hiredis."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any

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

SCRIPT = BATCH_SCRIPT.encode()
SCRIPT_SHA = hashlib.sha1(SCRIPT).hexdigest().encode()  # noqa: S324 - Redis names scripts by SHA-1


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def command(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(bulk(part) for part in parts)


class RedisUnavailable(Exception):
    """Redis answered with an error, went away, or did not answer in time."""


class RedisConnection(asyncio.Protocol):
    """One socket to Redis: commands written as they come, each answer handed to the callback
    registered with its command, in order (Redis answers in order)."""

    def __init__(self, on_lost: Callable[[RedisConnection], None]) -> None:
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


def connection_options(url: str) -> tuple[dict[str, Any], ssl.SSLContext | None]:
    """The URL read as redis-py reads it, and for rediss:// the TLS context."""
    import hiredis  # noqa: F401 - imported here, not by the first connection's reader
    from redis.connection import parse_url

    options = parse_url(url)
    tls = None
    if url.startswith("rediss:"):
        tls = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
        if options.get("ssl_cert_reqs") in ("none", ssl.CERT_NONE):
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
    return options, tls

async def open_connection(options: dict[str, Any], tls: ssl.SSLContext | None,
                          on_lost: Callable[[RedisConnection], None]) -> RedisConnection:
    """A connection (``connection_options``), authenticated and on the URL's database."""
    loop = asyncio.get_running_loop()
    connection: RedisConnection
    if "path" in options:
        _, connection = await loop.create_unix_connection(lambda: RedisConnection(on_lost), options["path"])
    else:
        _, connection = await loop.create_connection(lambda: RedisConnection(on_lost),
                                                     options.get("host", "localhost"),
                                                     int(options.get("port", 6379)), ssl=tls)
    setup = []
    if options.get("password") is not None:
        user = options.get("username")
        setup.append(command(b"AUTH", *([user.encode()] if user else []), options["password"].encode()))
    if options.get("db"):
        setup.append(command(b"SELECT", str(int(options["db"])).encode()))
    try:
        for step in setup:
            answer: asyncio.Future[Any] = loop.create_future()
            connection.send(step, answer.set_result)
            if isinstance(await answer, Exception):
                raise RedisUnavailable(type(await answer).__name__)
    except BaseException:
        connection.close()
        raise
    return connection
