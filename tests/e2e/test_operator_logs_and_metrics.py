"""For operators: JSON log lines with a request id that the client also gets, and Prometheus
metrics on a loopback listener of their own, summed over ``serve``'s workers, with route
patterns (never raw paths) as labels. Runs on SQLite and, with DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import socket
import time

import httpx
import orjson
import pytest
from graphql import execute, parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.server.api.context import RequestContext
from orderchamp_auth.server.api.errors import format_errors
from orderchamp_auth.server.api.schema import build_api_schema
from orderchamp_auth.server.request_log import JsonLogFormatter, RequestLogMiddleware
from orderchamp_auth.server.store.transaction import Transaction

from ..support import free_port
from .cli_support import assert_one_line_error, cli_env, run, serve

QUERY = {"query": "{ account { name } }"}


def json_lines(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines if line.startswith("{")]


def metric_values(text: str) -> dict[str, float]:
    """``name{labels}`` -> value, for the samples of the exposition text."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def scrape_until(port: int, requests: int, bound: float = 30.0) -> httpx.Response:
    """The metrics page once it has counted ``requests`` requests: each worker hands its
    counts over once a second."""
    deadline = time.monotonic() + bound
    while True:
        page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        counted = sum(v for k, v in metric_values(page.text).items() if k.startswith("orderchamp_http_requests_total"))
        if counted >= requests or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def test_json_log_lines_carry_the_request_id_the_client_gets_and_never_a_query_or_token(settings, world, tmp_path):
    supplier = world.supplier()
    token = world.private_token(supplier.account_id, "account_read")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(cli_env(settings.database_url), "--port", str(port), "--log-format", "json", cwd=tmp_path) as server:
        server.wait_for("serving on ")
        own = httpx.get(f"{base}/healthz?code=occ_sekrit-code", headers={"x-request-id": "client-chosen.id-1"},
                        timeout=10)
        forged = httpx.get(f"{base}/healthz", headers={"x-request-id": "x" * 65}, timeout=10)
        api = httpx.post(f"{base}/v1/graphql", json=QUERY, headers={"authorization": f"Bearer {token}"}, timeout=10)
        page = httpx.get(f"{base}/partners/12", timeout=10)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")  # uvicorn logs its own warning for this
            raw.recv(1024)
        server.stop()
    assert own.headers["x-request-id"] == "client-chosen.id-1"
    assert forged.headers["x-request-id"] != "x" * 65 and len(forged.headers["x-request-id"]) == 16
    records = json_lines(server.stderr)
    requests = [r for r in records if r["logger"] == "orderchamp_auth.request"]
    assert [(r["method"], r["path"], r["route"], r["status"]) for r in requests] == [
        ("GET", "/healthz", "/healthz", 200),
        ("GET", "/healthz", "/healthz", 200),
        ("POST", "/v1/graphql", "/v1/graphql", 200),
        ("GET", "/partners/12", "/partners/{partner_id:id}", page.status_code),
    ]
    assert [r["request_id"] for r in requests] == [
        response.headers["x-request-id"] for response in (own, forged, api, page)]
    for record in requests:
        assert set(record) == {"time", "level", "logger", "message", "request_id", "method", "path", "route",
                               "status", "duration_ms"}
        assert record["level"] == "INFO" and record["time"].endswith("Z") and record["duration_ms"] >= 0
    # The server's own logging records are JSON objects too.
    assert any(r["logger"].startswith("uvicorn") and r["level"] == "WARNING" for r in records), server.stderr
    assert all(line.startswith("{") for line in server.stderr if line.strip()), server.stderr
    log = "\n".join(server.stderr)
    for secret in ("sekrit", token, "Bearer", "?"):
        assert secret not in log


