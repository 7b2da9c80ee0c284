"""Serving an ASGI app under a real uvicorn on a loopback port, in a thread (shared with tests/e2e)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn


class _ThreadedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # signals belong to the main thread
        yield


def loopback_socket() -> socket.socket:
    """A socket bound to a free 127.0.0.1 port: its port is known before the app is built."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def serve_on_loopback(app: Any, *, sock: socket.socket | None = None, lifespan: str = "off") -> Iterator[str]:
    """Run ``app`` under a real uvicorn on 127.0.0.1 (on ``sock`` if given); yield its base URL."""
    sock = sock if sock is not None else loopback_socket()
    port = sock.getsockname()[1]
    server = _ThreadedServer(uvicorn.Config(app, lifespan=lifespan, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
