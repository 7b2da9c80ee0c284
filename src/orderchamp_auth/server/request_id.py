"""The id of the request being answered: made (or taken from ``X-Request-Id``) by the request
log middleware, sent back in ``X-Request-Id``, logged with the request and with its errors."""

from __future__ import annotations

import itertools
import os
import re
from contextvars import ContextVar

# A client's own id is kept only if it cannot forge a log line or grow without bound.
_SAFE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}").fullmatch

current_request_id: ContextVar[str | None] = ContextVar("orderchamp_request_id", default=None)


def new_request_id() -> str:
    return os.urandom(8).hex()


class RequestIds:
    """Ids unique across workers and restarts (a random prefix per instance, one per worker)
    and cheap to make: a counter, not a system call per request. They need not be secret."""

    def __init__(self) -> None:
        self._prefix = os.urandom(4).hex()
        self._next = itertools.count(1).__next__

    def from_header(self, header: bytes | None) -> str:
        """The client's ``X-Request-Id`` when it is a short safe token, else a new id."""
        if header is not None and _SAFE_ID(header):
            return header.decode("ascii")
        return f"{self._prefix}{self._next() & 0xFFFFFFFF:08x}"


def request_id() -> str:
    """The current request's id; a new one outside a request (a test driving the app directly)."""
    return current_request_id.get() or new_request_id()
