"""Connection health: telling a dead PostgreSQL connection from a failing statement.

After a PostgreSQL restart every connection a worker keeps (and every one in its pool) is
dead, and finds out only when next used. The ``Database`` handles it in one place:

- Before a transaction starts on a connection, ``looks_dead`` asks the socket, without a round
  trip: an idle connection has nothing to read unless the server closed it (it sends its
  termination notice, then end of file). A dead one is replaced before anything runs on it, and
  since its neighbours in the pool died with it, the pool is replaced too.
- A connection that dies inside a transaction raises an error ``is_disconnect`` recognises;
  the transaction is then lost, nothing of it committed, and ``reading``/``writing`` run the
  unit of work once more on a fresh connection (a write only if the loss came before its
  commit was sent: after that, whether it committed is unknown).
- A database that cannot be reached raises ``DatabaseUnreachable``, which the edge answers
  with 503 and ``Retry-After``, never 500.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg

from ...protocol.errors import OrderchampAuthError

# SQLSTATE classes and codes of a connection that is gone or going: connection exceptions,
# and the server shutting down or starting up.
_GONE_STATES = ("57P01", "57P02", "57P03")


class DatabaseUnavailable(OrderchampAuthError):
    """The database cannot take this unit of work now (a lock held too long, too much work
    queued, no connection); nothing it did was kept. The edge answers 503 with ``Retry-After``."""

    retry_after = 1


class DatabaseUnreachable(DatabaseUnavailable):
    """The database could not be reached, or the connection was lost.

    ``retryable``: nothing was committed, so the unit of work may run again."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def is_disconnect(exc: BaseException, driver: Any = None) -> bool:
    """Whether ``exc`` (as psycopg raises it, or SQLAlchemy wraps it) says the connection is lost."""
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", exc)
    if not isinstance(orig, psycopg.OperationalError):
        return False
    state = getattr(orig, "sqlstate", None)
    if state is None:
        # Errors the server reports carry a SQLSTATE; one without is the connection failing.
        return True
    return state.startswith("08") or state in _GONE_STATES or (
        driver is not None and bool(driver.closed or getattr(driver, "broken", False)))


def cannot_connect(exc: BaseException) -> bool:
    """Whether opening a connection failed for want of a server (refused, timed out, shutting down)."""
    return isinstance(getattr(exc, "orig", exc), psycopg.OperationalError)


def looks_dead(driver: Any) -> bool:
    """An idle psycopg connection the server has closed (no round trip: see the module's doc)."""
    if driver.closed or driver.broken:
        return True
    try:
        poller = select.poll()
        poller.register(driver.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg.Error):
        return True
