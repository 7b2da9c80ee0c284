"""Mistakes at start-up are told in one line with exit status 2, before anything else happens."""

from __future__ import annotations

import socket
import sqlite3

import pytest
from sqlalchemy import create_engine, inspect, text

from orderchamp_auth.server.store.database import normalize_database_url

from .cli_support import assert_one_line_error, cli_env, fresh_database, run


@pytest.fixture
def fresh_database_url(tmp_path):
    yield from fresh_database(tmp_path)


EVERY_COMMAND = {
    "serve": ["serve"],  # given a free port by database_command
    "demo": ["demo"],
    "migrate": ["migrate"],
    "account create": ["account", "create", "--name", "Shop"],
    "partner create": ["partner", "create", "--name", "Partner"],
    "app create": ["app", "create", "--partner", "1", "--name", "A", "--application-url",
                   "https://a.example/install", "--redirect-url", "https://a.example/cb"],
    "token create": ["token", "create", "--account", "1", "--scopes", "account_read"],
}


def database_command(name: str) -> list[str]:
    # serve binds its port before it opens the database: give it a free one.
    if name == "serve":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return ["serve", "--port", str(sock.getsockname()[1])]
    return EVERY_COMMAND[name]


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_a_mistyped_database_url_is_named_in_one_line(command, tmp_path):
    result = run(cli_env("sqlte:///orderchamp.sqlite3"), *database_command(command), cwd=tmp_path)
    assert_one_line_error(result, "sqlte:///orderchamp.sqlite3", "unknown database kind 'sqlte'")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_an_unreachable_postgresql_is_named_without_its_password(command, tmp_path):
    url = "postgresql://orderchamp:hunter2-secret@127.0.0.1:1/orderchamp"
    line = assert_one_line_error(run(cli_env(url), *database_command(command), cwd=tmp_path),
                                 "postgresql://orderchamp:***@127.0.0.1:1/orderchamp")
    assert "hunter2" not in line and "refused" in line.lower()


@pytest.mark.parametrize("command", ["serve", "demo", "migrate", "token create"])
def test_an_unwritable_sqlite_path_says_why(command, tmp_path):
    # /sys refuses new files even to root, where a read-only directory would not.
    line = assert_one_line_error(run(cli_env("sqlite:////sys/orderchamp-test.sqlite3"), *database_command(command),
                                     cwd=tmp_path), "sqlite:////sys/orderchamp-test.sqlite3")
    assert "Permission denied" in line


def test_a_sqlite_path_in_a_missing_directory_says_so(tmp_path):
    url = f"sqlite:///{tmp_path}/missing/db.sqlite3"
    assert_one_line_error(run(cli_env(url), "migrate", cwd=tmp_path), url, f"the directory {tmp_path}/missing does not exist")


