from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fake_platform import FakePlatform


class _ThreadedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # signals belong to the main thread
        yield


@contextlib.contextmanager
def serve_on_loopback(app: Any) -> Iterator[str]:
    """Run ``app`` under a real uvicorn on a free 127.0.0.1 port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _ThreadedServer(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
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


@dataclass
class Script:
    """Answers to give, in order, and the requests received (a scripted API over real HTTP)."""

    answers: list[tuple[int, dict[str, str], Any]]
    requests: list[dict[str, Any]] = field(default_factory=list)


class ScriptedAPI:
    def __init__(self, base_url: str, scripts: dict[str, Script]) -> None:
        self.base_url = base_url
        self._scripts = scripts

    def script(self, *answers: tuple[int, dict[str, str], Any]) -> tuple[str, Script]:
        """Register answers; returns the ``api_url`` that serves them, and the script."""
        name = f"s{len(self._scripts)}"
        self._scripts[name] = Script(list(answers))
        return f"{self.base_url}/{name}/v1", self._scripts[name]


@pytest.fixture(scope="session")
def scripted_api() -> Iterator[ScriptedAPI]:
    scripts: dict[str, Script] = {}

    async def graphql(request: Request) -> Response:
        script = scripts[request.path_params["name"]]
        script.requests.append({"headers": dict(request.headers), "json": await request.json()})
        status, headers, body = script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
        if isinstance(body, (bytes, str)):
            return Response(body, status_code=status, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)

    app = Starlette(routes=[Route("/{name}/v1/graphql", graphql, methods=["POST"])])
    with serve_on_loopback(app) as base_url:
        yield ScriptedAPI(base_url, scripts)


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform()


@pytest.fixture(scope="session")
def loopback_platform() -> Iterator[tuple[FakePlatform, str]]:
    """One fake platform on a real port, for tests that need real HTTP end to end."""
    fake = FakePlatform(redirect_uris=("http://127.0.0.1:8001/callback",))
    with serve_on_loopback(fake.app()) as base_url:
        yield fake, base_url
