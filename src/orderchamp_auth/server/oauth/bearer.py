"""Bearer authentication for the API: a per-worker cache of the grants of live tokens.

A token lookup costs no database round trip while nothing was revoked. Every revocation
bumps a counter in the same transaction (the database does, one bump per token); each worker reads that counter at most once per
``check_interval`` and drops its cache when it moved. The worker that revoked also drops its
cache at once (``invalidate``), or, when it knows which tokens it revoked (the token
endpoint's replacement of an installation's token), just those (``forget``). So a revoked
token is refused immediately by that worker and within about a second everywhere else.

The cache opens no transaction: ``lookup`` and ``record_uses`` work in the caller's, and the
API's endpoint owns the units of work (``api/authentication.py``). ``last_used_at`` is not
written per request: the uses are kept here and handed out every ``LAST_USED_INTERVAL``
(``uses_due``) for the caller to write in a write of its own; one that could not be written
is given back (``keep_uses``) for the next pass.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ...protocol.tokens import hash_secret
from ..store.database import utcnow
from ..store.repositories.tokens import TokenGrant
from ..store.transaction import Transaction

MAX_CACHED = 50_000
LAST_USED_INTERVAL = 60.0


@dataclass(frozen=True)
class Uses:
    """When each token was last used, since the last write of them."""

    at: dict[int, dt.datetime]


def record_uses(tx: Transaction, uses: Uses) -> None:
    """Write ``uses`` in the write ``tx``: one UPDATE for all of them ("last used" is precise
    to the flush interval anyway)."""
    tx.tokens.touch_last_used(list(uses.at), max(uses.at.values()))


class BearerAuthenticator:
    def __init__(
        self,
        *,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        max_cached: int = MAX_CACHED,
        last_used_interval: float = LAST_USED_INTERVAL,
    ) -> None:
        self.check_interval = check_interval
        self.clock = clock
        self.max_cached = max_cached  # grants of live tokens only (~0.5 KB each); oldest out
        self.last_used_interval = last_used_interval
        self._cache: OrderedDict[str, TokenGrant] = OrderedDict()
        self._version: int | None = None
        self._checked_at = float("-inf")
        self._used: dict[int, dt.datetime] = {}
        self._used_taken_at = clock()
        self._lock = threading.Lock()  # one refresh at a time
        self._cache_lock = threading.Lock()  # changes of _cache
        self._generation = 0  # bumped whenever entries are dropped (see lookup)

    def cached(self, token: str) -> TokenGrant | None:
        """The grant if it is cached and the cache is fresh; no I/O. ``None`` means: ask ``lookup``."""
        if self.clock() - self._checked_at >= self.check_interval:
            return None
        grant = self._cache.get(hash_secret(token))
        if grant is not None:
            self._used[grant.token_id] = utcnow()
        return grant

    def lookup(self, tx: Transaction, token: str) -> TokenGrant | None:
        """Refresh the cache if due, then find the token, in the read ``tx``: a primary-key
        read or two. May run in several threads at once (PostgreSQL's)."""
        self._refresh_if_due(tx)
        token_hash = hash_secret(token)
        grant = self._cache.get(token_hash)
        if grant is None:
            generation = self._generation
            grant = tx.tokens.find_active_grant(token_hash)
            if grant is not None:
                with self._cache_lock:
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

    def _refresh_if_due(self, tx: Transaction) -> None:
        now = self.clock()
        if now - self._checked_at < self.check_interval:
            return
        # One refresh at a time, and nobody waits for it: on PostgreSQL lookups run in the
        # database's threads (``store.write_lock``), and one waiting for the lock would wait
        # for the refresh's round trip. The others use the cache meanwhile, stale by at most
        # that round trip.
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self.clock() - self._checked_at < self.check_interval:
                return
            version = tx.tokens.revocation_version()
            with self._cache_lock:
                if version != self._version:
                    self._cache.clear()
                    self._generation += 1
                    self._version = version
            self._checked_at = self.clock()
        finally:
            self._lock.release()

    def uses_due(self) -> Uses | None:
        """The uses to write, taken out, once ``last_used_interval`` passed since the last
        time; ``None`` before, or when nothing was used. No I/O."""
        if self.clock() - self._used_taken_at < self.last_used_interval:
            return None
        self._used_taken_at = self.clock()
        if not self._used:
            return None
        used, self._used = self._used, {}
        return Uses(used)

    def keep_uses(self, uses: Uses) -> None:
        """``uses`` could not be written: the next pass writes them, unless a newer use of
        the same token was recorded meanwhile."""
        for token_id, used_at in uses.at.items():
            self._used.setdefault(token_id, used_at)

    def forget(self, token_hashes: tuple[str, ...], version: int | None) -> None:
        """Drop just these tokens, which this worker revoked in a transaction that left the
        revocation counter at ``version`` (one bump per token): the rest of the cache stays.
        If those bumps were the only ones since the last refresh, the next refresh has nothing more to drop; otherwise
        someone else revoked too, and the next lookup refreshes (and clears) first. Takes no
        lock that is held across I/O: it runs on the event loop."""
        with self._cache_lock:
            for token_hash in token_hashes:
                self._cache.pop(token_hash, None)
            self._generation += 1
            if version is not None and self._version is not None and version == self._version + len(token_hashes):
                self._version = version
            else:
                self._checked_at = float("-inf")

    def invalidate(self) -> None:
        """Drop everything: called by this worker, on the event loop, right after it revoked
        something. Not ``_lock``: a refresh holds it across a round trip (``_refresh_if_due``),
        which the loop must not wait for. A refresh under way then keeps the version it read,
        older than this revocation; the next one sees the counter moved and drops the cache again."""
        with self._cache_lock:
            self._cache.clear()
            self._generation += 1
            self._checked_at = float("-inf")
