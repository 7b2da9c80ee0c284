"""Engine and transactions. SQLite (WAL) by default, PostgreSQL when the URL says so.

One transaction per unit of work: ``Database.write()`` commits on success and rolls back on
any error, so nothing is ever half written. On SQLite a writing transaction starts with
``BEGIN IMMEDIATE``, as its block starts: a deferred transaction that later upgrades to a
writer can fail with "database is locked" without waiting. How long a write may wait for its
lock depends on the thread it runs on: see ``write_lock``, where that rule lives.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from .write_lock import (
    DEFAULT_WRITE_LOCK_TIMEOUT,
    LOOP_LOCK_TIMEOUT_MS,
    READER_BUSY_TIMEOUT_MS,
    WriteRunner,
    begin_immediate,
    is_lock_timeout,
    lock_unavailable,
    on_event_loop,
)

T = TypeVar("T")


def normalize_database_url(url: str) -> str:
    """``postgresql://`` selects psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on both backends (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


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
    """Hands out sessions; each ``with`` block is one transaction."""

    _local: threading.local

    def __init__(self, url: str, *, pool_size: int = 10,
                 write_lock_timeout: float = DEFAULT_WRITE_LOCK_TIMEOUT) -> None:
        self._local = threading.local()
        self.url = normalize_database_url(url)
        self.write_lock_timeout = write_lock_timeout
        self.engine = create_database_engine(self.url, pool_size=pool_size, write_lock_timeout=write_lock_timeout)
        self._runner = WriteRunner(write_lock_timeout)
        self._write_engine = self.engine.execution_options(write=True)
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False, autoflush=False)
        self._writer = sessionmaker(bind=self._write_engine, expire_on_commit=False, autoflush=False)

    def run_write(self, work: Callable[[], T]) -> Awaitable[T]:
        """Run ``work``, whose transactions write, from the event loop without waiting for a
        lock on it: inline, or in a thread if a lock was held (``write_lock``)."""
        return self._runner.run_write(work)

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._reader()
        try:
            yield session
        finally:
            # close() ends the transaction without expiring loaded objects, so what a
            # read returned stays usable after the block (rollback() would expire it).
            session.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, begun (its lock taken, on SQLite) before the block runs: a
        held lock is then raised here (``write_lock``), before the block did anything, and
        not inside it (where the API's resolvers would report it as a field error)."""
        session = self._writer()
        try:
            driver: Any = session.connection().connection.driver_connection
            if not self._sqlite and on_event_loop():
                driver.execute(f"SET LOCAL lock_timeout = '{LOOP_LOCK_TIMEOUT_MS}ms'")
            yield session
            session.commit()
        except BaseException as exc:
            session.rollback()
            if not self._sqlite and is_lock_timeout(exc):
                raise lock_unavailable() from None
            raise
        finally:
            session.close()

    _THREAD_CONNECTIONS = ("connection", "driver_connection", "write_connection")

    def _thread_connection(self, name: str, *, autocommit: bool = False) -> Connection:
        """This thread's long-lived connection ``name`` (one per use: their transactions are
        handled differently), made on first use and again if it broke. Connections are not
        thread-safe, so each stays with its thread."""
        conn: Connection | None = getattr(self._local, name, None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect()
            if autocommit:
                # SQLAlchemy restores the isolation level when the connection goes back to the pool.
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            setattr(self._local, name, conn)
        return conn

    def _drop_thread_connection(self, name: str) -> None:
        """Discard a connection whose transaction could not be ended; the next use makes another."""
        conn: Connection | None = getattr(self._local, name, None)
        if conn is not None:
            conn.invalidate()
        setattr(self._local, name, None)

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction on this thread's own long-lived connection, for the small
        lookups of every request (bearer tokens, sessions): an ORM session and a pool checkout
        per request cost several times what a primary-key lookup does.
        """
        conn = self._thread_connection("connection")
        transaction = conn.begin()
        try:
            yield conn
        finally:
            try:
                transaction.rollback()
            except Exception:
                self._drop_thread_connection("connection")
                raise

    @contextmanager
    def driver_snapshot(self) -> Iterator[Connection]:
        """``snapshot()`` for reads that run on the driver only (``driver_statements``), on a
        connection of their own per thread. Nothing inside may execute through SQLAlchemy.

        SQLite: a deferred BEGIN, so that every read sees one snapshot, and a ROLLBACK, on the
        driver (SQLAlchemy's begin and rollback would cost more than a cached read).
        PostgreSQL: autocommit. At READ COMMITTED a transaction gives a read nothing (each
        statement sees its own snapshot either way), but its BEGIN and ROLLBACK would cost
        two more round trips than the query itself.
        """
        conn = self._thread_connection("driver_connection", autocommit=not self._sqlite)
        driver: Any = conn.connection.driver_connection
        if self._sqlite:
            driver.execute("BEGIN")
        try:
            yield conn
        finally:
            try:
                if self._sqlite:
                    driver.rollback()
            except Exception:
                self._drop_thread_connection("driver_connection")
                raise

    @contextmanager
    def driver_write(self) -> Iterator[Connection]:
        """``write()`` for statements that run on the driver only (``driver_statements``), on a
        connection of their own per thread: commits on success, rolls back on any error. For
        the token endpoint, where a session's setup and SQLAlchemy's per-statement machinery
        cost more than its three statements. Nothing inside may execute through SQLAlchemy.
        """
        conn = self._thread_connection("write_connection")
        driver: Any = conn.connection.driver_connection
        try:
            if self._sqlite:
                begin_immediate(driver, self.write_lock_timeout)  # psycopg begins by itself
            else:
                self._set_loop_lock_timeout(conn, driver)
            yield conn
            driver.commit()
        except BaseException as exc:
            try:
                driver.rollback()
            except Exception:
                self._drop_thread_connection("write_connection")
            if not self._sqlite and is_lock_timeout(exc):
                raise lock_unavailable() from None
            raise

    @staticmethod
    def _set_loop_lock_timeout(conn: Connection, driver: Any) -> None:
        """PostgreSQL: this thread's write connection waits for a row lock as long as its
        thread may (``write_lock``). Set for the session, once per thread: a SET LOCAL would
        cost the token endpoint a round trip per exchange."""
        loop = on_event_loop()
        if conn.info.get("loop_lock_timeout") is not loop:
            if loop:
                driver.execute(f"SET lock_timeout = '{LOOP_LOCK_TIMEOUT_MS}ms'")
            else:
                driver.execute("RESET lock_timeout")  # back to the connection's startup value
            driver.commit()
            conn.info["loop_lock_timeout"] = loop

    def dispose(self) -> None:
        for name in self._THREAD_CONNECTIONS:
            conn = getattr(self._local, name, None)
            if conn is not None:
                conn.close()
                setattr(self._local, name, None)
        self.engine.dispose()