@pytest.mark.parametrize(("options", "expected"), [
    (["--port", "99999"], "argument --port: 99999 is not between 1 and 65535"),
    (["--port", "0"], "argument --port: 0 is not between 1 and 65535"),
    (["--port", "http"], "argument --port: 'http' is not a whole number"),
    (["--workers", "0"], "argument --workers: 0 is not between 1 and 256"),
    (["--workers", "-3"], "argument --workers: -3 is not between 1 and 256"),
    (["--host", ""], "argument --host: '' is not a host name or address"),
])
def test_serve_refuses_bad_options_before_starting(options, expected, settings, tmp_path):
    assert_one_line_error(run(cli_env(settings.database_url), "serve", "--demo", *options, cwd=tmp_path), expected)


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("ORDERCHAMP_WEB_URL", "not-a-url", "ORDERCHAMP_WEB_URL must be an absolute http:// or https:// URL"),
    ("ORDERCHAMP_WEB_URL", "ftp://files.example", "ORDERCHAMP_WEB_URL must be an absolute http:// or https:// URL"),
    ("ORDERCHAMP_WEB_URL", "https://auth.example/?x=1", "ORDERCHAMP_WEB_URL must not have a query"),
    ("ORDERCHAMP_API_URL", "https://api.example/v1#top", "ORDERCHAMP_API_URL must not have a query (?...) or fragment"),
    ("ORDERCHAMP_API_URL", "https://user:pw@api.example/v1", "ORDERCHAMP_API_URL must not contain a user name"),
    ("ORDERCHAMP_CODE_TTL", "0", "ORDERCHAMP_CODE_TTL must be between 1 and 300, not 0"),
    ("ORDERCHAMP_CODE_TTL", "301", "ORDERCHAMP_CODE_TTL must be between 1 and 300, not 301"),
    ("ORDERCHAMP_SIGNATURE_MAX_AGE", "soon", "ORDERCHAMP_SIGNATURE_MAX_AGE must be a whole number"),
    ("ORDERCHAMP_SECRET_KEY", "short", "ORDERCHAMP_SECRET_KEY must be at least 16 characters"),
    ("ORDERCHAMP_REQUEST_LOG", "yes", "ORDERCHAMP_REQUEST_LOG must be 1 (on) or 0 (off)"),
])
def test_serve_refuses_bad_settings_before_starting(variable, value, expected, settings, tmp_path):
    env = cli_env(settings.database_url, **{variable: value})
    assert_one_line_error(run(env, "serve", "--demo", cwd=tmp_path), expected)


def test_a_bad_setting_in_the_env_file_is_refused_too(settings, tmp_path):
    (tmp_path / ".env").write_text("ORDERCHAMP_WEB_URL=localhost:8000\n", "utf-8")
    assert_one_line_error(run(cli_env(settings.database_url), "demo", cwd=tmp_path), "ORDERCHAMP_WEB_URL")


def test_an_occupied_port_is_told_before_the_demo_banner(settings, tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = run(cli_env(settings.database_url), "serve", "--demo", "--port", str(port), cwd=tmp_path)
    assert_one_line_error(result, f"cannot listen on 127.0.0.1:{port}", "already in use", "--port")


def _add_foreign_table(database_url: str) -> None:
    engine = create_engine(normalize_database_url(database_url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, total INTEGER)"))
        conn.execute(text("INSERT INTO ledger_entries (id, total) VALUES (1, 100)"))
    engine.dispose()


def _tables(database_url: str) -> set[str]:
    engine = create_engine(normalize_database_url(database_url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", ["serve", "migrate", "demo", "account create"])
def test_a_database_holding_other_tables_is_left_alone(command, fresh_database_url, tmp_path):
    _add_foreign_table(fresh_database_url)
    result = run(cli_env(fresh_database_url), *database_command(command), cwd=tmp_path)
    assert_one_line_error(result, "holds other tables (ledger_entries) and no record of orderchamp-auth's migrations", "--allow-foreign-tables")
    assert _tables(fresh_database_url) == {"ledger_entries"}


def test_allow_foreign_tables_adds_ours_next_to_them(fresh_database_url, tmp_path):
    _add_foreign_table(fresh_database_url)
    env = cli_env(fresh_database_url)
    result = run(env, "migrate", "--allow-foreign-tables", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {"ledger_entries", "alembic_version", "accounts", "access_tokens"} <= _tables(fresh_database_url)
    # Once our migrations are recorded the database is ours: no flag needed any more.
    assert run(env, "demo", "--json", cwd=tmp_path).returncode == 0


def test_a_database_at_an_unknown_schema_version_is_refused(fresh_database_url, tmp_path):
    env = cli_env(fresh_database_url)
    assert run(env, "migrate", cwd=tmp_path).returncode == 0
    engine = create_engine(normalize_database_url(fresh_database_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    engine.dispose()
    assert_one_line_error(run(env, "migrate", cwd=tmp_path), "schema version f00dfeed", "does not know")


def test_an_empty_sqlite_file_is_a_new_database(tmp_path):
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    result = run(cli_env(f"sqlite:///{path}"), "migrate", cwd=tmp_path)
    assert result.returncode == 0 and "up to date" in result.stdout, result.stderr
