from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
