"""Run the app under uvicorn on a socket bound beforehand, and say when it is being served.

Binding first lets ``serve`` report an occupied port in one line before it does anything else
(migrating, printing the demo's credentials), and uvicorn's workers share that one socket.
"serving" is reported once uvicorn has started: by the server itself with one worker, and by
the supervisor's readiness check (each worker answers whether it has started) with several.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "orderchamp_auth.server.app:create_app"
BACKLOG = 2048
WORKER_STARTUP_TIMEOUT = 60.0  # seconds for each worker to build the app


class ServeError(Exception):
    """``serve`` cannot start; the message says why in one line."""


_BIND_PROBLEMS = {
    errno.EADDRINUSE: "the port is already in use (is another server, perhaps another "
                      "`orderchamp-auth serve`, running? Stop it or choose another --port)",
    errno.EACCES: "permission denied (ports below 1024 need extra privileges; choose another --port)",
    errno.EADDRNOTAVAIL: "this machine has no such address (check --host)",
}


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket, bound as uvicorn binds. Listening at once holds the port (a
    socket that is only bound can be bound again by another SO_REUSEADDR process); clients
    wait in the backlog until a worker accepts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except socket.gaierror as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
    except OSError as exc:
        sock.close()
        reason = _BIND_PROBLEMS.get(exc.errno or 0, exc.strerror or str(exc))
        raise ServeError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()


class _Workers(Multiprocess):
    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], on_ready: Callable[[], None]) -> None:
        super().__init__(config, sockets)
        self._on_ready = on_ready
        self.ready = False

    def init_processes(self) -> None:
        super().init_processes()
        # A worker that fails to start exits at once (wait_until_ready returns False); the
        # supervisor's loop then sees its startup failure and stops.
        self.ready = all(p.wait_until_ready(WORKER_STARTUP_TIMEOUT, self.should_exit) for p in self.processes)
        if self.ready:
            self._on_ready()


def run(sock: socket.socket, *, workers: int, on_ready: Callable[[], None], log_format: str = "text") -> bool:
    """Serve until stopped; whether the server ever started."""
    extra: dict[str, Any] = {}
    if log_format == "json":
        from .request_log import json_logging_config

        extra["log_config"] = json_logging_config()
    config = uvicorn.Config(
        APP, factory=True, workers=workers, access_log=False, log_level="warning",
        proxy_headers=False, backlog=BACKLOG, **extra,
    )
    try:
        if workers > 1:
            supervisor = _Workers(config, [sock], on_ready)
            supervisor.run()
            return supervisor.ready
        server = _Server(config, on_ready)
        server.run(sockets=[sock])
        return server.started
    except KeyboardInterrupt:
        return True
    finally:
        sock.close()
