"""Waiting for locks: which work may wait, and where. The one rule, kept here.

**The event loop never waits for a lock.** A write transaction begun on a thread that runs an
event loop takes its locks without waiting:

- SQLite: one ``BEGIN IMMEDIATE`` with no busy handler. If the write lock is held (by another
  worker, a mutation in a thread, the command line) it raises ``WriteLockBusy`` at once, before
  the transaction did anything: the ``with`` block's body has not started.
- PostgreSQL has no wait-free try for an UPDATE or INSERT, so the transaction runs with a
  ``lock_timeout`` of ``LOOP_LOCK_TIMEOUT_MS``: time for another worker's sub-millisecond
  transaction on the same row to commit, short against any request. A row lock held longer
  ends the transaction with ``WriteLockBusy``, rolled back. (The token endpoint's connection
  keeps that setting for its thread; an ORM write on the loop says ``SET LOCAL``.)

**Work that writes from the loop goes through ``run_write``:** it runs inline (no thread handoff
and, for the token endpoint, no extra statement while the lock is free), and if it meets
``WriteLockBusy`` it runs again from its start in a thread (``LOCK_WAITERS`` at most, so
waiting writes never take the thread pool from reads). There waiting is fine but bounded by
``write_lock_timeout``: on SQLite from the first try, polling in steps of at most 2 ms (see
``begin_immediate``); on PostgreSQL per lock, as every connection's ``lock_timeout``. Past the
bound: ``WriteLockTimeout``, which the edge answers with 503 and ``Retry-After``, never 500;
an API mutation that meets it fails as a whole (``api.execution``), not field by field.

Running again is safe because ``WriteLockBusy`` comes before anything was written, or with it
rolled back. So a unit given to ``run_write`` must not act outside its transactions before the
last one, and a transaction it commits before that one must change nothing that running it
again would repeat (the token exchange's replay transaction runs only when its claim changed
nothing).

Which work runs where:

- On the loop: reads (WAL and MVCC: a reader never waits for a writer), the short writes of the
  hot paths through ``run_write`` (token exchange, consent answer), and the bearer cache's
  ``last_used`` flush, which keeps its timestamps for the next pass when the lock is held.
- In the thread pool: every other write (forms, login, revocation, the API's mutations), which
  may wait up to the bound. A write on the loop outside ``run_write`` that finds the lock held
  is answered 503 rather than stall the loop.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from asyncio import _get_running_loop
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from ...protocol.errors import OrderchampAuthError

T = TypeVar("T")

DEFAULT_WRITE_LOCK_TIMEOUT = 15.0  # seconds
LOOP_LOCK_TIMEOUT_MS = 2
LOCK_WAITERS = 16
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's lock_timeout
READER_BUSY_TIMEOUT_MS = 15000  # readers' busy handler (rarely needed in WAL)


class WriteLockUnavailable(OrderchampAuthError):
    """A write could not take its lock; nothing it did was kept."""

    retry_after = 1


class WriteLockBusy(WriteLockUnavailable):
    """The lock is held and this thread runs the event loop, so it does not wait."""


class WriteLockTimeout(WriteLockUnavailable):
    """The lock stayed held past ``write_lock_timeout``."""


def on_event_loop() -> bool:
    """Whether this thread is running an event loop (uvicorn's, or a test client's)."""
    return _get_running_loop() is not None


# The deadline of the unit of work ``run_write`` is running again on this thread: its bound
# counts from the first try, so time spent queueing for a thread counts too.
_retry = threading.local()


def lock_unavailable() -> WriteLockUnavailable:
    """What a write that found its lock held raises, depending on where it runs."""
    if on_event_loop():
        return WriteLockBusy("The write lock is held.")
    return WriteLockTimeout("The write lock stayed held past the bound.")


def is_lock_timeout(exc: BaseException) -> bool:
    """PostgreSQL's ``lock_timeout`` fired (as psycopg raises it, or SQLAlchemy wraps it)."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


def is_lock_failure(exc: BaseException | None) -> bool:
    """A write met a held lock, as raised by this module or by PostgreSQL."""
    return exc is not None and (isinstance(exc, WriteLockUnavailable) or is_lock_timeout(exc))


def begin_immediate(driver: sqlite3.Connection, timeout: float) -> None:
    """Take SQLite's write lock: one try on the event loop, else polling briefly up to the bound.

    Not SQLite's busy handler: it sleeps 1, 2, 5, 10 ... 100 ms between tries; our writers hold
    the lock for well under a millisecond, so with two worker processes those sleeps, not the
    work, would set the pace. Readers are unaffected (WAL: they never wait for writers).
    """
    driver.execute("PRAGMA busy_timeout=0")
    try:
        if on_event_loop():
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                raise WriteLockBusy("The write lock is held.") from None
            return
        deadline = getattr(_retry, "deadline", None) or time.monotonic() + timeout
        delay = 0.00005
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() > deadline:
                    raise WriteLockTimeout("The write lock stayed held past the bound.") from None
            time.sleep(delay)
            delay = min(delay * 1.5, 0.002)
    finally:
        driver.execute(f"PRAGMA busy_timeout={READER_BUSY_TIMEOUT_MS}")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


class WriteRunner:
    """``run_write`` for one database: its bound, and the threads that may wait on it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._limiter: Any = None
        self._turn = threading.Lock()

    async def run_write(self, work: Callable[[], T]) -> T:
        """Run ``work`` (sync, with write transactions) from the event loop: inline, and once
        more in a thread if it met a held lock (see the module's rule)."""
        try:
            return work()
        except WriteLockBusy:
            pass
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(LOCK_WAITERS)
        deadline = time.monotonic() + self.timeout

        def again() -> T:
            # One waiter per process polls for the database's lock; the others wait here, off
            # the loop and without spending the CPU the polling costs, until it is their turn.
            if not self._turn.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise WriteLockTimeout("The write lock stayed held past the bound.")
            _retry.deadline = deadline
            try:
                return work()
            finally:
                _retry.deadline = None
                self._turn.release()

        return await anyio.to_thread.run_sync(again, limiter=self._limiter)
