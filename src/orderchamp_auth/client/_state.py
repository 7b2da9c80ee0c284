"""The ``state`` of an authorization: single use, bound to the user's session, short-lived.

An app issues a state when it sends the user to ``/oauth/authorize`` and checks it when the
user comes back (RFC 6749 section 10.12, RFC 9700 section 4.7): the callback must carry a state
this app issued, to this browser session, not yet used and not expired. The store only keeps
records; ``check_pending`` holds the rules, so every store enforces them the same way.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from typing import Protocol

from ._exceptions import StateMismatchError

DEFAULT_STATE_TTL = 600.0


@dataclass(frozen=True)
class PendingAuthorization:
    """What an app remembers between the authorize redirect and the callback."""

    state: str = field(repr=False)
    session_key: str = field(repr=False)
    expires_at: float
    redirect_uri: str | None = None
    code_verifier: str | None = field(default=None, repr=False)
    account_id: str | None = None


class StateStore(Protocol):
    """Storage for pending authorizations. ``pop`` must remove atomically (single use)."""

    def save(self, pending: PendingAuthorization) -> None: ...

    def pop(self, state: str) -> PendingAuthorization | None: ...


class InMemoryStateStore:
    """A process-local store: fine for one process; use a shared store behind several workers."""

    def __init__(self, *, max_entries: int = 10_000) -> None:
        self._pending: dict[str, PendingAuthorization] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def save(self, pending: PendingAuthorization) -> None:
        with self._lock:
            if len(self._pending) >= self._max_entries:
                # Drop the oldest entries first (insertion order); their users start again.
                for state in list(self._pending)[: len(self._pending) - self._max_entries + 1]:
                    del self._pending[state]
            self._pending[pending.state] = pending

    def pop(self, state: str) -> PendingAuthorization | None:
        with self._lock:
            return self._pending.pop(state, None)

    def purge_expired(self, now: float) -> int:
        with self._lock:
            expired = [s for s, p in self._pending.items() if p.expires_at <= now]
            for state in expired:
                del self._pending[state]
            return len(expired)

    def __len__(self) -> int:
        return len(self._pending)


def check_pending(pending: PendingAuthorization | None, session_key: str, now: float) -> PendingAuthorization:
    """The rules of a valid state, applied to what the store returned for it."""
    if pending is None:
        raise StateMismatchError("state is unknown or was already used")
    if not hmac.compare_digest(pending.session_key.encode(), session_key.encode()):
        raise StateMismatchError("state was issued to another session")
    if pending.expires_at <= now:
        raise StateMismatchError("state has expired")
    return pending
