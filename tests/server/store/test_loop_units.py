"""The bound on PostgreSQL's units of work from the event loop (store/write_lock.py, LoopUnits):
at most ``size`` run at once, the others wait their turn in order, past ``MAX_QUEUED`` waiting
ones ``DatabaseBusy``; a waiter that gives up passes its turn on. A unit's function runs in a
greenlet and may await (as its statements do) without blocking the loop."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.util import await_

from orderchamp_auth.server.store import write_lock
from orderchamp_auth.server.store.write_lock import DatabaseBusy, LoopUnits


def _unit(log: list[str], name: str, release: asyncio.Event):
    def work() -> str:
        log.append(f"start {name}")
        await_(release.wait())  # a round trip that ends when the test says so
        log.append(f"end {name}")
        return name

    return work


def test_at_most_size_run_at_once_and_the_others_wait_in_order() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        units, log, release = LoopUnits(2), [], asyncio.Event()
        tasks = [asyncio.create_task(units.run(_unit(log, name, release))) for name in "abcd"]
        for _ in range(20):
            await asyncio.sleep(0)
        started_while_held = list(log)
        release.set()
        return started_while_held, list(await asyncio.gather(*tasks))

    started, results = asyncio.run(scenario())
    assert started == ["start a", "start b"]  # c and d wait, and the loop was free meanwhile
    assert results == ["a", "b", "c", "d"]


def test_past_the_queue_bound_a_unit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_lock, "MAX_QUEUED", 2)

    async def scenario() -> list[object]:
        units, log, release = LoopUnits(1), [], asyncio.Event()
        tasks = [asyncio.create_task(units.run(_unit(log, str(i), release))) for i in range(4)]
        for _ in range(20):
            await asyncio.sleep(0)
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(scenario())
    assert results[:3] == ["0", "1", "2"]
    assert isinstance(results[3], DatabaseBusy)


def test_a_waiter_that_gives_up_passes_its_turn_on() -> None:
    async def scenario() -> tuple[str, str]:
        units, log, release = LoopUnits(1), [], asyncio.Event()
        first = asyncio.create_task(units.run(_unit(log, "first", release)))
        quitter = asyncio.create_task(units.run(_unit(log, "quitter", release)))
        last = asyncio.create_task(units.run(_unit(log, "last", release)))
        for _ in range(20):
            await asyncio.sleep(0)
        quitter.cancel()
        release.set()
        done = await asyncio.wait_for(asyncio.gather(first, last), timeout=5)
        with pytest.raises(asyncio.CancelledError):
            await quitter
        assert "start quitter" not in log
        return done[0], done[1]

    assert asyncio.run(scenario()) == ("first", "last")
