"""Responses of compiled plans, kept while the account's data has not changed.

An entry holds the response body, its actual cost against the rate limit (``cost.py``: the
same data costs the same) and the account's data version it was made at (see
``models.DataVersion``: database triggers raise it in every transaction that changes the
account or its catalogue and orders). A request reads the current version, in the database,
every time; an entry made at another version is never served. So a change is visible to the
very next request on every worker, and a hit costs one primary-key read instead of a query's
statements and the building of its response. Per worker, bounded by the bytes it holds,
least recently used out.

Looked up in the database's threads on PostgreSQL (``Database.reading``), filled on the event
loop only: each dict operation is atomic, and a lookup survives its entry's eviction.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class ResponseCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[int, tuple[bytes, int], int]] = OrderedDict()

    def get(self, key: Hashable, version: int) -> tuple[bytes, int] | None:
        """``(body, actual cost)`` made at ``version``, or None."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            self.misses += 1
            return None
        self.hits += 1
        try:
            self._entries.move_to_end(key)
        except KeyError:
            pass  # evicted meanwhile by the loop's put: the body read is still this version's
        return entry[1]

    def put(self, key: Hashable, version: int, body: bytes, actual_cost: int, key_size: int) -> None:
        cost = len(body) + key_size + 200  # the entry's own objects, roughly
        if cost > self.max_bytes // 8:
            return  # one huge page would push out everything else
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= old[2]
        self._entries[key] = (version, (body, actual_cost), cost)
        self.size += cost
        while self.size > self.max_bytes:
            _, (_, _, evicted) = self._entries.popitem(last=False)
            self.size -= evicted

    def __len__(self) -> int:
        return len(self._entries)
