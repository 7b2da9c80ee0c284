"""The leaky bucket's arithmetic, the same in every store (the Redis script repeats it in Lua).

A bucket holds up to ``capacity`` points and refills at ``restore_rate`` points a second. A
bucket never seen, or idle long enough, is full: so a store may forget any full bucket, and
keeps only ``(available, updated)`` of the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Limits:
    capacity: int = 1000
    restore_rate: float = 50.0
    max_query_cost: int = 1000


class Reservation(NamedTuple):
    """A reserve's answer: whether the cost was taken, and what is left afterwards (a tuple:
    one is made per request, and a frozen dataclass takes twice as long to make)."""

    granted: bool
    available: float  # after taking the cost (or, refused, as it stands)
    capacity: int
    restore_rate: float

    def seconds_until(self, cost: int) -> float:
        """How long until ``cost`` points are there (0 when they are)."""
        missing = cost - self.available
        return max(missing / self.restore_rate, 0.0) if self.restore_rate > 0 else math.inf


def refill(available: float, updated: float, now: float, limits: Limits) -> float:
    """The level of a bucket left at ``available`` at ``updated``, at ``now``."""
    # A clock that went back (another worker's reading a hair older) refills nothing.
    gain = (now - updated) * limits.restore_rate
    return min(float(limits.capacity), available + gain if gain > 0 else available)


def reserve(available: float, updated: float, now: float, cost: int, limits: Limits) -> tuple[bool, float]:
    """``(granted, available afterwards)`` for a bucket last left at ``available`` at ``updated``."""
    level = refill(available, updated, now, limits)
    if cost <= level:
        return True, level - cost
    return False, level


def refund(available: float, updated: float, now: float, points: int, limits: Limits) -> float:
    return min(float(limits.capacity), refill(available, updated, now, limits) + max(points, 0))
