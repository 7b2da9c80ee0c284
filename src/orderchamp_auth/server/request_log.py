"""One log line per request, its id, and the request metrics: the one place that sees every
request.

It replaces uvicorn's access log, which prints the query string: the install flow carries the
authorization ``code`` and its ``signature`` there. Bodies and headers (tokens, passwords,
cookies) are never read, except ``X-Request-Id``; the path is re-quoted so that a crafted one
cannot forge log lines.

Text lines are ``time METHOD path status duration``. With ``ORDERCHAMP_LOG_FORMAT=json`` each
line is a JSON object (time, level, logger, message, request_id, method, path, route, status,
duration_ms), and ``JsonLogFormatter`` makes the application's own ``logging`` records JSON
objects too, carrying the id of the request they were logged in.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import UNMATCHED_ROUTE
from .request_id import RequestIds, current_request_id

if TYPE_CHECKING:
    from .metrics import Metrics

MAX_PATH_LENGTH = 200
_SAFE_PATH_CHARACTERS = "/:@!$&'()*+,;=-._~"
REQUEST_LOGGER = "orderchamp_auth.request"


def loggable_path(path: str) -> str:
    """The path as it can stand in one line: printable ASCII without spaces, or re-quoted."""
    if not (path.isascii() and path.isprintable() and " " not in path):
        path = quote(path, safe=_SAFE_PATH_CHARACTERS)
    return path if len(path) <= MAX_PATH_LENGTH else path[:MAX_PATH_LENGTH] + "..."


class _Clock:
    """UTC timestamps, the date and time formatted once per second (strftime costs more than
    the rest of a log line)."""

    def __init__(self) -> None:
        # (second, text) in one attribute: threads logging at once never pair one second's
        # number with another's text.
        self._now = (-1, "")
        self._at = (-1, "")

    def now(self) -> str:
        second = int(time.time())
        cached = self._now
        if second != cached[0]:
            cached = self._now = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
        return cached[1]

    def at(self, moment: float) -> str:
        """To the millisecond: ``2026-12-01T23:05:41.123Z``."""
        second = int(moment)
        cached = self._at
        if second != cached[0]:
            cached = self._at = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{cached[1]}.{int((moment - second) * 1000):03d}Z"


class RequestLogMiddleware:
    """Writes straight to the stream, not through ``logging``: a record, a formatter and a
    handler lock per request would cost the API's hot path more than the line is worth.

    ``routes`` maps each endpoint to its route pattern (the router leaves the endpoint in the
    scope): the ``route`` of a JSON line and the label of the request metrics."""

    def __init__(self, app: ASGIApp, stream: TextIO | None = None, *, log: bool = True, log_format: str = "text",
                 routes: Mapping[Any, str] | None = None, metrics: Metrics | None = None) -> None:
        self.app = app
        self.stream = stream or sys.stderr
        self.clock = _Clock()
        self.log = log
        self.json = log_format == "json"
        self.routes = routes or {}
        self.metrics = metrics
        self.ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before it answers
        given = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value
                break
        request_id = self.ids.from_header(given)
        id_header = (b"x-request-id", request_id.encode("ascii"))
        token = current_request_id.set(request_id)

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            current_request_id.reset(token)
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe_request(self._route(scope), scope["method"], status, elapsed)
            if self.log:
                self._write(scope, status, elapsed, request_id)

    def _route(self, scope: Scope) -> str:
        return self.routes.get(scope.get("endpoint"), UNMATCHED_ROUTE)

    def _write(self, scope: Scope, status: int, elapsed: float, request_id: str) -> None:
        method, path = scope["method"], loggable_path(scope["path"])
        if self.json:
            line = orjson.dumps({
                "time": self.clock.at(time.time()), "level": "INFO", "logger": REQUEST_LOGGER,
                "message": f"{method} {path} {status}", "request_id": request_id, "method": method,
                "path": path, "route": self._route(scope), "status": status,
                "duration_ms": round(elapsed * 1000, 3),
            }).decode() + "\n"
        else:
            line = f"{self.clock.now()} {method} {path} {status} {elapsed * 1000:.1f}ms\n"
        try:
            # One write per line: lines from several workers on one pipe do not interleave.
            self.stream.write(line)
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not fail the request


class JsonLogFormatter(logging.Formatter):
    """A ``logging`` record as one JSON object, with the id of the request it was logged in."""

    _clock = _Clock()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._clock.at(record.created), "level": record.levelname, "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def json_logging_config(level: str = "WARNING") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that makes every record (the application's and uvicorn's)
    a JSON line on stderr; uvicorn applies it in each worker."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonLogFormatter"}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "propagate": False},  # request_log replaces it
        },
    }
