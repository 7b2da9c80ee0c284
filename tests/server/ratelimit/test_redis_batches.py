"""One worker's batches in Redis decide exactly as the same calls one by one would: several
reservations and refunds on one key and on different keys in one script call, and batches cut at
their bound. Redis gone while a batch is on its way: every entry of it is decided by the worker's
own buckets (fail open), and the next batch after the pause goes to Redis again."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from orderchamp_auth.server.ratelimit.bucket import Limits
from orderchamp_auth.server.ratelimit.local import LocalBuckets
from orderchamp_auth.server.ratelimit.redis_buckets import FIRST_PAUSE, RedisBuckets

from .test_redis_buckets import REDIS_URL, Clock

LIMITS = Limits(capacity=100, restore_rate=5.0, max_query_cost=100)

# (key, amount): a reservation of n points is n, a refund of n points is -n. Keys a, b, c
# interleaved; a is drained past empty, refunded, and drained again.
CALLS = [("a", 40), ("b", 70), ("a", 40), ("c", 100), ("a", 40), ("b", 40), ("a", -30), ("a", 45),
         ("c", 1), ("b", -100), ("b", 100), ("a", 5), ("d", 0), ("a", 1)]


def stores(clock: Clock, **options: int) -> RedisBuckets:
    # the script reckons with the test's clock: no refill between the two runs' calls
    return RedisBuckets(REDIS_URL, LIMITS, timeout=2.0, redis_clock=clock,
                        key_prefix=f"test-{uuid.uuid4().hex}:", **options)


async def one_by_one(store: RedisBuckets) -> list[tuple[bool, float]]:
    answers = []
    for key, amount in CALLS:
        if amount < 0:
            await store.refund(key, -amount)
            await store.flush()
        else:
            reservation = await store.reserve(key, amount)
            answers.append((reservation.granted, round(reservation.available, 6)))
    return answers


async def all_at_once(store: RedisBuckets) -> list[tuple[bool, float]]:
    """Every call queued before the first batch leaves (it leaves on the loop's next round)."""
    futures = []
    for key, amount in CALLS:
        if amount < 0:
            await store.refund(key, -amount)  # queued, not awaited on Redis
        else:
            futures.append(store.reserve(key, amount))
    return [(r.granted, round(r.available, 6)) for r in await asyncio.gather(*futures)]


def in_this_process(clock: Clock) -> list[tuple[bool, float]]:
    local = LocalBuckets(LIMITS, clock=clock)
    answers = []
    for key, amount in CALLS:
        if amount < 0:
            local.refund_now(key, -amount)
        else:
            reservation = local.reserve_now(key, amount)
            answers.append((reservation.granted, round(reservation.available, 6)))
    return answers


async def test_one_batch_of_several_keys_decides_as_the_calls_one_by_one_do():
    clock = Clock()
    sequential, batched = stores(clock), stores(clock)
    try:
        expected = await one_by_one(sequential)
        assert sequential.failures == 0, "Redis did not answer: is it running?"
        assert expected == in_this_process(clock)  # the Lua arithmetic is bucket.py's
        assert expected == [(True, 60), (True, 30), (True, 20), (True, 0), (False, 20), (False, 30),
                            (True, 5), (False, 0), (True, 0), (True, 0), (True, 100), (False, 0)]
        assert await all_at_once(batched) == expected
        assert batched.round_trips == 1 and batched.failures == 0  # one script call for all
    finally:
        await sequential.aclose()
        await batched.aclose()


async def test_batches_cut_at_their_bound_decide_as_one_batch_does():
    clock = Clock()
    unbounded, bounded = stores(clock), stores(clock, max_batch=3)
    try:
        expected = await all_at_once(unbounded)
        assert await all_at_once(bounded) == expected
        # 14 entries (two refunds among them), 3 a call: 5 calls
        assert bounded.round_trips == 5 and bounded.failures == 0
        assert bounded.overflows == 0
    finally:
        await unbounded.aclose()
        await bounded.aclose()


class Proxy:
    """A TCP relay in front of the real Redis that can drop its connections, as a Redis that
    stops would: ``cut_next`` drops the next command it reads without passing it on."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 6379
        self.db = parts.path
        self.cut_next = False
        self.cuts = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        redis_reader, redis_writer = await asyncio.open_connection(self.host, self.port)
        self._writers += [client_writer, redis_writer]

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cuts: bool) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(1 << 16):
                    if cuts and self.cut_next:
                        self.cut_next = False
                        self.cuts += 1
                        client_writer.transport.abort()
                        redis_writer.transport.abort()
                        return
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pipe(client_reader, redis_writer, True), pipe(redis_reader, client_writer, False))


@contextlib.asynccontextmanager
async def relayed_redis() -> AsyncIterator[tuple[str, Proxy]]:
    proxy = Proxy(REDIS_URL)
    server = await asyncio.start_server(proxy.relay, "127.0.0.1", 0)
    try:
        yield f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}{proxy.db}", proxy
    finally:
        for writer in proxy._writers:
            writer.transport.abort()
        server.close()


async def test_redis_gone_while_a_batch_is_on_its_way_every_entry_fails_open_then_redis_is_back():
    clock = Clock()
    async with relayed_redis() as (url, proxy):
        store = RedisBuckets(url, LIMITS, timeout=2.0, clock=clock, redis_clock=Clock(),
                             key_prefix=f"test-{uuid.uuid4().hex}:")
        try:
            assert (await store.reserve("a", 60)).available == pytest.approx(40)  # Redis has a at 40
            assert store.failures == 0
            proxy.cut_next = True
            # one batch: a twice, b, and a refund of a; the connection drops under it
            answers = await asyncio.gather(store.reserve("a", 30), store.reserve("b", 90), store.reserve("a", 30))
            assert proxy.cuts == 1 and store.failures == 1 and store.is_down
            # decided by this worker's own buckets, which have seen none of Redis's 60
            assert [a.granted for a in answers] == [True, True, True]
            assert [a.available for a in answers] == pytest.approx([70, 10, 40], abs=0.1)
            clock.now += FIRST_PAUSE  # the pause is over: the next batch goes to Redis
            back = await store.reserve("a", 30)
            assert not store.is_down and store.failures == 1
            assert back.granted and back.available == pytest.approx(10)  # Redis's a, untouched by the outage
        finally:
            await store.aclose()
