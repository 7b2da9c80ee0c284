"""The handoff of PostgreSQL's units of work to the database's threads (store/write_lock.py,
DatabaseWorkers): the answer or the error comes back to the loop, the request's context goes
with the unit, at most ``size`` threads run them, past ``MAX_QUEUED`` waiting ones
``DatabaseBusy``, a request cancelled meanwhile leaves the threads serving, and a unit whose
request gave up before it started never runs."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from orderchamp_auth.server.store import write_lock
from orderchamp_auth.server.store.write_lock import DatabaseBusy, DatabaseWorkers

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def test_answers_errors_and_context_come_back_and_the_threads_are_bounded() -> None:
    workers = DatabaseWorkers(threading.local(), 2)
    names: set[str] = set()

    def unit(n: int) -> tuple[int, str]:
        names.add(threading.current_thread().name)
        return n * 2, request_id.get()

    def failing() -> None:
        raise ValueError("from the thread")

    async def scenario() -> list[tuple[int, str]]:
        request_id.set("req-7")
        answers = await asyncio.gather(*(workers.run(unit, n) for n in range(20)))
        with pytest.raises(ValueError, match="from the thread"):
            await workers.run(failing)
        return list(answers)

    try:
        answers = asyncio.run(scenario())
    finally:
        workers.shutdown()
    assert answers == [(n * 2, "req-7") for n in range(20)]
    assert threading.current_thread().name not in names
    assert 1 <= len(names) <= 2


def test_past_the_queue_bound_a_unit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_lock, "MAX_QUEUED", 3)
    workers = DatabaseWorkers(threading.local(), 1)
    release = threading.Event()

    async def scenario() -> list[object]:
        tasks = [asyncio.create_task(workers.run(release.wait, 5)) for _ in range(4)]
        for _ in range(5):
            await asyncio.sleep(0)
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        results = asyncio.run(scenario())
    finally:
        workers.shutdown()
    assert results[:3] == [True, True, True]
    assert isinstance(results[3], DatabaseBusy)


def test_a_cancelled_request_leaves_the_threads_serving_and_a_queued_one_never_runs() -> None:
    workers = DatabaseWorkers(threading.local(), 1)
    release = threading.Event()
    ran: list[str] = []

    async def scenario() -> str:
        slow = asyncio.create_task(workers.run(release.wait, 5))
        queued = asyncio.create_task(workers.run(ran.append, "queued"))
        await asyncio.sleep(0.05)
        slow.cancel()
        queued.cancel()
        release.set()
        for task in (slow, queued):
            with pytest.raises(asyncio.CancelledError):
                await task
        return await asyncio.wait_for(workers.run(lambda: "still serving"), timeout=5)

    try:
        assert asyncio.run(scenario()) == "still serving"
    finally:
        workers.shutdown()
    assert ran == []
