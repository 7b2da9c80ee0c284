"""Bearer authentication for the API, with a per-worker cache.

A token lookup costs no database round trip while nothing was revoked. Every revocation
bumps a counter in the same transaction; each worker reads that counter at most once per
``check_interval`` and drops its cache when it moved. The worker that revoked also drops its
cache at once. So a revoked token is refused immediately by that worker and within about a
second everywhere else. ``last_used_at`` is written in the same periodic pass, not per request.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ...protocol.tokens import hash_secret
from ..store.database import Database, utcnow
from ..store.repositories.tokens import TokenGrant
from ..store.write_lock import WriteLockUnavailable

MAX_CACHED = 50_000
LAST_USED_INTERVAL = 60.0


class BearerAuthenticator:
    def __init__(
        self,
        database: Database,
        *,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        max_cached: int = MAX_CACHED,
    ) -> None:
        self.database = database
        self.check_interval = check_interval
        self.clock = clock
        self.max_cached = max_cached  # grants of live tokens only (~0.5 KB each); oldest out
        self._cache: OrderedDict[str, TokenGrant] = OrderedDict()
        self._version: int | None = None
        self._checked_at = float("-inf")
        self._used: dict[int, dt.datetime] = {}
        self._used_flushed_at = clock()
        self._lock = threading.Lock()

    def cached(self, token: str) -> TokenGrant | None:
        """The grant if it is cached and the cache is fresh; no I/O. ``None`` means: ask ``lookup``."""
        if self.clock() - self._checked_at >= self.check_interval:
            return None
        grant = self._cache.get(hash_secret(token))
        if grant is not None:
            self._used[grant.token_id] = utcnow()
        return grant

    def lookup(self, token: str) -> TokenGrant | None:
        """Refresh the cache if due, then find the token: a primary-key read or two, cheap
        enough to run inline on the event loop (see ``api.endpoint``)."""
        self.refresh_if_due()
        token_hash = hash_secret(token)
        grant = self._cache.get(token_hash)
        if grant is None:
            with self.database.read() as tx:
                grant = tx.tokens.find_active_grant(token_hash)
            if grant is not None:
                self._cache[token_hash] = grant
                if len(self._cache) > self.max_cached:
                    # Only the oldest goes: emptying it all would send every client's next
                    # request to the database at once.
                    self._cache.popitem(last=False)
        if grant is not None:
            self._used[grant.token_id] = utcnow()
        return grant

    def refresh_if_due(self) -> None:
        now = self.clock()
        if now - self._checked_at < self.check_interval:
            return
        with self._lock:
            if self.clock() - self._checked_at < self.check_interval:
                return
            with self.database.read() as tx:
                version = tx.tokens.revocation_version()
            if version != self._version:
                self._cache.clear()
                self._version = version
            self._checked_at = self.clock()
            if now - self._used_flushed_at >= LAST_USED_INTERVAL:
                self.flush_last_used()

    def flush_last_used(self) -> None:
        used, self._used = self._used, {}
        self._used_flushed_at = self.clock()
        if not used:
            return
        # One UPDATE for all of them: "last used" is precise to the flush interval anyway.
        try:
            with self.database.write() as tx:
                tx.tokens.touch_last_used(list(used), max(used.values()))
        except WriteLockUnavailable:
            # On the event loop a held lock is not waited for (store.write_lock): the next
            # pass writes them, with any newer use recorded meanwhile.
            for token_id, used_at in used.items():
                self._used.setdefault(token_id, used_at)

    def invalidate(self) -> None:
        """Drop everything: called by this worker right after it revoked something."""
        with self._lock:
            self._cache.clear()
            self._checked_at = float("-inf")
