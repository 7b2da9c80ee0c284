"""``serve``: it says "serving" once requests are answered, names its database, logs requests
without query strings, bodies or tokens, and keeps the demo's credentials working."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy.engine import make_url

from ..support import free_port
from .cli_support import cli_env, fresh_database, run, serve


@pytest.fixture
def fresh_database_url(tmp_path):
    yield from fresh_database(tmp_path)


def with_password(database_url: str) -> str:
    """The URL with a password PostgreSQL's trust authentication ignores (none for SQLite)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return database_url
    return url.set(password="hunter2-secret").render_as_string(hide_password=False)


def test_serving_is_said_once_answering_with_the_database_it_uses(fresh_database_url, tmp_path):
    database_url = with_password(fresh_database_url)
    port = free_port()
    with serve(cli_env(database_url), "--port", str(port), cwd=tmp_path) as server:
        line = server.wait_for("serving on ")
        # Said only once started: the very next request is answered, without retrying.
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).text == "ok"
    assert line.startswith(f"serving on http://127.0.0.1:{port} (API http://127.0.0.1:{port}/v1/graphql)")
    assert "with 1 worker;" in line
    shown = make_url(database_url).render_as_string(hide_password=True) if "hunter2" in database_url else database_url
    assert line.endswith(f"database {shown}")
    assert "hunter2" not in "\n".join(server.stdout + server.stderr)


def test_serving_with_several_workers_is_said_once_all_have_started(settings, tmp_path):
    port = free_port()
    with serve(cli_env(settings.database_url), "--port", str(port), "--workers", "2", "--no-access-log",
               cwd=tmp_path) as server:
        line = server.wait_for("serving on ")
        statuses = {httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code for _ in range(20)}
    assert statuses == {200}
    assert "with 2 workers;" in line and server.stdout.count(line) == 1
    assert not [entry for entry in server.stderr if "/healthz" in entry]  # --no-access-log: no request lines


def test_the_request_log_has_one_line_per_request_and_never_a_query_body_or_token(settings, world, tmp_path):
    supplier = world.supplier()
    token = world.private_token(supplier.account_id, "account_read")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(cli_env(settings.database_url), "--port", str(port), cwd=tmp_path) as server:
        server.wait_for("serving on ")
        assert httpx.get(f"{base}/healthz?code=occ_sekrit-code&signature=abc123", timeout=10).status_code == 200
        answer = httpx.post(f"{base}/v1/graphql", json={"query": "{ account { name } }"}, timeout=10,
                            headers={"authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        refused = httpx.post(f"{base}/oauth/access_token", timeout=10,
                             data={"grant_type": "authorization_code", "code": "occ_body-secret",
                                   "client_id": "nope", "client_secret": "ocs_body-secret"})
        assert refused.status_code in (400, 401)
        assert httpx.get(f"{base}/no/such/page%0Aforged 200", timeout=10).status_code == 404
        server.stop()
    log = "\n".join(server.stderr)
    requests = [line.split(" ", 1)[1] for line in server.stderr if " /" in line]
    assert [r.rsplit(" ", 1)[0] for r in requests] == [
        "GET /healthz 200",
        "POST /v1/graphql 200",
        f"POST /oauth/access_token {refused.status_code}",
        "GET /no/such/page%0Aforged%20200 404",
    ]
    assert all(r.endswith("ms") for r in requests)
    for secret in ("sekrit", "abc123", "body-secret", token, "Bearer", "?"):
        assert secret not in log


def test_serve_uses_the_web_url_of_the_env_file(settings, tmp_path):
    port = free_port()
    (tmp_path / ".env").write_text("ORDERCHAMP_WEB_URL=http://localhost:9/\n", "utf-8")
    with serve(cli_env(settings.database_url), "--port", str(port), "--demo", cwd=tmp_path) as server:
        line = server.wait_for("serving on ")
    assert line.startswith("serving on http://localhost:9 (API http://localhost:9/v1/graphql), listening on "
                           f"127.0.0.1:{port}")
    assert "  web:            http://localhost:9" in server.stdout


def test_serve_demo_prints_the_token_that_demo_prints(settings, tmp_path):
    env = cli_env(settings.database_url)
    port = free_port()
    with serve(env, "--port", str(port), "--demo", cwd=tmp_path) as server:
        banner_token = server.wait_for("  private_token:").split()[-1]
        server.wait_for("serving on ")
        demo = json.loads(run(env, "demo", "--json", cwd=tmp_path).stdout)
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/graphql", json={"query": "{ account { slug } }"},
                            headers={"authorization": f"Bearer {banner_token}"}, timeout=10)
    assert demo["private_token"] == banner_token
    body = answer.json()
    assert body["data"] == {"account": {"slug": "little-champs"}}
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1  # serve --demo has the rate limits on
