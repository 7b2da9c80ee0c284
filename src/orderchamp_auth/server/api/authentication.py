"""The API's bearer authentication: the token from the request, its grant from the worker's
cache (``oauth/bearer.py``), and the units of work that cache needs, owned here.

The hot path (a cached grant) is ``BearerAuthenticator.cached``, called by the endpoint with
no I/O. A miss is one read (``await db.reading``: where the store's rule says). The uses of
the last minute are then written in a write of their own, started in the background: the
request does not wait for it, and the loop never waits for its lock (``store.write_lock``:
on SQLite the write runs inline unless the lock is held, then in a thread). At most one such
write is in flight per worker; uses it could not write are kept for the next one.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request

from ..oauth.bearer import BearerAuthenticator, Uses, record_uses
from ..store.connection_health import DatabaseUnavailable
from ..store.database import Database
from ..store.repositories.tokens import TokenGrant

MAX_TOKEN_LENGTH = 512

log = logging.getLogger(__name__)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header or header[:7].lower() != "bearer ":
        return None
    token = header[7:].strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    return token


class BearerLookups:
    """A cache miss's read, and the background write of the uses, for one worker's cache."""

    def __init__(self, database: Database, authenticator: BearerAuthenticator) -> None:
        self.database = database
        self.authenticator = authenticator
        self._writing: asyncio.Task[None] | None = None

    async def lookup(self, token: str) -> TokenGrant | None:
        """The grant of ``token`` from the database (``None``: unknown or revoked), the cache
        refreshed first if due."""
        authenticator = self.authenticator
        grant = await self.database.reading(lambda tx: authenticator.lookup(tx, token))
        uses = authenticator.uses_due()
        if uses is not None:
            self._write_later(uses)
        return grant

    def _write_later(self, uses: Uses) -> None:
        if self._writing is not None and not self._writing.done():
            self.authenticator.keep_uses(uses)  # the next pass takes them with its own
            return
        task = asyncio.get_running_loop().create_task(self.database.writing(lambda tx: record_uses(tx, uses)))
        task.add_done_callback(lambda done: self._written(done, uses))
        self._writing = task

    def _written(self, task: asyncio.Task[None], uses: Uses) -> None:
        if not task.cancelled() and task.exception() is None:
            return
        self.authenticator.keep_uses(uses)
        exc = None if task.cancelled() else task.exception()
        # A held lock or an unreachable database is not an error here: the next pass writes
        # them, with any newer use recorded meanwhile.
        if exc is not None and not isinstance(exc, DatabaseUnavailable):
            log.error("writing the bearer tokens' last use failed; the next pass tries again", exc_info=exc)

    async def written(self) -> None:
        """Until the write in flight, if any, has ended (tests and shutdown)."""
        task = self._writing
        if task is not None and not task.done():
            await asyncio.wait([task])
