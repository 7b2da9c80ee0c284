"""PostgreSQL reads awaited on the event loop itself, for the one statement a cached API answer
needs (the account's data version): a thread handoff would cost more than the read.

One psycopg ``AsyncConnection`` per event loop (autocommit: one statement, its own snapshot,
as the database's other readers), opened on first use. The loop never blocks on it: the
round trip is awaited. Whatever goes wrong with it (a connection lost, a server restarted,
an unreachable database) drops the connection and answers ``None``, and the caller takes the
ordinary way (``Database.reading``), where connection health is handled (a retry once, 503).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2  # seconds (libpq's are whole); past it the ordinary way answers
RETRY_AFTER = 1.0  # seconds after a failure during which the ordinary way answers at once


class LoopReader:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Task[psycopg.AsyncConnection[Any]] | None = None
        self._failed_at = float("-inf")  # the loop's time of the last failure

    async def rows(self, sql: str, params: dict[str, Any]) -> list[Any] | None:
        """The rows of ``sql``, or ``None`` where this way cannot answer now."""
        connection = self._connection
        loop = asyncio.get_running_loop()
        if connection is None or self._loop is not loop or connection.broken or connection.closed:
            if self._loop is loop and loop.time() - self._failed_at < RETRY_AFTER:
                return None
            connection = await self._connect(loop)
            if connection is None:
                return None
        try:
            cursor = await connection.execute(sql, params, prepare=True)
            return await cursor.fetchall()
        except (psycopg.Error, OSError) as exc:
            log.info("the event loop's PostgreSQL read failed (%s); the database's threads answer", exc)
            self._failed_at = loop.time()
            self._drop()
            return None

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
        if self._loop is loop and self._connection is None:
            self._connection = connection
        return self._connection if self._loop is loop else None

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if self._connecting is not None and self._loop is not None and not self._loop.is_closed():
            self._connecting.cancel()
        self._connecting = None
        if connection is not None and not connection.closed:
            connection.pgconn.finish()  # synchronous: the loop it was opened on may be gone

    def close(self) -> None:
        self._drop()
        self._loop = None
