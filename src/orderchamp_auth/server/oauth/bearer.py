"""Bearer authentication for the API, with a per-worker cache.

A token lookup costs no database round trip while nothing was revoked. Every revocation
bumps a counter in the same transaction; each worker reads that counter at most once per
``check_interval`` and drops its cache when it moved. The worker that revoked also drops its
cache at once (``invalidate``), or, when it knows which tokens it revoked (the token
endpoint's replacement of an installation's token), just those (``forget``). So a revoked token is refused immediately by that worker and within about a
second everywhere else. ``last_used_at`` is written in the same periodic pass, not per request.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ...protocol.tokens import hash_secret
from ..store.connection_health import DatabaseUnavailable
from ..store.database import Database, utcnow
from ..store.repositories.tokens import TokenGrant
from ..store.transaction import Transaction

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
        self._lock = threading.Lock()  # one refresh at a time
        self._cache_lock = threading.Lock()  # changes of _cache
        self._generation = 0  # bumped whenever entries are dropped (see lookup_in)

    def cached(self, token: str) -> TokenGrant | None:
        """The grant if it is cached and the cache is fresh; no I/O. ``None`` means: ask ``lookup``."""
        if self.clock() - self._checked_at >= self.check_interval:
            return None
        grant = self._cache.get(hash_secret(token))
        if grant is not None:
            self._used[grant.token_id] = utcnow()
        return grant

    def lookup(self, token: str) -> TokenGrant | None:
        """Refresh the cache if due, then find the token: a primary-key read or two."""
        with self.database.read() as tx:
            return self.lookup_in(tx, token)

    async def lookup_from_loop(self, token: str) -> TokenGrant | None:
        """``lookup`` for the event loop, run where the database's rule says (inline on SQLite,
        in its threads on PostgreSQL: ``store.write_lock``)."""
        return await self.database.reading(lambda tx: self.lookup_in(tx, token))

    def lookup_in(self, tx: Transaction, token: str) -> TokenGrant | None:
        self._refresh_if_due(tx)
        token_hash = hash_secret(token)
        grant = self._cache.get(token_hash)
        if grant is None:
            generation = self._generation
            grant = tx.tokens.find_active_grant(token_hash)
            if grant is not None:
                with self._cache_lock:  # lookups may run in several threads (PostgreSQL)
                    if generation != self._generation:
                        # Entries were dropped while this read ran (a revocation): what it
                        # found may be one of them, so it is not cached.
                        return grant
                    self._cache[token_hash] = grant
                    if len(self._cache) > self.max_cached:
                        # Only the oldest goes: emptying it all would send every client's next
                        # request to the database at once.
                        self._cache.popitem(last=False)
        if grant is not None:
            self._used[grant.token_id] = utcnow()
        return grant

    def refresh_if_due(self) -> None:
        with self.database.read() as tx:
            self._refresh_if_due(tx)

    def _refresh_if_due(self, tx: Transaction) -> None:
        now = self.clock()
        if now - self._checked_at < self.check_interval:
            return
        with self._lock:
            if self.clock() - self._checked_at < self.check_interval:
                return
            version = tx.tokens.revocation_version()
            with self._cache_lock:
                if version != self._version:
                    self._cache.clear()
                    self._generation += 1
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
        except DatabaseUnavailable:
            # On the event loop a held lock is not waited for (store.write_lock), and a
            # database that cannot be reached is not an API error: the next pass writes
            # them, with any newer use recorded meanwhile.
            for token_id, used_at in used.items():
                self._used.setdefault(token_id, used_at)

    def forget(self, token_hashes: tuple[str, ...], version: int | None) -> None:
        """Drop just these tokens, which this worker revoked in a transaction that bumped the
        revocation counter to ``version``: the rest of the cache stays. If that bump was the
        only one since the last refresh, the next refresh has nothing more to drop; otherwise
        someone else revoked too, and the next lookup refreshes (and clears) first. Takes no
        lock that is held across I/O: it runs on the event loop."""
        with self._cache_lock:
            for token_hash in token_hashes:
                self._cache.pop(token_hash, None)
            self._generation += 1
            if version is not None and self._version is not None and version == self._version + 1:
                self._version = version
            else:
                self._checked_at = float("-inf")

    def invalidate(self) -> None:
        """Drop everything: called by this worker right after it revoked something."""
        with self._lock, self._cache_lock:
            self._cache.clear()
            self._generation += 1
            self._checked_at = float("-inf")
