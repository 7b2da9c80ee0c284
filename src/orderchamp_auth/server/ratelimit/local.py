"""Buckets in this process (one worker), and in memory shared by the workers of one host.

``SharedBuckets`` is a file of fixed slots, memory-mapped by every worker of one ``serve``
(which creates it and names it in the environment). A lock over the file (``flock``) is held
only for the arithmetic of one reserve or refund. The event loop never waits for it: it tries
the lock without blocking, and only when another worker holds it at that instant does the
same step run in a thread, which waits the few instructions the other worker needs.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import mmap
import os
import struct
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from .bucket import Limits, Reservation, refund, reserve

T = TypeVar("T")

SHARED_FILE_ENV = "ORDERCHAMP_RATE_LIMIT_SHARED_FILE"
MAX_LOCAL_BUCKETS = 100_000
SHARED_SLOTS = 65_536
# Slots tried for a key; past them the longest-idle one is taken over (it is full, or nearly,
# unless more keys than slots are in use at once).
SHARED_PROBES = 8
_SLOT = struct.Struct("<Qdd")  # key hash (0: empty), points available, when


class LocalBuckets:
    """For one worker: a bounded map, the longest untouched bucket (the fullest) out first."""

    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic,
                 max_buckets: int = MAX_LOCAL_BUCKETS) -> None:
        self.limits = limits
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    async def reserve(self, key: str, cost: int) -> Reservation:
        return self.reserve_now(key, cost)

    async def refund(self, key: str, points: int) -> None:
        self.refund_now(key, points)

    def reserve_now(self, key: str, cost: int) -> Reservation:
        now = self.clock()
        available, updated = self._state(key, now)
        granted, available = reserve(available, updated, now, cost, self.limits)
        self._put(key, available, now)
        return Reservation(granted, available, self.limits.capacity, self.limits.restore_rate)

    def refund_now(self, key: str, points: int) -> None:
        now = self.clock()
        available, updated = self._state(key, now)
        self._put(key, refund(available, updated, now, points, self.limits), now)

    refund_soon = refund_now

    def _state(self, key: str, now: float) -> tuple[float, float]:
        state = self._buckets.get(key)
        return state if state is not None else (float(self.limits.capacity), now)

    def _put(self, key: str, available: float, now: float) -> None:
        self._buckets[key] = (available, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_buckets:
            self._buckets.popitem(last=False)


def create_shared_file(slots: int = SHARED_SLOTS) -> str:
    """A zeroed file for ``slots`` buckets, readable by this user only. Memory-mapped, it is
    read and written in the page cache: the disk is not in the way."""
    fd, path = tempfile.mkstemp(prefix="orderchamp-ratelimit-")
    try:
        os.ftruncate(fd, slots * _SLOT.size)
    finally:
        os.close(fd)
    return path


class SharedBuckets:
    """For the workers of one host: the slots of a file made by ``create_shared_file``."""

    def __init__(self, path: str, limits: Limits, *, clock: Callable[[], float] = time.monotonic) -> None:
        # CLOCK_MONOTONIC is one clock for every process of the host: the workers agree on it.
        self.limits = limits
        self.clock = clock
        self._fd = os.open(path, os.O_RDWR)
        size = os.fstat(self._fd).st_size
        self.slots = size // _SLOT.size
        if self.slots < 1:
            os.close(self._fd)
            raise ValueError(f"{path} holds no bucket slots")
        self._map = mmap.mmap(self._fd, self.slots * _SLOT.size)
        self.contended = 0  # steps that found the lock taken and ran in a thread (tests read it)
        self._hashes: dict[str, int] = {}  # key -> _hash(key), a third of a reserve's time
        self._offsets: dict[int, int] = {}  # _hash(key) -> its slot when last seen: probing is another third
        self._refunds: dict[int, int] = {}  # _hash(key) -> points given back, not written yet
        self._flush_scheduled = False

    def close(self) -> None:
        if self._refunds:
            self.flush_refunds()
        self._map.close()
        os.close(self._fd)

    async def reserve(self, key: str, cost: int) -> Reservation:
        reservation = self.reserve_now(key, cost)
        if reservation is None:
            return await self._contended(self._reserve, self._hash(key), cost)
        return reservation

    def reserve_now(self, key: str, cost: int) -> Reservation | None:
        hashed = self._hash(key)
        if not self._try_lock():
            return None
        try:
            if self._refunds:
                self._apply_refunds(self._take_refunds())
            return self._reserve(hashed, cost)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def refund_soon(self, key: str, points: int) -> None:
        """Queued: written with this worker's next reservation, or on the loop's next round,
        whichever comes first (the refunds of one round under one lock, not a lock each)."""
        hashed = self._hash(key)
        self._refunds[hashed] = self._refunds.get(hashed, 0) + points
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_refunds)

    def flush_refunds(self) -> None:
        """Writes the queued refunds now, waiting for the lock (closing, tests)."""
        self._blocking(self._apply_refunds, self._take_refunds())

    def _flush_refunds(self) -> None:
        self._flush_scheduled = False
        if not self._refunds:
            return
        if not self._try_lock():
            # in a thread, not awaited: no response waits for its refund
            self.contended += 1
            asyncio.get_running_loop().run_in_executor(None, self._blocking, self._apply_refunds,
                                                       self._take_refunds())
            return
        try:
            self._apply_refunds(self._take_refunds())
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _take_refunds(self) -> dict[int, int]:
        refunds, self._refunds = self._refunds, {}
        return refunds

    def _apply_refunds(self, refunds: dict[int, int]) -> None:
        # With the lock held. A refund written later than given comes to the same level: the
        # bucket refilled meanwhile either way, up to the same capacity.
        for hashed, points in refunds.items():
            self._refund(hashed, points)

    async def refund(self, key: str, points: int) -> None:
        hashed = self._hash(key)
        if not self._try_lock():
            await self._contended(self._refund, hashed, points)
            return
        try:
            self._refund(hashed, points)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _hash(self, key: str) -> int:
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= MAX_LOCAL_BUCKETS:
                self._hashes.clear()
            hashed = self._hashes[key] = _hash(key)
        return hashed

    def _try_lock(self) -> bool:
        """The file's lock if no other worker holds it at this instant (never waits)."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    async def _contended(self, step: Callable[[int, int], T], hashed: int, amount: int) -> T:
        self.contended += 1
        return await anyio.to_thread.run_sync(self._blocking, step, hashed, amount)

    def _blocking(self, step: Callable[..., T], *arguments: Any) -> T:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            return step(*arguments)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _reserve(self, hashed: int, cost: int) -> Reservation:
        now = self.clock()
        offset, available, updated = self._slot(hashed, now)
        granted, available = reserve(available, updated, now, cost, self.limits)
        _SLOT.pack_into(self._map, offset, hashed, available, now)
        return Reservation(granted, available, self.limits.capacity, self.limits.restore_rate)

    def _refund(self, hashed: int, points: int) -> None:
        now = self.clock()
        offset, available, updated = self._slot(hashed, now)
        _SLOT.pack_into(self._map, offset, hashed, refund(available, updated, now, points, self.limits), now)

    def _slot(self, hashed: int, now: float) -> tuple[int, float, float]:
        """The key's slot (or the one it takes over) and its bucket; with the lock held."""
        offset = self._offsets.get(hashed)
        if offset is not None:
            # where the key was last time, if no other key has taken the slot over since
            held, available, updated = _SLOT.unpack_from(self._map, offset)
            if held == hashed:
                return offset, available, updated
        offset, available, updated = self._probe(hashed, now)
        if len(self._offsets) >= MAX_LOCAL_BUCKETS:
            self._offsets.clear()
        self._offsets[hashed] = offset
        return offset, available, updated

    def _probe(self, hashed: int, now: float) -> tuple[int, float, float]:
        start = hashed % self.slots
        idle_offset, idle_since = -1, float("inf")
        for probe in range(min(SHARED_PROBES, self.slots)):
            offset = ((start + probe) % self.slots) * _SLOT.size
            held, available, updated = _SLOT.unpack_from(self._map, offset)
            if held == hashed:
                return offset, available, updated
            if held == 0:
                return offset, float(self.limits.capacity), now
            if updated < idle_since:
                idle_offset, idle_since = offset, updated
        return idle_offset, float(self.limits.capacity), now


def _hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1
