"""Throttling: how long to wait before retrying, and when to give up.

The API throttles with HTTP 429 (``Retry-After`` in seconds or as an HTTP date) or with a
GraphQL error whose ``extensions.code`` is ``THROTTLED``. The client honours the server's hint,
otherwise backs off exponentially, and stops after ``max_retries`` or ``max_total_wait``.
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass


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
