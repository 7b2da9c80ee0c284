"""One log line per request: method, path, status and duration, and nothing else.

It replaces uvicorn's access log, which prints the query string: the install flow carries the
authorization ``code`` and its ``signature`` there. Bodies and headers (tokens, passwords,
cookies) are never read; the path is re-quoted so that a crafted one cannot forge log lines.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_PATH_LENGTH = 200
_SAFE_PATH_CHARACTERS = "/:@!$&'()*+,;=-._~"


def loggable_path(path: str) -> str:
    """The path as it can stand in one line: printable ASCII without spaces, or re-quoted."""
    if not (path.isascii() and path.isprintable() and " " not in path):
        path = quote(path, safe=_SAFE_PATH_CHARACTERS)
    return path if len(path) <= MAX_PATH_LENGTH else path[:MAX_PATH_LENGTH] + "..."


class _Clock:
    """UTC timestamps to the second, formatted once per second (strftime costs more than the
    rest of a log line)."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        return self._text


class RequestLogMiddleware:
    """Writes straight to the stream, not through ``logging``: a record, a formatter and a
    handler lock per request would cost the API's hot path more than the line is worth."""

    def __init__(self, app: ASGIApp, stream: TextIO | None = None) -> None:
        self.app = app
        self.stream = stream or sys.stderr
        self.clock = _Clock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before it answers

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            line = f"{self.clock.now()} {scope['method']} {loggable_path(scope['path'])} {status} {elapsed_ms:.1f}ms\n"
            try:
                # One write per line: lines from several workers on one pipe do not interleave.
                self.stream.write(line)
            except (OSError, ValueError):
                pass  # a closed or broken stderr must not fail the request
