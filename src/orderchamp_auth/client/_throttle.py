"""Throttling: how long to wait before retrying, and when to give up.

The API throttles with HTTP 429 (``Retry-After`` in seconds or as an HTTP date), or at 200 with
a GraphQL error whose message is ``Throttled`` (Orderchamp's documented answer) or whose
``extensions.code`` is ``THROTTLED``. The client waits exactly as long as the throttle status
says the bucket needs to hold the query's cost (``extensions.cost``), else honours the
server's hint, else backs off exponentially; it stops after ``max_retries`` or
``max_total_wait``.

``Pacer`` is the opt-in client-side bucket: it remembers the last throttle status and what
each query cost, and waits before sending a query it predicts would be throttled.
"""

from __future__ import annotations

import email.utils
import math
from collections import OrderedDict
from dataclasses import dataclass

from ._models import QueryCost, ThrottleStatus

MAX_PACED_QUERIES = 256


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for retrying a throttled request. ``RetryPolicy(max_retries=0)`` never retries."""

    max_retries: int = 3
    backoff_base: float = 1.0
    max_delay: float = 30.0
    max_total_wait: float = 60.0

    def next_delay(self, attempt: int, waited: float, retry_after: float | None) -> float | None:
        """Seconds to wait before retry ``attempt + 1``, or ``None`` to give up.

        A server asking for a longer wait than ``max_delay`` is taken at its word: give up
        rather than retry too early.
        """
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            delay = max(retry_after, 0.0)
            if delay > self.max_delay:
                return None
        else:
            delay = min(self.backoff_base * (2**attempt), self.max_delay)
        if waited + delay > self.max_total_wait:
            return None
        return delay


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; ``None`` if absent or bad."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(moment.timestamp() - now, 0.0)


class Pacer:
    """A client-side picture of the server's bucket: ``delay`` before sending, ``observe``
    after each answer. Bounded: the costs of the last ``MAX_PACED_QUERIES`` query texts."""

    def __init__(self) -> None:
        self._status: ThrottleStatus | None = None
        self._seen_at = 0.0
        self._costs: OrderedDict[str, int] = OrderedDict()

    def delay(self, query: str, now: float) -> float:
        cost = self._costs.get(query)
        status = self._status
        if cost is None or status is None:
            return 0.0
        restored = status.currently_available + max(now - self._seen_at, 0.0) * status.restore_rate
        predicted = ThrottleStatus(status.maximum_available, min(restored, status.maximum_available),
                                   status.restore_rate)
        wait = predicted.seconds_until(cost)
        return wait if math.isfinite(wait) else 0.0

    def observe(self, query: str, cost: QueryCost | None, now: float) -> None:
        if cost is None:
            return
        if cost.requested is not None:
            self._costs[query] = cost.requested
            self._costs.move_to_end(query)
            while len(self._costs) > MAX_PACED_QUERIES:
                self._costs.popitem(last=False)
        if cost.throttle_status is not None:
            self._status, self._seen_at = cost.throttle_status, now
