"""The leaky bucket in each store of one host: a burst past the bucket is refused and the
bucket recovers at the restore rate (a clock the test moves, no sleeps); refunds; the workers
of one host sharing one bucket through SharedBuckets."""

from __future__ import annotations

import os

import pytest

from orderchamp_auth.server.ratelimit.bucket import Limits
from orderchamp_auth.server.ratelimit.local import LocalBuckets, SharedBuckets, create_shared_file

LIMITS = Limits(capacity=1000, restore_rate=50.0, max_query_cost=1000)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def shared_path():
    path = create_shared_file(slots=64)
    yield path
    os.unlink(path)


def _stores(kind: str, clock: Clock, path: str) -> tuple:
    if kind == "local":
        store = LocalBuckets(LIMITS, clock=clock)
        return store, store
    # two workers: two mappings of one file
    return SharedBuckets(path, LIMITS, clock=clock), SharedBuckets(path, LIMITS, clock=clock)


@pytest.mark.parametrize("kind", ["local", "shared"])
async def test_a_burst_past_the_bucket_is_refused_then_recovers_at_the_restore_rate(kind, shared_path):
    clock = Clock()
    first, second = _stores(kind, clock, shared_path)
    granted = 0
    for i in range(12):
        reservation = await (first if i % 2 else second).reserve("t1", 100)
        granted += reservation.granted
    assert granted == 10
    refused = await first.reserve("t1", 100)
    assert not refused.granted and refused.available == pytest.approx(0.0)
    assert refused.seconds_until(100) == pytest.approx(2.0)
    clock.now += 1.0  # 50 points back
    assert not (await second.reserve("t1", 100)).granted
    assert (await second.reserve("t1", 50)).granted
    clock.now += 2.0
    again = await first.reserve("t1", 100)
    assert again.granted and again.available == pytest.approx(0.0)
    clock.now += 3600
    full = await second.reserve("t1", 1)
    assert full.available == pytest.approx(999.0)  # never more than the bucket holds


@pytest.mark.parametrize("kind", ["local", "shared"])
async def test_a_refund_gives_back_what_the_query_did_not_use(kind, shared_path):
    clock = Clock()
    first, second = _stores(kind, clock, shared_path)
    assert (await first.reserve("t1", 900)).granted
    assert not (await second.reserve("t1", 200)).granted
    await first.refund("t1", 850)
    after = await second.reserve("t1", 200)
    assert after.granted and after.available == pytest.approx(1000 - 900 + 850 - 200)
    await first.refund("t1", 10_000)
    assert (await second.reserve("t1", 0)).available == pytest.approx(1000.0)


@pytest.mark.parametrize("kind", ["local", "shared"])
async def test_buckets_are_per_key(kind, shared_path):
    clock = Clock()
    first, second = _stores(kind, clock, shared_path)
    assert (await first.reserve("i1", 1000)).granted
    assert not (await second.reserve("i1", 1)).granted
    assert (await second.reserve("i2", 1000)).granted
    assert (await first.reserve("t1", 1000)).granted


def test_the_local_store_is_bounded():
    store = LocalBuckets(LIMITS, max_buckets=3)
    for key in "abcde":
        store.reserve_now(key, 10)
    assert len(store) == 3


async def test_more_keys_than_shared_slots_take_over_the_longest_idle_slot(shared_path):
    clock = Clock()
    store = SharedBuckets(shared_path, LIMITS, clock=clock)
    for index in range(200):  # 64 slots
        clock.now += 0.001
        assert (await store.reserve(f"t{index}", 1000)).granted
    # the newest keys are still where they were left
    assert not (await store.reserve("t199", 1)).granted


async def test_a_worker_finding_the_lock_taken_waits_in_a_thread_not_on_the_loop(shared_path):
    import fcntl

    clock = Clock()
    store = SharedBuckets(shared_path, LIMITS, clock=clock)
    other = os.open(shared_path, os.O_RDWR)  # another worker, holding the lock
    fcntl.flock(other, fcntl.LOCK_EX)
    import asyncio

    task = asyncio.ensure_future(store.reserve("t1", 10))
    await asyncio.sleep(0)  # the reserve has tried the lock and handed the step to a thread
    loop_ran = True  # the loop is free: this line runs while the reserve waits
    assert not task.done()
    fcntl.flock(other, fcntl.LOCK_UN)
    os.close(other)
    reservation = await task
    assert loop_ran and reservation.granted and store.contended == 1


async def test_a_refund_given_back_soon_reaches_the_next_reservation_and_the_other_workers_next_round(shared_path):
    import asyncio

    clock = Clock()
    first, second = _stores("shared", clock, shared_path)
    assert first.reserve_now("t1", 900).available == 100
    first.refund_soon("t1", 500)  # queued, not written yet
    assert second.reserve_now("t1", 0).available == 100
    assert first.reserve_now("t1", 0).available == 600  # written with this worker's reservation
    first.refund_soon("t1", 300)
    first.refund_soon("t2", 10)
    await asyncio.sleep(0)  # the loop's next round writes both, under one lock
    assert second.reserve_now("t1", 0).available == 900
    assert second.reserve_now("t2", 0).available == LIMITS.capacity
    first.refund_soon("t1", 50)
    first.close()  # closing writes what is queued
    assert second.reserve_now("t1", 0).available == 950