def test_metrics_are_summed_over_the_workers_on_loopback_and_absent_from_the_public_origin(settings, world,
                                                                                            tmp_path):
    supplier = world.supplier()
    token = world.private_token(supplier.account_id, "account_read")
    app = world.app()
    port, metrics_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(cli_env(settings.database_url), "--port", str(port), "--workers", "2", "--no-access-log",
               "--metrics-port", str(metrics_port), cwd=tmp_path) as server:
        line = server.wait_for("serving on ")
        for _ in range(6):
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        for _ in range(4):
            answer = httpx.post(f"{base}/v1/graphql", json=QUERY, headers={"authorization": f"Bearer {token}"},
                                timeout=10)
            assert answer.status_code == 200
        for partner_id in (12, 13, 14):
            httpx.get(f"{base}/partners/{partner_id}", timeout=10)
        stranger = httpx.post(f"{base}/oauth/access_token", timeout=10,
                              data={"grant_type": "authorization_code", "code": "occ_x", "client_id": "nope",
                                    "client_secret": "ocs_x"})
        stale = httpx.post(f"{base}/oauth/access_token", timeout=10,
                           data={"grant_type": "authorization_code", "code": "occ_never-issued",
                                 "client_id": app.client_id, "client_secret": app.client_secret})
        public = httpx.get(f"{base}/metrics", timeout=10)
        exposed = scrape_until(metrics_port, 6 + 4 + 3 + 2 + 1)
    assert line.endswith(f"metrics on http://127.0.0.1:{metrics_port}/metrics")
    assert public.status_code == 404 and "orderchamp_" not in public.text
    assert exposed.status_code == 200
    assert (stranger.json()["error"], stale.json()["error"]) == ("invalid_client", "invalid_grant")
    values = metric_values(exposed.text)
    assert values['orderchamp_http_requests_total{method="GET",route="unmatched",status="4xx"}'] == 1  # /metrics
    assert values['orderchamp_http_requests_total{method="GET",route="/healthz",status="2xx"}'] == 6
    assert values['orderchamp_http_requests_total{method="POST",route="/v1/graphql",status="2xx"}'] == 4
    assert values['orderchamp_http_request_duration_seconds_count{method="POST",route="/v1/graphql"}'] == 4
    assert sum(v for k, v in values.items() if 'route="/partners/{partner_id:id}"' in k
               and k.startswith("orderchamp_http_requests_total")) == 3
    assert not [k for k in values if "/partners/12" in k]  # patterns, never raw paths
    assert values['orderchamp_token_exchanges_total{outcome="invalid_client"}'] == 1
    assert values['orderchamp_token_exchanges_total{outcome="invalid_grant"}'] == 1
    assert values['orderchamp_token_exchanges_total{outcome="issued"}'] == 0
    bearer = [values[f'orderchamp_bearer_cache_total{{result="{r}"}}'] for r in ("hit", "miss")]
    assert sum(bearer) == 4 and bearer[1] >= 1
    engines = [values[f'orderchamp_api_requests_total{{engine="{e}"}}']
               for e in ("compiled_plan", "response_cache", "graphql_core")]
    assert sum(engines) == 4 and engines[2] == 0  # this query runs by its compiled plan
    responses = [values[f'orderchamp_api_response_cache_total{{result="{r}"}}'] for r in ("hit", "miss")]
    assert sum(responses) == 4 and responses[0] >= 1  # each worker asks its own cache once


def test_without_a_metrics_port_nothing_is_counted_or_served(settings, tmp_path):
    port = free_port()
    with serve(cli_env(settings.database_url), "--port", str(port), "--no-access-log", cwd=tmp_path) as server:
        line = server.wait_for("serving on ")
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 404
    assert "metrics" not in line


@pytest.mark.parametrize(("extra", "args", "expected"), [
    ({"ORDERCHAMP_LOG_FORMAT": "xml"}, (), "ORDERCHAMP_LOG_FORMAT must be one of text, json, not 'xml'"),
    ({"ORDERCHAMP_METRICS_PORT": "99999"}, (), "ORDERCHAMP_METRICS_PORT must be between 1 and 65535"),
    ({}, ("--log-format", "xml"), "--log-format"),
    ({}, ("--metrics-port", "0"), "--metrics-port"),
])
def test_a_bad_log_format_or_metrics_port_is_one_line_error(settings, tmp_path, extra, args, expected):
    result = run(cli_env(settings.database_url, **extra), "serve", "--port", str(free_port()), *args, cwd=tmp_path)
    assert_one_line_error(result, expected)


def test_metrics_on_the_platforms_own_port_is_refused(settings, tmp_path):
    port = str(free_port())
    result = run(cli_env(settings.database_url), "serve", "--port", port, "--metrics-port", port, cwd=tmp_path)
    assert_one_line_error(result, f"--metrics-port {port} is the port the platform listens on")


def test_an_internal_api_error_carries_the_id_of_its_request_and_its_log_line(platform, world):
    """The id in the error the client reports is the one in ``X-Request-Id`` and in the log."""
    supplier = world.supplier()
    schema = build_api_schema()
    connection = platform.database.engine.connect()
    tx = Transaction(platform.database.statements, connection, writing=False)
    tx.driver = FailingDriver()  # every read in tx fails inside the driver layer, for no planned reason
    connection.close()

    async def failing(_request: Request) -> JSONResponse:
        context = RequestContext(supplier.account_id, ScopeSet.parse("account_read"), tx)
        result = execute(schema, parse("{ account { name } }"), context_value=context)
        return JSONResponse({"errors": format_errors(result.errors or [])}, 500)

    requests, records = io.StringIO(), io.StringIO()
    app = RequestLogMiddleware(Starlette(routes=[Route("/fail", failing)]), requests, log_format="json",
                               routes={failing: "/fail"})
    handler = logging.StreamHandler(records)
    handler.setFormatter(JsonLogFormatter())
    errors_log = logging.getLogger("orderchamp_auth.server.api.errors")
    errors_log.addHandler(handler)
    try:
        with TestClient(app) as client:
            answer = client.get("/fail")
    finally:
        errors_log.removeHandler(handler)
    request_id = answer.headers["x-request-id"]
    assert answer.json()["errors"][0]["extensions"]["requestId"] == request_id
    line = orjson.loads(requests.getvalue())
    assert (line["request_id"], line["route"], line["status"]) == (request_id, "/fail", 500)
    logged = [orjson.loads(entry) for entry in records.getvalue().splitlines()]
    assert logged and all(entry["request_id"] == request_id and entry["level"] == "ERROR"
                          and request_id in entry["message"] and "exception" in entry for entry in logged)


class FailingDriver:
    """A driver connection that fails as no one planned (not a lost connection: that is a 503)."""

    def cursor(self) -> FailingDriver:
        return self  # the transaction's statements run on a cursor of it: one that fails alike

    def execute(self, *_args: object) -> None:
        raise RuntimeError("Cannot operate on a closed Connection")
