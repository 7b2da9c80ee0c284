"""``demo``: the same credentials on every run, so printing them again never breaks them."""

from __future__ import annotations

import json
import shlex

import httpx
import pytest

from orderchamp_auth.protocol.tokens import hash_secret
from orderchamp_auth.server.app import build_platform
from orderchamp_auth.server.oauth.private_tokens import revoke_private_token
from orderchamp_auth.server.store.database import utcnow

from ..support import TEST_SECRET_KEY, make_settings
from .cli_support import assert_one_line_error, cli_env, fresh_database, run


@pytest.fixture
def fresh_database_url(tmp_path):
    yield from fresh_database(tmp_path)


def demo_json(env, cwd) -> dict:
    result = run(env, "demo", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def account_slug(live, token: str) -> httpx.Response:
    return httpx.post(f"{live.base_url}/v1/graphql", json={"query": "{ account { slug } }"},
                      headers={"authorization": f"Bearer {token}"}, timeout=10)


def test_demo_env_keeps_the_token_printed_before_working(live, settings, tmp_path):
    env = cli_env(settings.database_url, ORDERCHAMP_WEB_URL=settings.web_url)
    printed = demo_json(env, tmp_path)["private_token"]
    lines = run(env, "demo", "--env", cwd=tmp_path).stdout.splitlines()
    values = {name: shlex.split(value)[0] for name, value in (line.split("=", 1) for line in lines)}
    assert values["PRIVATE_TOKEN"] == values["TOKEN"] == printed
    assert account_slug(live, printed).json() == {"data": {"account": {"slug": "little-champs"}}}


def test_demo_prints_the_same_credentials_on_every_run(settings, tmp_path):
    env = cli_env(settings.database_url, ORDERCHAMP_WEB_URL=settings.web_url)
    first, second = demo_json(env, tmp_path), demo_json(env, tmp_path)
    assert first == second
    assert first["private_token"].startswith("ocp_") and len(first["private_token"]) == 47


def test_demo_json_names_the_partner_that_app_create_takes(settings, tmp_path):
    env = cli_env(settings.database_url)
    demo = demo_json(env, tmp_path)
    assert demo["partner_name"] == "Demo Partner" and demo["partner_id"].isdigit()
    created = run(env, "app", "create", "--partner", demo["partner_id"], "--name", "From demo json",
                  "--application-url", "https://demo-json.example/install",
                  "--redirect-url", "https://demo-json.example/cb", "--json", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["partner_id"] == demo["partner_id"]


def test_a_revoked_demo_token_is_replaced_on_the_next_run_and_stays_revoked(fresh_database_url, tmp_path):
    env = cli_env(fresh_database_url)
    first = demo_json(env, tmp_path)
    platform = build_platform(make_settings(fresh_database_url, 8000))
    try:
        with platform.database.write() as db:
            token = db.tokens.get_active_by_hash(hash_secret(first["private_token"]))
            assert token is not None
            revoke_private_token(db, account_id=int(first["account_id"]), token_id=token.id, now=utcnow())
        second, third = demo_json(env, tmp_path), demo_json(env, tmp_path)
        with platform.database.read() as db:
            tokens = db.tokens
            assert tokens.get_active_by_hash(hash_secret(first["private_token"])) is None
            assert tokens.get_active_by_hash(hash_secret(second["private_token"])) is not None
    finally:
        platform.database.dispose()
    assert second["private_token"] != first["private_token"]
    assert third["private_token"] == second["private_token"]


def test_the_demo_token_survives_a_key_rotation_and_another_key_is_told_in_one_line(fresh_database_url, tmp_path):
    first = demo_json(cli_env(fresh_database_url), tmp_path)
    new_key = "another-secret-key-0123456789abcdef"
    # After a rotation (new key first, the old one still listed) the token in use stays the same.
    rotated = cli_env(fresh_database_url, ORDERCHAMP_SECRET_KEY=f"{new_key},{TEST_SECRET_KEY}")
    assert demo_json(rotated, tmp_path)["private_token"] == first["private_token"]
    # Another key alone (another directory's secret file, say) cannot open the demo's secrets.
    assert_one_line_error(run(cli_env(fresh_database_url, ORDERCHAMP_SECRET_KEY=new_key), "demo", cwd=tmp_path),
                          "encrypted under another secret key", "ORDERCHAMP_SECRET_KEY")
