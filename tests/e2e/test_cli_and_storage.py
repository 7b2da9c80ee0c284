"""The command line and what the database holds (no secret in clear)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
from sqlalchemy import inspect, select, text

from orderchamp_auth.server.store.models import App

from ..support import TEST_SECRET_KEY, World


def cli(settings, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=settings.database_url, ORDERCHAMP_SECRET_KEY=TEST_SECRET_KEY,
               ORDERCHAMP_WEB_URL=settings.web_url)
    result = subprocess.run([sys.executable, "-m", "orderchamp_auth.server.cli", *args], env=env,
                            capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_cli_creates_account_app_and_token_that_work_together(live, settings):
    account = json.loads(cli(settings, "account", "create", "--name", "CLI Shop", "--user-email",
                             "cli-owner@example.com", "--user-password", "long-password-1", "--json").stdout)
    assert account["slug"].startswith("cli-shop")
    partner = json.loads(cli(settings, "partner", "create", "--name", "CLI Partner", "--demo-account",
                             account["account_id"], "--json").stdout)
    app = json.loads(cli(settings, "app", "create", "--partner", partner["partner_id"], "--name", "CLI App",
                         "--application-url", "https://cli.example/install", "--redirect-url",
                         "https://cli.example/cb", "--redirect-url", "https://cli.example/cb2", "--json").stdout)
    assert app["client_id"] and app["client_secret"].startswith("ocs_")
    assert app["redirect_urls"] == ["https://cli.example/cb", "https://cli.example/cb2"]
    token = json.loads(cli(settings, "token", "create", "--account", account["account_id"], "--scopes",
                           "account_read", "--json").stdout)
    response = httpx.post(f"{live.base_url}/v1/graphql", json={"query": "{ account { name slug } }"},
                          headers={"authorization": f"Bearer {token['token']}"})
    assert response.json()["data"]["account"] == {"name": "CLI Shop", "slug": account["slug"]}


def test_cli_refuses_bad_input_with_exit_code_2(settings):
    assert cli(settings, "token", "create", "--account", "1", "--scopes", "root", check=False).returncode == 2
    assert cli(settings, "token", "create", "--account", "999999", "--scopes", "account_read",
               check=False).returncode == 2
    bad_url = cli(settings, "app", "create", "--partner", "nope", "--name", "x", "--application-url", "ftp://x",
                  "--redirect-url", "https://x.example", check=False)
    assert bad_url.returncode == 2 and "error:" in bad_url.stderr


def test_demo_is_idempotent_and_prints_working_credentials(live, settings):
    first = json.loads(cli(settings, "demo", "--json").stdout)
    second = json.loads(cli(settings, "demo", "--json").stdout)
    for key in ("account_id", "client_id", "client_secret", "redirect_urls", "application_url", "private_token"):
        assert first[key] == second[key]
    assert first["users"]["supplier"]["email"]
    assert first["web_url"] == settings.web_url and first["api_url"] == settings.api_url
    query = {"query": "{ account { name type slug } }"}
    answer = httpx.post(f"{live.base_url}/v1/graphql", json=query,
                        headers={"authorization": f"Bearer {first['private_token']}"})
    assert answer.json()["data"]["account"] == {"name": "Little Champs", "type": "SUPPLIER", "slug": "little-champs"}


def test_migrate_is_idempotent(settings):
    assert "up to date" in cli(settings, "migrate").stdout


def test_database_holds_no_token_code_or_client_secret_in_clear(live, world: World, platform, new_browser):
    """Run a whole flow, then read every text column of every table."""
    from .test_install_flow import approve, exchange

    supplier = world.supplier()
    app = world.app()
    b = new_browser()
    b.login(supplier.email)
    code = approve(b, app)["code"]
    access = exchange(live.base_url, app, code).json()["access_token"]
    unused_code = approve(b, app)["code"]
    private = world.private_token(supplier.account_id, "account_read")
    secrets_to_find = [access, code, unused_code, private, app.client_secret, "correct horse battery"]
    engine = platform.database.engine
    found = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, (str, bytes)):
                        blob = value if isinstance(value, str) else value.decode("latin-1")
                        found += [(table, s[:8]) for s in secrets_to_find if s in blob]
    assert found == []
    with platform.database.read() as db:
        stored = db.session.scalar(select(App.client_secret_encrypted).where(App.client_id == app.client_id))
    assert stored and app.client_secret not in stored
    assert platform.client_secrets.box.decrypt(stored) == app.client_secret


def test_migrations_match_the_models(migrated_database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from orderchamp_auth.server.store.database import create_database_engine
    from orderchamp_auth.server.store.models import Base

    engine = create_database_engine(migrated_database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_demo_env_prints_shell_assignments_that_work(live, settings):
    import shlex

    lines = cli(settings, "demo", "--env").stdout.strip().splitlines()
    values = dict(line.split("=", 1) for line in lines)
    assert {"CLIENT_ID", "CLIENT_SECRET", "TOKEN", "SUPPLIER_EMAIL", "PASSWORD", "REDIRECT_URL"} <= set(values)
    token = shlex.split(values["TOKEN"])[0]
    response = httpx.post(f"{live.base_url}/v1/graphql", json={"query": "{ account { slug } }"},
                          headers={"authorization": f"Bearer {token}"})
    assert response.json() == {"data": {"account": {"slug": "little-champs"}}}
