"""Where database work runs, and how long it may wait for a lock. The one rule, kept here.

**The event loop never waits for PostgreSQL, nor for a lock.** Work reaches the database from
the loop as ``await db.reading(work)`` / ``await db.writing(work)``, ``work(tx)`` being a plain
function of one ``Transaction``:

- SQLite (a local file, microseconds per statement): ``work`` runs inline on the loop, where a
  thread handoff would cost more than the work. A read never waits (WAL: readers never wait
  for writers). A write takes SQLite's lock with one ``BEGIN IMMEDIATE`` and no busy handler;
  if the lock is held (another worker, a mutation in a thread, the command line) that raises
  ``WriteLockBusy`` at once, before ``work`` started. ``work`` then runs again from its start:
  first a few times on the loop, each after an ``await asyncio.sleep`` (``LOOP_RETRY_DELAYS``,
  a few milliseconds in all, the loop serving other requests meanwhile: another worker holds
  the lock for well under a millisecond, and a thread handoff costs more CPU than a retry);
  then, the lock still held, in a thread (``LOCK_WAITERS`` at most, one of them polling for
  the lock, see ``WriteRunner``).
- PostgreSQL (a round trip per statement): ``work`` runs in the database's own threads
  (``DatabaseWorkers``: ``WORKER_THREADS`` at most, each keeping its connections; at most
  ``MAX_QUEUED`` units waiting for one, past that ``DatabaseBusy``), so the loop serves other
  requests meanwhile. There a lock is waited for up to ``write_lock_timeout``, as every
  connection's ``lock_timeout``.

- One statement alone (``Database.rows_on_loop``: the API's data version for a cached answer)
  is awaited on the loop itself on PostgreSQL, on a connection of the loop's own
  (``loop_reads``): the loop waits for no round trip, and the read costs no handoff.

Off the loop (web forms in Starlette's thread pool, the command line) ``db.read()`` and
``db.write()`` are used directly; a write there may wait for its lock up to
``write_lock_timeout``: on SQLite polling in steps of at most 2 ms (``begin_immediate``), on
PostgreSQL per lock. Past the bound: ``WriteLockTimeout``, which the edge answers with 503 and
``Retry-After``, never 500; an API mutation that meets it fails as a whole (``api.execution``),
not field by field. A plain ``db.write()`` opened on the loop itself (the server's code opens
none: the bearer cache's ``last_used`` write goes through ``writing``) never waits either:
SQLite as above, PostgreSQL with a ``lock_timeout`` of ``LOOP_LOCK_TIMEOUT_MS``; it gets
``WriteLockBusy``, which the edge answers with 503.

Running ``work`` again is safe because ``WriteLockBusy`` comes before anything was written, or
with it rolled back. So ``work`` must not act outside its transaction.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import sqlite3
import threading
import time
from asyncio import _get_running_loop
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .connection_health import DatabaseUnavailable, is_disconnect

T = TypeVar("T")

DEFAULT_WRITE_LOCK_TIMEOUT = 15.0  # seconds
LOOP_LOCK_TIMEOUT_MS = 2
# Seconds between a write's tries on the loop before it goes to a thread: a yield to the
# loop first (its other ready requests run meanwhile), then short sleeps (uvloop rounds timers
# to whole milliseconds, so sub-millisecond ones are a yield after its next poll for I/O).
LOOP_RETRY_DELAYS = (0.0, 0.0005, 0.001, 0.002)
LOCK_WAITERS = 16
WORKER_THREADS = 8  # PostgreSQL: threads per worker process running units of work
MAX_QUEUED = 1024  # PostgreSQL: units of work waiting for one of them
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's lock_timeout
READER_BUSY_TIMEOUT_MS = 15000  # readers' busy handler (rarely needed in WAL)


class WriteLockUnavailable(DatabaseUnavailable):
    """A write could not take its lock; nothing it did was kept."""


class WriteLockBusy(WriteLockUnavailable):
    """The lock is held and this thread runs the event loop, so it does not wait."""


class WriteLockTimeout(WriteLockUnavailable):
    """The lock stayed held past ``write_lock_timeout``."""


class DatabaseBusy(DatabaseUnavailable):
    """More units of work wait for the database's threads than ``MAX_QUEUED``."""


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
    """The database could not take the work: a held lock (as raised by this module or by
    PostgreSQL), or a lost connection (``connection_health``). Such a failure ends the unit of
    work as a whole, never one field or step of it."""
    return exc is not None and (isinstance(exc, DatabaseUnavailable) or is_lock_timeout(exc) or is_disconnect(exc))


