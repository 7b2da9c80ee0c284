"""One log line per request: method, path, status and duration, and nothing else.

It replaces uvicorn's access log, which prints the query string: the install flow carries the
authorization ``code`` and its ``signature`` there. Bodies and headers (tokens, passwords,
cookies) are never read; the path is re-quoted so that a crafted one cannot forge log lines.
"""

from __future__ import annotations

import logging
import sys
import time
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER_NAME = "orderchamp_auth.requests"
MAX_PATH_LENGTH = 200
_SAFE_PATH_CHARACTERS = "/:@!$&'()*+,;=-._~"


def request_logger() -> logging.Logger:
    """The logger, writing plain lines to stderr (uvicorn configures only its own loggers)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        formatter = logging.Formatter("%(asctime)sZ %(message)s", "%Y-%m-%dT%H:%M:%S")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def loggable_path(path: str) -> str:
    shown = quote(path, safe=_SAFE_PATH_CHARACTERS)
    return shown if len(shown) <= MAX_PATH_LENGTH else shown[:MAX_PATH_LENGTH] + "..."


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or request_logger()

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
            self.logger.info("%s %s %d %.1fms", scope["method"], loggable_path(scope["path"]), status, elapsed_ms)
