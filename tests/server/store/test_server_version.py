"""The oldest PostgreSQL the schema runs on (store/migrate.py): an older server is refused
before anything is written, with its version and the one needed."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from orderchamp_auth.server.store.database import normalize_database_url
from orderchamp_auth.server.store.migrate import MIN_POSTGRESQL, DatabaseProblem, _check_server_version


def test_postgresql_12_is_refused_with_both_versions():
    with pytest.raises(DatabaseProblem, match=r"PostgreSQL 12\.9 is too old.*PostgreSQL 13 or newer"):
        _check_server_version((12, 9))


@pytest.mark.parametrize("version", [(13, 0), (15, 19), (17, 2), None])
def test_13_and_newer_pass(version):
    _check_server_version(version)


def test_the_server_the_suite_runs_on_is_new_enough(migrated_database_url):
    engine = create_engine(normalize_database_url(migrated_database_url))
    try:
        with engine.connect() as conn:
            version = conn.dialect.server_version_info
    finally:
        engine.dispose()
    if conn.dialect.name == "postgresql":
        assert version[0] >= MIN_POSTGRESQL
