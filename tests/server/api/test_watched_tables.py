"""The tables whose changes raise an account's data version (migration 0004's triggers) are
the tables the API reads, as the description lists them: a type added without triggers
would be served stale from the response cache."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orderchamp_auth.server.store.migrations.versions as versions
from orderchamp_auth.server.api.description import TYPES, watched_tables


def _migration(name: str):
    path = Path(versions.__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_table_the_api_reads_has_a_data_version_trigger():
    migration = _migration("0004_data_versions.py")
    triggered = {table for table, _, _ in migration._watched()}
    assert triggered == set(watched_tables())


def test_the_watched_tables_are_every_described_type_and_nothing_else():
    assert watched_tables() == sorted({spec.table for spec in TYPES.values()})
    assert "accounts" in watched_tables()
