"""SQLite's writes from the loop (store/write_lock.py, WriteRunner): a write that meets a held
lock tries again on the loop a few times, yielding to the loop between tries, before it goes
to a thread; the lock still held after those, the thread finishes it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from orderchamp_auth.server.store.write_lock import LOOP_RETRY_DELAYS, WriteLockBusy, WriteRunner


def _busy_for(tries: int, log: list[str]) -> Callable[[], str]:
    """A unit of work that finds the lock held on its first ``tries`` runs on the loop."""

    def work() -> str:
        log.append(threading.current_thread().name)
        if len(log) <= tries:
            raise WriteLockBusy("The write lock is held.")
        return threading.current_thread().name

    return work


def test_a_lock_released_within_the_loop_tries_is_written_on_the_loop_and_others_ran_between() -> None:
    log: list[str] = []
    between: list[int] = []

    async def main() -> tuple[str, str]:
        async def other_request() -> None:
            for _ in range(len(LOOP_RETRY_DELAYS) + 1):
                between.append(len(log))
                await asyncio.sleep(0)

        other = asyncio.create_task(other_request())
        answer = await WriteRunner(5.0).run_write(_busy_for(len(LOOP_RETRY_DELAYS), log))
        await other
        return answer, threading.current_thread().name

    answer, loop_thread = asyncio.run(main())
    assert answer == loop_thread
    assert log == [loop_thread] * (len(LOOP_RETRY_DELAYS) + 1)
    assert between[0] == 1  # the other task ran after the first refused try, before the write ended


def test_a_lock_held_past_the_loop_tries_is_written_in_a_thread() -> None:
    log: list[str] = []

    async def main() -> tuple[str, str]:
        answer = await WriteRunner(5.0).run_write(_busy_for(len(LOOP_RETRY_DELAYS) + 1, log))
        return answer, threading.current_thread().name

    answer, loop_thread = asyncio.run(main())
    assert log[:-1] == [loop_thread] * (len(LOOP_RETRY_DELAYS) + 1)
    assert answer == log[-1] != loop_thread
