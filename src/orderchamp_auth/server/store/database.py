"""Engine and transactions. SQLite (WAL) by default, PostgreSQL when the URL says so.

One transaction per unit of work: ``Database.write()`` commits on success and rolls back on
any error, so nothing is ever half written. On SQLite a writing transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that later upgrades to a writer can fail with
"database is locked" without waiting, while IMMEDIATE queues on the busy timeout instead.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator


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


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")  # readers (rarely needed in WAL)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver: a full SQLAlchemy execution of "BEGIN" would cost more
        # than most of the queries that follow it.
        driver = conn.connection.driver_connection
        if conn.get_execution_options().get("write", False):
            _begin_immediate(driver)
        else:
            driver.execute("BEGIN")


WRITE_LOCK_TIMEOUT = 15.0


def _begin_immediate(driver: sqlite3.Connection) -> None:
    """Take SQLite's write lock, polling briefly instead of using the busy handler.

    SQLite's busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries; our writers hold the
    lock for well under a millisecond, so with two worker processes those sleeps, not the
    work, would set the pace. Readers are unaffected (WAL: they never wait for writers).
    """
    driver.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
        delay = 0.00005
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.002)
    finally:
        driver.execute("PRAGMA busy_timeout=15000")


def create_database_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 15},
            pool_size=pool_size,
            max_overflow=20,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=False)


class Database:
    """Hands out sessions; each ``with`` block is one transaction."""

    _local: threading.local

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self._local = threading.local()
        self.url = normalize_database_url(url)
        self.engine = create_database_engine(self.url, pool_size=pool_size)
        self._write_engine = self.engine.execution_options(write=True)
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False, autoflush=False)
        self._writer = sessionmaker(bind=self._write_engine, expire_on_commit=False, autoflush=False)


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
        session = self._writer()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
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
                _begin_immediate(driver)  # psycopg begins by itself
            yield conn
            driver.commit()
        except BaseException:
            try:
                driver.rollback()
            except Exception:
                self._drop_thread_connection("write_connection")
            raise

    def dispose(self) -> None:
        for name in self._THREAD_CONNECTIONS:
            conn = getattr(self._local, name, None)
            if conn is not None:
                conn.close()
                setattr(self._local, name, None)
        self.engine.dispose()
