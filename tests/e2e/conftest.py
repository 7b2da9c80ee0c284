from __future__ import annotations

from collections.abc import Iterator

import pytest

from orderchamp_auth.server.app import build_platform
from orderchamp_auth.server.settings import Settings
from orderchamp_auth.server.web.platform import Platform

from ..support import Browser, LiveServer, World, free_port, make_settings, start_live_server


@pytest.fixture(scope="session")
def live_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def settings(migrated_database_url: str, live_port: int) -> Settings:
    return make_settings(migrated_database_url, live_port)


@pytest.fixture(scope="session")
def live(settings: Settings, live_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live_server(settings, live_port, str(tmp_path_factory.mktemp("logs") / "server.log"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def platform(settings: Settings) -> Iterator[Platform]:
    built = build_platform(settings)
    yield built
    built.database.dispose()


@pytest.fixture
def world(platform: Platform) -> World:
    return World(platform)


@pytest.fixture
def browser(live: LiveServer) -> Iterator[Browser]:
    b = Browser(live.base_url)
    yield b
    b.close()


@pytest.fixture
def new_browser(live: LiveServer) -> Iterator:
    made: list[Browser] = []

    def make() -> Browser:
        b = Browser(live.base_url)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
