"""The errors of a GraphQL result as the client sees them, for both engines.

An error raised on purpose is a ``GraphQLError`` (ACCESS_DENIED, BAD_USER_INPUT, ...) and
keeps its message. Anything else that escaped a resolver reaches graphql-core's result as a
``GraphQLError`` whose ``original_error`` is that exception: its text is a driver's or
Python's, so the client gets a generic message and the request's id instead (the one in
the ``X-Request-Id`` header and the request log), and the log gets the exception with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError

from ..request_id import request_id as current_request_id

log = logging.getLogger(__name__)

INTERNAL_ERROR = "INTERNAL_SERVER_ERROR"


def unexpected_cause(error: GraphQLError) -> BaseException | None:
    """The exception behind an error nobody raised on purpose, or ``None``."""
    cause = error.original_error
    # graphql-core wraps a GraphQLError raised without a path in another one.
    for _ in range(8):
        if cause is None:
            return None
        if not isinstance(cause, GraphQLError):
            return cause
        cause = cause.original_error
    return cause


def format_errors(errors: Iterable[GraphQLError]) -> list[dict[str, Any]]:
    formatted: list[dict[str, Any]] = []
    request_id: str | None = None
    for error in errors:
        cause = unexpected_cause(error)
        if cause is None:
            shown: dict[str, Any] = error.formatted  # type: ignore[assignment]
            if error.path is None and not (shown.get("extensions") or {}).get("code"):
                # graphql-core's own request errors (variables that do not coerce, an unknown
                # operation) come without a code; they are the request's fault.
                shown = {**shown, "extensions": {**(shown.get("extensions") or {}), "code": "BAD_USER_INPUT"}}
            formatted.append(shown)
            continue
        request_id = request_id or current_request_id()
        log.error("Internal error; request id %s; at %s", request_id, error.path,
                  exc_info=(type(cause), cause, cause.__traceback__))
        internal: dict[str, Any] = {"message": f"Internal error; request id {request_id}"}
        if error.locations is not None:
            internal["locations"] = [location.formatted for location in error.locations]
        if error.path is not None:
            internal["path"] = error.path
        internal["extensions"] = {"code": INTERNAL_ERROR, "requestId": request_id}
        formatted.append(internal)
    return formatted


def has_internal_error(errors: Iterable[dict[str, Any]]) -> bool:
    return any((e.get("extensions") or {}).get("code") == INTERNAL_ERROR for e in errors)