def begin_immediate(driver: sqlite3.Connection, timeout: float, state: dict[str, Any] | None = None) -> None:
    """Take SQLite's write lock: one try on the event loop, else polling briefly up to the bound.

    Not SQLite's busy handler: it sleeps 1, 2, 5, 10 ... 100 ms between tries; our writers hold
    the lock for well under a millisecond, so with two worker processes those sleeps, not the
    work, would set the pace. Readers are unaffected (WAL: they never wait for writers).

    ``state``, given for a connection the loop's thread keeps for its writes, is that
    connection's own record (SQLAlchemy's ``info``): the connection then keeps a busy timeout of
    0, set once instead of twice per transaction (in WAL nothing in a write transaction that
    holds the lock waits for a busy handler). Any other connection gets the readers' timeout back.
    """
    if state is not None and on_event_loop():
        _busy_timeout(driver, state, 0)
        _begin_on_loop(driver)
        return
    state = {} if state is None else state
    _busy_timeout(driver, state, 0)
    try:
        if on_event_loop():
            _begin_on_loop(driver)
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
        _busy_timeout(driver, state, READER_BUSY_TIMEOUT_MS)


def _begin_on_loop(driver: sqlite3.Connection) -> None:
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if not _is_busy(exc):
            raise
        raise WriteLockBusy("The write lock is held.") from None


BUSY_TIMEOUT = "orderchamp_busy_timeout_ms"


def _busy_timeout(driver: sqlite3.Connection, state: dict[str, Any], ms: int) -> None:
    """Set the connection's busy timeout, unless ``state`` says it has it already. A
    connection is made with ``READER_BUSY_TIMEOUT_MS`` (``database._configure_sqlite``)."""
    if state.get(BUSY_TIMEOUT, READER_BUSY_TIMEOUT_MS) != ms:
        driver.execute(f"PRAGMA busy_timeout={ms}")
        state[BUSY_TIMEOUT] = ms


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


class WriteRunner:
    """SQLite's writes from the loop for one database: its bound, and the threads that may wait on it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._limiter: Any = None
        self._turn = threading.Lock()

    async def run_write(self, work: Callable[[], T]) -> T:
        """Run ``work`` (sync, with write transactions) from the event loop: inline, again on
        the loop a few times if it met a held lock, then in a thread (see the module's rule)."""
        try:
            return work()
        except WriteLockBusy:
            deadline = time.monotonic() + self.timeout
        for delay in LOOP_RETRY_DELAYS:
            await asyncio.sleep(delay)
            try:
                return work()
            except WriteLockBusy:
                pass
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(LOCK_WAITERS)

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


class DatabaseWorkers:
    """The threads that run a database's units of work from the event loop (PostgreSQL).

    A fixed set, so that each may keep its connections (``Database``) without the set of
    connections growing with the threads Starlette happens to use; started on first use. The
    handoff is one queue put and one wake-up of the loop per unit: ``run_in_executor`` would
    add a ``concurrent.futures`` future, its callbacks and locks to every unit."""

    def __init__(self, local: threading.local, size: int) -> None:
        self.size = size
        self._local = local
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._pending = 0

    def _serve(self) -> None:
        self._local.worker = True
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, done, context, fn, args = job
            if done.cancelled():
                continue  # its request gave up before the unit started: it never runs
            try:
                outcome: tuple[Any, BaseException | None] = (context.run(fn, *args), None)
            except BaseException as exc:  # handed to the waiting coroutine, raised there
                outcome = (None, exc)
            try:
                loop.call_soon_threadsafe(_settle, done, *outcome)
            except RuntimeError:
                pass  # its loop has ended (a test's): nobody waits for the answer any more

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pending >= MAX_QUEUED:
            raise DatabaseBusy("Too much work is waiting for the database.")
        if len(self._threads) < self.size and len(self._threads) <= self._pending:
            self._start_thread()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._pending += 1
        try:
            # the request's context (its id, for logs) goes with the unit
            self._jobs.put((loop, done, contextvars.copy_context(), fn, args))
            return await done
        finally:
            self._pending -= 1

    def _start_thread(self) -> None:
        with self._start_lock:
            if len(self._threads) < self.size:
                thread = threading.Thread(target=self._serve, daemon=True,
                                          name=f"orderchamp-db_{len(self._threads)}")
                thread.start()
                self._threads.append(thread)

    def shutdown(self) -> None:
        with self._start_lock:
            for _ in self._threads:
                self._jobs.put(None)
            self._threads = []


def _settle(done: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if done.done():  # its request was cancelled meanwhile
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(result)
