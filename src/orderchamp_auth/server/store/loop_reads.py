"""PostgreSQL reads awaited on the event loop itself, for the one statement a cached API answer
needs (the account's data version): a thread handoff would cost more than the read.

One connection per event loop (autocommit: one statement, its own snapshot, as the database's
other readers), opened on first use with psycopg, then driven on libpq directly: one statement
in flight at a time (sent with its parameters, unprepared: one message, one answer), the
others queued in order, and one reader callback on its socket for all of them. A read that
finds the same statement with the same values queued and not yet sent waits for that one's
answer: it is sent after both reads began, so it sees what either would have seen. psycopg's own
async cursor waits on the socket twice per statement, each time with a future and a reader
added and removed: nearly what the thread handoff it would save costs.
The loop never blocks: a statement is sent without waiting, its answer read when it is there.

Whatever goes wrong (a connection lost, a server restarted, an unreachable database) drops the
connection and answers ``None`` to every waiting read, and the caller takes the ordinary way
(``Database.reading``), where connection health is handled (a retry once, 503); for a second
after a failure every read goes that way, then a new connection is tried.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from typing import Any

import psycopg
from psycopg import pq

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2  # seconds (libpq's are whole); past it the ordinary way answers
RETRY_AFTER = 1.0  # seconds after a failure during which the ordinary way answers at once
MAX_WAITING = 1024  # reads waiting behind the one in flight; past that the ordinary way answers
MAX_STATEMENTS = 16
# An answer not there by then (a lost connection whose socket never turns readable, a stalled
# server) drops the connection: its reads, and those queued behind it, take the ordinary way.
ANSWER_TIMEOUT = 1.0  # seconds
_NAMED = re.compile(r"%\((\w+)\)s")


def positional(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """psycopg's ``%(name)s`` SQL as libpq's ``$n``, with the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED.sub(number, sql).replace("%%", "%").encode(), tuple(names)


def _text(value: Any) -> bytes | None:
    return None if value is None else str(value).encode()


class LoopReader:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Task[psycopg.AsyncConnection[Any]] | None = None
        self._failed_at = float("-inf")  # the loop's time of the last failure
        self._statements: dict[str, tuple[bytes, tuple[str, ...]]] = {}  # sql -> libpq's, its names
        # statements sent or to send: (sql, values, the futures of the reads it answers); the first
        # is in flight; those not sent yet are also found by their sql and values
        self._queue: deque[tuple[bytes, tuple[bytes | None, ...], list[asyncio.Future[Any]]]] = deque()
        self._unsent: dict[tuple[bytes, tuple[bytes | None, ...]], list[asyncio.Future[Any]]] = {}
        self._waiting = 0
        self._rows: list[Any] = []
        self._failed = False
        self._socket = -1
        self._watchdog: asyncio.TimerHandle | None = None  # the statement in flight's deadline

    async def rows(self, sql: str, params: dict[str, Any]) -> list[Any] | None:
        """The rows of ``sql`` (as text values), or ``None`` where this way cannot answer now."""
        loop = asyncio.get_running_loop()
        connection = self._connection
        if connection is None or self._loop is not loop or connection.pgconn.status != pq.ConnStatus.OK:
            if self._loop is loop and loop.time() - self._failed_at < RETRY_AFTER:
                return None
            connection = await self._connect(loop)
            if connection is None:
                return None
        if self._waiting >= MAX_WAITING:
            return None
        statement = self._statements.get(sql)
        if statement is None:
            if len(self._statements) >= MAX_STATEMENTS:
                return None  # a handful of statements use this way: a bound, not a cache policy
            statement = self._statements[sql] = positional(sql)
        done: asyncio.Future[Any] = loop.create_future()
        key = (statement[0], tuple(_text(params.get(name)) for name in statement[1]))
        self._waiting += 1
        same = self._unsent.get(key)
        if same is not None:
            same.append(done)
        else:
            futures = [done]
            self._queue.append((key[0], key[1], futures))
            if len(self._queue) == 1:
                self._send()
            else:
                self._unsent[key] = futures
        return await done  # type: ignore[no-any-return]

    def _send(self) -> None:
        connection = self._connection
        if connection is None:
            return
        pgconn = connection.pgconn
        sql, values, _ = self._queue[0]
        self._unsent.pop((sql, values), None)
        try:
            pgconn.send_query_params(sql, list(values))
            if pgconn.flush():  # a few hundred bytes: a socket that cannot take them is not well
                raise psycopg.OperationalError("the statement could not be sent at once")
        except psycopg.Error as exc:
            self._fail(exc)
            return
        if self._loop is not None:
            self._watchdog = self._loop.call_later(ANSWER_TIMEOUT, self._timed_out)

    def _readable(self) -> None:
        connection = self._connection
        if connection is None:
            return
        pgconn = connection.pgconn
        try:
            pgconn.consume_input()
            while self._queue and not pgconn.is_busy():
                result = pgconn.get_result()
                if result is not None:
                    if result.status == pq.ExecStatus.TUPLES_OK:
                        self._rows = [[result.get_value(row, column) for column in range(result.nfields)]
                                      for row in range(result.ntuples)]
                    else:
                        self._failed = True
                    continue
                # the end of the statement's answers
                if self._watchdog is not None:
                    self._watchdog.cancel()
                    self._watchdog = None
                _, _, futures = self._queue.popleft()
                self._waiting -= len(futures)
                rows, self._rows = self._rows, []
                failed, self._failed = self._failed, False
                for done in futures:
                    if not done.done():
                        done.set_result(None if failed else rows)
                if self._queue:
                    self._send()
        except psycopg.Error as exc:
            self._fail(exc)

    def _timed_out(self) -> None:
        self._watchdog = None
        self._fail(TimeoutError(f"no answer within {ANSWER_TIMEOUT} s"))

    def _fail(self, exc: BaseException) -> None:
        log.info("the event loop's PostgreSQL read failed (%s); the database's threads answer", exc)
        if self._loop is not None and not self._loop.is_closed():
            self._failed_at = self._loop.time()
        self._drop()

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> psycopg.AsyncConnection[Any] | None:
        if self._loop is not loop:
            self._drop()  # another loop's connection (a test's, ended): its socket is closed, not awaited
            self._loop = loop
        elif self._connection is not None:
            self._drop()
        if self._connecting is None:
            # One connect for the requests that arrive meanwhile; it ends by itself (timeout).
            self._connecting = loop.create_task(psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT))
        connecting = self._connecting
        try:
            connection = await asyncio.shield(connecting)
        except (psycopg.Error, OSError) as exc:
            log.info("the event loop's PostgreSQL connection failed (%s); the database's threads answer", exc)
            self._failed_at = loop.time()
            return None
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None
        if self._loop is not loop:
            return None
        if self._connection is None:
            self._connection = connection
            # its number kept: once the connection is lost, libpq no longer gives it
            self._socket = connection.pgconn.socket
            loop.add_reader(self._socket, self._readable)
        return self._connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._connecting is not None and self._loop is not None and not self._loop.is_closed():
            self._connecting.cancel()
        self._connecting = None
        waiting, self._queue = self._queue, deque()
        self._unsent.clear()
        self._waiting = 0
        self._rows, self._failed = [], False
        for *_, futures in waiting:
            for done in futures:
                if not done.done():
                    done.set_result(None)  # the ordinary way answers them
        if connection is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._socket)  # before the socket closes and its number is reused
            if not connection.closed:
                connection.pgconn.finish()  # synchronous: the loop it was opened on may be gone

    def close(self) -> None:
        self._drop()
        self._loop = None
