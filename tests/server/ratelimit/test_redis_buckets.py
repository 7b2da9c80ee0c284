"""RedisBuckets against the machine's Redis (``.ci/run`` starts it), and against an address
where no Redis answers: the request goes on, counted, and Redis is tried again after a pause.
Concurrent reservations of one worker travel in one script call and are decided in order;
refunds are queued and reach Redis before the reservations queued after them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from orderchamp_auth.server.ratelimit import redis_buckets
from orderchamp_auth.server.ratelimit.bucket import Limits
from orderchamp_auth.server.ratelimit.redis_buckets import FIRST_PAUSE, RedisBuckets

from ...support import free_port

REDIS_URL = os.environ.get("ORDERCHAMP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LIMITS = Limits(capacity=100, restore_rate=0.001, max_query_cost=100)  # no refill during a test


@pytest.fixture
async def buckets():
    store = RedisBuckets(REDIS_URL, LIMITS, timeout=2.0)
    yield store
    await store.aclose()


async def test_a_burst_past_the_bucket_is_refused_and_a_refund_gives_points_back(buckets):
    key = f"test-{uuid.uuid4().hex}"
    granted = [(await buckets.reserve(key, 30)).granted for _ in range(4)]
    assert granted == [True, True, True, False]
    assert buckets.failures == 0, "Redis did not answer: is it running?"
    refused = await buckets.reserve(key, 30)
    assert not refused.granted and refused.available == pytest.approx(10, abs=0.1)
    await buckets.refund(key, 25)
    again = await buckets.reserve(key, 30)
    assert again.granted and again.available == pytest.approx(5, abs=0.1)


async def test_two_clients_of_one_redis_share_one_bucket(buckets):
    other = RedisBuckets(REDIS_URL, LIMITS, timeout=2.0)
    try:
        key = f"test-{uuid.uuid4().hex}"
        assert (await buckets.reserve(key, 60)).granted
        assert not (await other.reserve(key, 60)).granted
        assert (await other.reserve(key, 40)).granted
    finally:
        await other.aclose()


async def test_concurrent_reservations_share_one_round_trip_and_are_decided_in_order(buckets):
    key = f"test-{uuid.uuid4().hex}"
    first = await buckets.reserve(key, 1)  # the script is loaded: one round trip
    assert first.granted and buckets.round_trips == 1
    answers = await asyncio.gather(*[buckets.reserve(key, 20) for _ in range(6)])
    # 99 points: four reservations of 20 fit, in the order they were asked for
    assert [a.granted for a in answers] == [True, True, True, True, False, False]
    assert [a.available for a in answers[:4]] == pytest.approx([79, 59, 39, 19], abs=0.1)
    assert buckets.round_trips == 2 and buckets.failures == 0


async def test_a_refund_is_not_awaited_but_settles_before_the_next_reservation(buckets):
    key = f"test-{uuid.uuid4().hex}"
    assert (await buckets.reserve(key, 90)).granted
    trips = buckets.round_trips
    await buckets.refund(key, 50)  # queued: nothing sent yet
    assert buckets.round_trips == trips
    after = await buckets.reserve(key, 55)  # the refund travels with it, ahead of it
    assert after.granted and after.available == pytest.approx(5, abs=0.1)
    assert buckets.round_trips == trips + 1
    await buckets.refund(key, 0)  # nothing to give back: nothing queued
    await buckets.flush()
    assert buckets.round_trips == trips + 1


async def test_a_refund_alone_reaches_redis_by_itself(buckets):
    key = f"test-{uuid.uuid4().hex}"
    assert (await buckets.reserve(key, 80)).granted
    await buckets.refund(key, 30)
    await buckets.flush()
    other = RedisBuckets(REDIS_URL, LIMITS, timeout=2.0)
    try:
        assert (await other.reserve(key, 50)).available == pytest.approx(0, abs=0.1)
    finally:
        await other.aclose()


async def test_past_the_queue_bound_the_worker_decides_alone():
    store = RedisBuckets(REDIS_URL, LIMITS, timeout=2.0, max_queued=2)
    try:
        key = f"test-{uuid.uuid4().hex}"
        answers = await asyncio.gather(*[store.reserve(key, 10) for _ in range(5)])
        assert all(a.granted for a in answers) and store.overflows == 3
        # two went to Redis; three were taken from this worker's own bucket
        assert sorted(a.available for a in answers) == pytest.approx([70, 80, 80, 90, 90], abs=0.1)
        assert store.fallback.reserve_now(key, 0).available == pytest.approx(70, abs=0.1)
    finally:
        await store.aclose()


async def test_the_script_can_reckon_with_a_clock_of_the_callers(buckets):
    clock = Clock()
    store = RedisBuckets(REDIS_URL, Limits(capacity=100, restore_rate=10, max_query_cost=100), timeout=2.0,
                         redis_clock=clock, key_prefix=f"test-{uuid.uuid4().hex}:")
    try:
        assert (await store.reserve("k", 100)).granted
        assert not (await store.reserve("k", 30)).granted
        clock.now += 2.9
        assert not (await store.reserve("k", 30)).granted
        clock.now += 0.2
        assert (await store.reserve("k", 30)).granted
    finally:
        await store.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_without_redis_requests_go_on_counted_and_redis_is_tried_again_after_a_pause():
    clock = Clock()
    counted: list[int] = []
    store = RedisBuckets(f"redis://127.0.0.1:{free_port()}/0", LIMITS, timeout=0.5,
                         on_failure=lambda: counted.append(1), clock=clock)
    try:
        first = await store.reserve("k", 30)
        assert first.granted and store.is_down and store.failures == 1 and counted == [1]
        # paused: the worker's own bucket answers, Redis is not asked
        assert [(await store.reserve("k", 30)).granted for _ in range(3)] == [True, True, False]
        assert store.failures == 1
        clock.now += FIRST_PAUSE
        await store.reserve("k", 1)  # tried again, failed again: the pause doubles
        assert store.failures == 2
        clock.now += FIRST_PAUSE
        await store.reserve("k", 1)
        assert store.failures == 2
        clock.now += FIRST_PAUSE
        await store.reserve("k", 1)
        assert store.failures == 3
    finally:
        await store.aclose()


async def test_a_redis_url_that_cannot_be_read_fails_open():
    store = RedisBuckets("redis://127.0.0.1:notaport/0", LIMITS, timeout=2.0)
    assert (await store.reserve("k", 30)).available == LIMITS.capacity - 30  # the worker's own bucket
    assert store.failures == 1 and store.is_down


async def test_a_redis_client_that_cannot_be_made_fails_open_too(monkeypatch):
    store = RedisBuckets(REDIS_URL, LIMITS, timeout=2.0)

    def no_client(url: str) -> None:
        raise ImportError("No module named 'redis'")

    monkeypatch.setattr(redis_buckets, "connection_options", no_client)
    key = f"test-{uuid.uuid4().hex}"
    first = await store.reserve(key, 30)
    assert first.granted and first.available == LIMITS.capacity - 30  # the worker's own bucket
    await store.refund(key, 10)
    assert store.failures == 1 and store.is_down  # the refund waited for the pause, as a reserve would


@contextlib.asynccontextmanager
async def scripted_redis(*answers: bytes) -> AsyncIterator[str]:
    """The URL of a server that answers the first commands it reads with ``answers``, one each,
    and then reads on and answers nothing."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            await reader.read(1 << 16)
            writer.write(answer)
            await writer.drain()
        await reader.read(1 << 16)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0"
    finally:
        server.close()


