from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fake_platform import FakePlatform
from .loopback import serve_on_loopback


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
