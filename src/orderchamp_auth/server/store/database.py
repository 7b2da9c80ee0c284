"""Engine and transactions. SQLite (WAL) by default, PostgreSQL when the URL says so.

One transaction per unit of work (``transaction.Transaction``): ``Database.write()`` commits on
success and rolls back on any error, so nothing is ever half written. On SQLite a writing transaction starts with
``BEGIN IMMEDIATE``, as its block starts: a deferred transaction that later upgrades to a
writer can fail with "database is locked" without waiting. How long a write may wait for its
lock depends on the thread it runs on: see ``write_lock``, where that rule lives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from .connection_health import DatabaseUnreachable, cannot_connect, is_disconnect, looks_dead
from .driver_statements import CompiledStatement, StatementCache
from .loop_reads import LoopReader
from .repositories.webhooks import SubscriberHint
from .transaction import DRIVER_BEGUN, Transaction
from .types import UTCDateTime, utcnow
from .write_lock import (
    DEFAULT_WRITE_LOCK_TIMEOUT,
    LOOP_LOCK_TIMEOUT_MS,
    READER_BUSY_TIMEOUT_MS,
    WORKER_THREADS,
    DatabaseWorkers,
    WriteRunner,
    begin_immediate,
    is_lock_timeout,
    lock_unavailable,
    on_event_loop,
)

__all__ = ["Database", "Transaction", "UTCDateTime", "create_database_engine", "normalize_database_url", "utcnow"]

T = TypeVar("T")
R = TypeVar("R")


def normalize_database_url(url: str) -> str:
    """``postgresql://`` selects psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _configure_sqlite(engine: Engine, write_lock_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={READER_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.info.get(DRIVER_BEGUN):
            return  # a Transaction began it already, on the driver: SQLAlchemy joins it
        # Straight to the driver: a full SQLAlchemy execution of "BEGIN" would cost more
        # than most of the queries that follow it.
        driver = conn.connection.driver_connection
        if conn.get_execution_options().get("write", False):
            begin_immediate(driver, write_lock_timeout)
        else:
            driver.execute("BEGIN")


def create_database_engine(url: str, *, pool_size: int = 10, write_lock_timeout: float | None = None) -> Engine:
    """``write_lock_timeout`` bounds a write's wait for a lock off the event loop: SQLite's
    write lock (15 s when not given); on PostgreSQL every lock, as the connections'
    ``lock_timeout`` (none when not given, as for migrations)."""
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 15},
            pool_size=pool_size,
            max_overflow=20,
        )
        _configure_sqlite(engine, write_lock_timeout or DEFAULT_WRITE_LOCK_TIMEOUT)
        return engine
    connect_args = {}
    if write_lock_timeout is not None:
        # A startup parameter: no statement per connection or transaction.
        given = parsed.query.get("options")
        options = f"-c lock_timeout={max(1, round(write_lock_timeout * 1000))}"
        connect_args["options"] = f"{given} {options}" if isinstance(given, str) else options
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=False,
                         connect_args=connect_args)