async def test_a_redis_that_never_answers_holds_a_reservation_no_longer_than_the_timeout():
    async with scripted_redis() as url:
        store = RedisBuckets(url, LIMITS, timeout=0.2)
        try:
            loop = asyncio.get_running_loop()
            began = loop.time()
            answers = await asyncio.gather(*[store.reserve("k", 30) for _ in range(3)])
            assert loop.time() - began < 1.5
            assert [a.granted for a in answers] == [True, True, True] and store.failures == 1 and store.is_down
        finally:
            await store.aclose()


async def test_a_redis_that_answers_once_then_goes_silent_holds_the_next_batch_no_longer_than_the_timeout():
    # one timer watches the batches: armed for the first, it must still catch the second in time
    async with scripted_redis(b"*2\r\n:1\r\n$2\r\n70\r\n") as url:
        store = RedisBuckets(url, LIMITS, timeout=0.3)
        try:
            first = await store.reserve("k", 30)
            assert first.granted and first.available == 70 and store.failures == 0
            loop = asyncio.get_running_loop()
            began = loop.time()
            second = await store.reserve("k", 30)
            assert loop.time() - began < 1.5
            # decided by the worker's own bucket, which never saw the first
            assert second.granted and second.available == LIMITS.capacity - 30 and store.failures == 1
        finally:
            await store.aclose()


async def test_a_refund_queued_behind_a_batch_redis_never_answers_goes_to_the_workers_own_bucket():
    async with scripted_redis() as url:
        store = RedisBuckets(url, LIMITS, timeout=0.3)
        try:
            reserving = asyncio.ensure_future(store.reserve("k", 30))
            while store.round_trips == 0:  # the reservation is on its way
                await asyncio.sleep(0.01)
            await store.refund("k", 20)  # queued behind it
            assert (await reserving).granted and store.failures == 1
            # both decided by the worker's own bucket: 100 - 30 + 20
            assert store.fallback.reserve_now("k", 0).available == pytest.approx(90, abs=0.1)
        finally:
            await store.aclose()


def test_buckets_used_from_a_new_event_loop_forget_the_old_ones_connection_and_queue():
    # an app served twice (tests' clients): the first loop ends with a refund still queued
    store = RedisBuckets(REDIS_URL, LIMITS, timeout=2.0)
    key = f"test-{uuid.uuid4().hex}"
    store.fallback.reserve_now(key, 50)
    loop = asyncio.new_event_loop()

    async def first() -> None:
        assert (await store.reserve(key, 60)).granted
        await store.refund(key, 10)  # queued; its send would be the loop's next callback
        loop.stop()  # this round of callbacks is the last

    async def second() -> float:
        try:
            return (await asyncio.wait_for(store.reserve(key, 1), 5)).available
        finally:
            await store.aclose()

    loop.create_task(first())
    loop.run_forever()
    loop.close()
    assert asyncio.run(second()) == pytest.approx(39, abs=0.1)  # Redis, which the refund never reached
    assert store.failures == 0 and store.round_trips == 2
    assert store.fallback.reserve_now(key, 0).available == pytest.approx(60, abs=0.1)  # it went here
