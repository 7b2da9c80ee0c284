"""The id of the request being answered: made (or taken from ``X-Request-Id``) by the request
log middleware, sent back in ``X-Request-Id``, logged with the request and with its errors."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

# A client's own id is kept only if it cannot forge a log line or grow without bound.
_SAFE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}").fullmatch

current_request_id: ContextVar[str | None] = ContextVar("orderchamp_request_id", default=None)


def new_request_id() -> str:
    return os.urandom(8).hex()


def request_id_from(header: bytes | None) -> str:
    """The client's ``X-Request-Id`` when it is a short safe token, else a new id."""
    if header is not None and _SAFE_ID(header):
        return header.decode("ascii")
    return new_request_id()


def request_id() -> str:
    """The current request's id; a new one outside a request (a test driving the app directly)."""
    return current_request_id.get() or new_request_id()
