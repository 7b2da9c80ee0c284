from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderchamp_auth.server.app import build_platform
from orderchamp_auth.server.settings import Settings
from orderchamp_auth.server.web.platform import Platform

from .support import Browser, LiveServer, World, free_port, make_settings, start_live_server

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

# The fast run for development is ``pytest -m "not browser and not slow"``; plain ``pytest`` (CI)
# runs everything. Markers come from where a test lives, so a new test cannot forget one.
BROWSER_DIRS = {TESTS / "browser"}
SLOW_DIRS = {TESTS / "fuzz"}
# Modules whose tests start processes: the CLI, servers with other settings, several workers.
SLOW_MODULES = {
    "test_cli_and_storage", "test_cli_demo", "test_cli_options", "test_cli_serve", "test_cli_startup_errors",
    "test_multi_worker", "test_rate_limits_across_processes", "test_sdk_throttling", "test_sdk_readme",
    "test_sdk_example_app", "test_example_app", "test_webhooks_workers",
}
# Fixtures that start a second live server for the tests of a module that otherwise need none.
SLOW_FIXTURES = {"two_workers", "short_bound", "hooks"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        if BROWSER_DIRS & set(path.parents):
            item.add_marker(pytest.mark.browser)
        if (SLOW_DIRS & set(path.parents) or path.stem in SLOW_MODULES
                or SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.slow)


def _find_vectors() -> Path:
    explicit = os.environ.get("ORDERCHAMP_VECTORS")
    candidates = [Path(explicit)] if explicit else []
    candidates += [
        REPO / "tests" / "vectors" / "callback-signatures.json",
        REPO.parent / "shared" / "vectors" / "callback-signatures.json",
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError("callback-signatures.json not found")


@pytest.fixture(scope="session")
def signature_vectors() -> list[dict]:
    return json.loads(_find_vectors().read_text("utf-8"))


def _postgres_database(base_url: str) -> Iterator[str]:
    """A fresh database on the server DATABASE_URL points at, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"oc_test_{secrets.token_hex(4)}"
    admin = url.set(drivername="postgresql", database=url.database or "postgres")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgresql", "postgres")):
        yield from _postgres_database(base)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def migrated_database_url(database_url: str) -> str:
    from orderchamp_auth.server.store.migrate import upgrade_to_head

    upgrade_to_head(database_url)
    return database_url


# One live server for the whole session, on a free loopback port: e2e and browser tests share it.


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