class Database:
    """One database: its engine, its compiled statements, and the two ways in.

    ``read()`` and ``write()`` are ``with`` blocks yielding one ``Transaction``: a write commits
    when its block ends and rolls back on any error, so nothing is ever half written; a read
    ends without writing. ``reading(work)`` and ``writing(work)`` run ``work(tx)`` for the event
    loop, where the rule in ``write_lock`` says (inline, or in the database's threads).

    Connections: the threads that run transactions all the time (the event loop's, and the
    database's own workers) keep one reading and one writing connection each, so a short
    transaction costs no pool checkout; any other thread, or a transaction opened inside
    another on the same thread, checks one out of the pool for the transaction.
    """

    def __init__(self, url: str, *, pool_size: int = 10,
                 write_lock_timeout: float = DEFAULT_WRITE_LOCK_TIMEOUT) -> None:
        self.url = normalize_database_url(url)
        self.write_lock_timeout = write_lock_timeout
        self.engine = create_database_engine(self.url, pool_size=pool_size, write_lock_timeout=write_lock_timeout)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.statements = StatementCache(self.engine.dialect)
        self.subscriber_hint = SubscriberHint()
        self._local = threading.local()
        self._runner = WriteRunner(write_lock_timeout)
        self._workers = DatabaseWorkers(self._local, max(1, min(WORKER_THREADS, pool_size // 2)))
        self._loop_reader = None if self.is_sqlite else LoopReader(
            make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False))

    # -- the two ways in ---------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        """A read-only transaction. SQLite: a deferred BEGIN, so every read in it sees one
        snapshot. PostgreSQL: autocommit; at READ COMMITTED a transaction gives a read
        nothing (each statement sees its own snapshot either way), and its BEGIN and
        ROLLBACK would cost two round trips more than the query."""
        connection, release = self._connection("reader")
        tx = Transaction(self.statements, connection, writing=False, subscribers=self.subscriber_hint)
        try:
            try:
                if self.is_sqlite:
                    tx.driver.execute("BEGIN")
                yield tx
            except BaseException as exc:
                self._raise_if_lost(exc, tx, committed_maybe=False)
                self._end_read(tx, connection)
                raise
            self._end_read(tx, connection)
        finally:
            release()

    @staticmethod
    def _end_read(tx: Transaction, connection: Connection) -> None:
        try:
            tx._end(commit=False)
        except Exception:
            connection.invalidate()  # its transaction could not be ended: the next one gets another
            raise

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """A write transaction, begun (its lock taken, on SQLite) before the block runs: a
        held lock is then raised here (``write_lock``), before the block did anything."""
        connection, release = self._connection("writer")
        tx = Transaction(self.statements, connection, writing=True, subscribers=self.subscriber_hint)
        committing = False
        try:
            try:
                if self.is_sqlite:
                    # A connection this thread keeps may keep the busy timeout the loop's
                    # writes want; one that goes back to the pool gets the readers' back.
                    kept = connection is getattr(self._local, "writer", None)
                    begin_immediate(tx.driver, self.write_lock_timeout,
                                    connection.connection.info if kept else None)  # psycopg begins by itself
                else:
                    _set_loop_lock_timeout(connection, tx.driver)
                yield tx
                committing = True
                tx._end(commit=True)
            except BaseException as exc:
                self._raise_if_lost(exc, tx, committed_maybe=committing)
                try:
                    tx._end(commit=False)
                except Exception:
                    connection.invalidate()
                if not self.is_sqlite and is_lock_timeout(exc):
                    raise lock_unavailable() from None
                raise
        finally:
            release()

    def _raise_if_lost(self, exc: BaseException, tx: Transaction, *, committed_maybe: bool) -> None:
        """A lost PostgreSQL connection ends the transaction as ``DatabaseUnreachable``
        (``connection_health``): retryable unless the loss came while its commit was sent."""
        if self.is_sqlite or isinstance(exc, DatabaseUnreachable) or not is_disconnect(exc, tx.driver):
            return
        tx._abandon()
        raise DatabaseUnreachable("The connection to the database was lost.", retryable=not committed_maybe) from None

    # -- the event loop's forms --------------------------------------------------------------

    async def reading(self, work: Callable[[Transaction], T]) -> T:
        """``work(tx)`` in a read, from the event loop: inline on SQLite (a local read costs
        less than a thread handoff), in the database's threads on PostgreSQL."""
        if self.is_sqlite:
            return self._read_work(work)
        return await self._workers.run(self._read_work, work)

    async def writing(self, work: Callable[[Transaction], T]) -> T:
        """``work(tx)`` in a write, from the event loop, never waiting for a lock there:
        SQLite inline, or in a thread if the lock was held; PostgreSQL in the database's
        threads. ``work`` may run twice (``write_lock``): it must not act outside ``tx``."""
        if self.is_sqlite:
            return await self._runner.run_write(lambda: self._write_work(work))
        return await self._workers.run(self._write_work, work)

    async def writing_after(self, check: Callable[[Transaction], R], work: Callable[[Transaction, R], T]) -> T:
        """``work(tx, check(tx))`` from the event loop: a read that decides whether the write
        may run (it raises if not), then the write, given what it read (the token endpoint:
        the client authenticated, then its code claimed). SQLite: a read, then a write, so
        that its one writer lock is held for ``work`` only. PostgreSQL: both in one write
        transaction, in one handoff to the database's threads; its reads take no lock, and a
        unit of work less costs a handoff, a transaction's set-up and end."""
        if self.is_sqlite:
            checked = await self.reading(check)
            return await self.writing(lambda tx: work(tx, checked))
        return await self.writing(lambda tx: work(tx, check(tx)))

    async def rows_on_loop(self, statement: CompiledStatement, values: dict[str, Any]) -> list[Any] | None:
        """The rows of one read-only statement, outside any transaction (one statement sees
        one snapshot by itself), for the event loop: on SQLite inline, on the loop's own
        connection, with no BEGIN and ROLLBACK around it; on PostgreSQL awaited on the loop
        (``loop_reads``), with no thread handoff. ``None`` where this way does not answer (a
        transaction already open on this thread, a PostgreSQL connection that failed): then
        ``reading``. The values are as the driver reads them (on PostgreSQL their text), without
        the statement's converters."""
        if self._loop_reader is not None:
            return await self._loop_reader.rows(statement.sql, statement.parameters(values))
        if getattr(self._local, "reader_busy", False):
            return None
        connection, release = self._connection("reader")
        try:
            return connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                statement.sql, statement.parameters(values)).fetchall()
        finally:
            release()

    def _read_work(self, work: Callable[[Transaction], T]) -> T:
        return self._once_more_if_lost(self.read, work)

    def _write_work(self, work: Callable[[Transaction], T]) -> T:
        return self._once_more_if_lost(self.write, work)

    @staticmethod
    def _once_more_if_lost(begin: Callable[[], AbstractContextManager[Transaction]],
                           work: Callable[[Transaction], T]) -> T:
        """``work`` in a transaction, and once more on a fresh connection if the first was lost
        before anything was committed (``connection_health``)."""
        try:
            with begin() as tx:
                return work(tx)
        except DatabaseUnreachable as lost:
            if not lost.retryable:
                raise
        with begin() as tx:
            return work(tx)

    # -- connections -------------------------------------------------------------------------

    def _connection(self, role: str) -> tuple[Connection, Callable[[], None]]:
        """A connection for one transaction, and what ends its use (see the class's doc)."""
        keeps = on_event_loop() or getattr(self._local, "worker", False)
        if keeps and not getattr(self._local, role + "_busy", False):
            conn: Connection | None = getattr(self._local, role, None)
            if conn is None or not self._usable(conn):
                if conn is not None:
                    _discard(conn)
                setattr(self._local, role, None)
                conn = self._new_connection(role)
                setattr(self._local, role, conn)
            setattr(self._local, role + "_busy", True)
            conn.info[DRIVER_BEGUN] = True
            kept = conn

            def release_kept() -> None:
                kept.info.pop(DRIVER_BEGUN, None)
                setattr(self._local, role + "_busy", False)

            return conn, release_kept
        conn = self._new_connection(role)
        conn.info[DRIVER_BEGUN] = True

        def release() -> None:
            conn.info.pop(DRIVER_BEGUN, None)
            conn.close()

        return conn, release

    def _usable(self, conn: Connection) -> bool:
        if conn.closed or conn.invalidated:
            return False
        return self.is_sqlite or not looks_dead(conn.connection.driver_connection)

    def _new_connection(self, role: str) -> Connection:
        """A connection from the pool, alive: one the server closed is dropped, and the pool
        with it (its neighbours died too); a database that cannot be reached raises
        ``DatabaseUnreachable``."""
        for _ in range(2):
            try:
                conn = self.engine.connect()
            except Exception as exc:
                if self.is_sqlite or not cannot_connect(exc):
                    raise
                raise DatabaseUnreachable("The database cannot be reached.", retryable=False) from None
            if self._usable(conn):
                break
            _discard(conn)
            self.engine.dispose(close=False)
        else:
            raise DatabaseUnreachable("The database gives only closed connections.", retryable=False)
        if role == "reader" and not self.is_sqlite:
            # SQLAlchemy restores the isolation level when the connection goes back to the pool.
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    def dispose(self) -> None:
        self._workers.shutdown()
        if self._loop_reader is not None:
            self._loop_reader.close()
        for role in ("reader", "writer"):
            conn = getattr(self._local, role, None)
            if conn is not None:
                conn.close()
                setattr(self._local, role, None)
        self.engine.dispose()


def _set_loop_lock_timeout(conn: Connection, driver: Any) -> None:
    """PostgreSQL: a write connection waits for a row lock as long as its thread may
    (``write_lock``). Set for the session, and again only when the connection changes between
    the loop and a thread: a SET LOCAL would cost a round trip per transaction."""
    loop = on_event_loop()
    if conn.info.get("loop_lock_timeout") is not loop:
        if loop:
            driver.execute(f"SET lock_timeout = '{LOOP_LOCK_TIMEOUT_MS}ms'")
        else:
            driver.execute("RESET lock_timeout")  # back to the connection's startup value
        driver.commit()
        conn.info["loop_lock_timeout"] = loop


def _discard(conn: Connection) -> None:
    """Drop a connection that is dead or whose state is unknown: never back into the pool."""
    if not conn.closed and not conn.invalidated:
        conn.invalidate()
    conn.close()
