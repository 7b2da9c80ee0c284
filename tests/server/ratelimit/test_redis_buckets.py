"""RedisBuckets against the machine's Redis (``.ci/run`` starts it), and against an address
where no Redis answers: the request goes on, counted, and Redis is tried again after a pause."""

from __future__ import annotations

import os
import uuid

import pytest

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


async def test_a_redis_client_that_cannot_be_made_fails_open_too(monkeypatch):
    store = RedisBuckets(REDIS_URL, LIMITS, timeout=2.0)

    def no_client() -> None:
        raise ImportError("No module named 'redis'")

    monkeypatch.setattr(store, "_scripts", no_client)
    key = f"test-{uuid.uuid4().hex}"
    first = await store.reserve(key, 30)
    assert first.granted and first.available == LIMITS.capacity - 30  # the worker's own bucket
    await store.refund(key, 10)
    assert store.failures == 1 and store.is_down  # the refund waited for the pause, as a reserve would
