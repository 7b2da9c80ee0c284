"""Malformed, oversized and hostile input: a clear 4xx everywhere, never a 500, nothing written."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from orderchamp_auth.server.store.models import AccessToken, AuthorizationCode, Installation, LoginAttempt

from ..support import Browser

BIG = "x" * (300 * 1024)


def counts(platform) -> tuple[int, ...]:
    with platform.database.read() as db:
        return tuple(
            db.session.scalar(select(func.count()).select_from(model)) for model in (AccessToken, AuthorizationCode, Installation)
        )


TOKEN_BODIES = [
    ("application/json", b"{not json"),
    ("application/json", b"[1, 2]"),
    ("application/json", b'"string"'),
    ("application/json", b'{"code": 5, "client_id": "a", "client_secret": "b"}'),
    ("application/json", b'{"code": ["a"], "client_id": "a", "client_secret": "b"}'),
    ("application/json", b'{"client_id": {"x": 1}}'),
    ("application/json", b"\xff\xfe\x00"),
    ("application/json", b'{"a":' * 5000),
    ("application/x-www-form-urlencoded", b"code=%ZZ&client_id=%&client_secret="),
    ("application/x-www-form-urlencoded", b"code=a&code=b&client_id=x&client_secret=y"),
    ("application/x-www-form-urlencoded", b"\xff\xfe=\xff"),
    ("application/x-www-form-urlencoded", BIG.encode()),
    ("text/plain", b"code=a"),
    ("multipart/form-data; boundary=x", b"--x--"),
    ("application/json", b'{"grant_type": "password", "code": "a", "client_id": "a", "client_secret": "b"}'),
    ("application/json", b'{"grant_type": "authorization_code", "client_id": "a", "client_secret": "b"}'),
    ("application/json", b'{"code": "a"}'),
    ("application/json", ('{"code": "' + "\u202e" * 10 + '", "client_id": "\u0000", "client_secret": "s"}').encode()),
]


@pytest.mark.parametrize(("content_type", "body"), TOKEN_BODIES)
@pytest.mark.parametrize("path", ["/oauth/access_token", "/oauth/revoke"])
def test_token_and_revoke_endpoints_answer_rfc6749_json_4xx(live, platform, path, content_type, body):
    before = counts(platform)
    response = httpx.post(live.base_url + path, content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    payload = response.json()
    assert payload["error"] in {"invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type"}
    assert counts(platform) == before


@pytest.mark.parametrize(
    "header",
    ["Basic !!!", "Basic " + "QQ==", "Basic " + "YTpi" * 2000, "Basic", "Basic w6k6w6k="],
)
def test_malformed_basic_auth_is_invalid_client(live, header):
    response = httpx.post(live.base_url + "/oauth/access_token", data={"code": "x"},
                          headers={"authorization": header})
    assert response.status_code in (400, 401)
    assert response.json()["error"] in {"invalid_client", "invalid_request"}


def test_token_endpoint_refuses_get(live):
    response = httpx.get(live.base_url + "/oauth/access_token")
    assert response.status_code == 405


GRAPHQL_CASES = [
    ({"content-type": "application/json"}, b"{not json", 400),
    ({"content-type": "application/json"}, b"[]", 400),
    ({"content-type": "application/json"}, b'{"query": 5}', 400),
    ({"content-type": "application/json"}, b'{"query": ""}', 400),
    ({"content-type": "application/json"}, b'{"query": "{ account { name } }", "variables": "x"}', 400),
    ({"content-type": "application/json"}, b'{"query": "{ account { name } }", "operationName": 3}', 400),
    ({"content-type": "application/json"}, b'{"query": "{ account { "}', 400),
    ({"content-type": "application/json"}, b'{"query": "{ nothing }"}', 400),
    ({"content-type": "application/json"}, b'{"query": "query A { account { name } } query B { account { slug } }"}', 400),
    ({"content-type": "text/plain"}, b'{"query": "{ account { name } }"}', 415),
    ({"content-type": "application/json"}, b'{"query": "' + b"{ account " * 2000 + b'"}', 400),
    ({"content-type": "application/json"}, b'{"query": "' + BIG.encode() + b'"}', 413),
]


@pytest.mark.parametrize(("headers", "body", "status"), GRAPHQL_CASES)
def test_graphql_bad_requests_get_graphql_errors(live, world, headers, body, status):
    account = world.supplier()
    token = world.private_token(account.account_id, "account_read")
    response = httpx.post(live.base_url + "/v1/graphql", content=body,
                          headers={**headers, "authorization": f"Bearer {token}"})
    assert response.status_code == status, response.text[:300]
    errors = response.json()["errors"]
    assert errors and all(isinstance(e["message"], str) for e in errors)


def test_graphql_accepts_php_style_empty_variables_list(live, world):
    account = world.supplier()
    token = world.private_token(account.account_id, "account_read")
    response = httpx.post(live.base_url + "/v1/graphql", json={"query": "{ account { name } }", "variables": [],
                                                               "operationName": None},
                          headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["data"]["account"]["name"]


def test_graphql_depth_limit(live, world):
    account = world.supplier()
    token = world.private_token(account.account_id, "account_read")
    query = "query Deep { " + "node(id: \"x\") { ... on Account { id } " * 1 + "}" + " }"
    ok = httpx.post(live.base_url + "/v1/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    # 11 levels of data (introspection has an allowance of its own: test_hardening_api_limits.py)
    deep = ("{ products(first: 1) { nodes { variants(first: 1) { nodes { product { variants(first: 1) { nodes {"
            " product { variants(first: 1) { nodes { id } } } } } } } } } } }")
    response = httpx.post(live.base_url + "/v1/graphql", json={"query": deep}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer a b", "Basic abc", "Bearer ocp_nope", "Bearer " + "é" * 10, "Bearer " + "a" * 5000],
)
def test_missing_or_unknown_bearer_is_401_with_challenge(live, authorization):
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    response = httpx.post(live.base_url + "/v1/graphql", content=b'{"query": "{ account { name } }"}',
                          headers={k: v.encode("utf-8") for k, v in headers.items()})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_login_refuses_forms_without_csrf(live, platform):
    response = httpx.post(live.base_url + "/login", data={"email": "a@b.co", "password": "x"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b'{"email": "a"}', 400),
        ("application/x-www-form-urlencoded", BIG.encode(), 413),
        ("application/x-www-form-urlencoded", b"\xff\xfe", 400),
    ],
)
def test_login_bad_bodies_are_4xx(live, content_type, body, status):
    response = httpx.post(live.base_url + "/login", content=body, headers={"content-type": content_type})
    assert response.status_code == status


def test_authorize_with_invalid_utf8_query_is_an_error_page(live):
    response = httpx.get(live.base_url + "/oauth/authorize?client_id=%FF%FE")
    assert response.status_code == 400 and "location" not in response.headers


def test_authorize_with_oversized_query_is_an_error_page(live):
    response = httpx.get(live.base_url + "/oauth/authorize?client_id=a&state=" + "x" * 20000)
    assert response.status_code == 400


def test_consent_post_with_garbage_is_4xx_and_writes_nothing(live, platform, world, browser: Browser):
    supplier = world.supplier()
    browser.login(supplier.email)
    csrf = browser.csrf("/backoffice/api")
    before = counts(platform)
    for data in (
        {"csrf_token": csrf},
        {"csrf_token": csrf, "account_id": str(supplier.account_id)},
        {"csrf_token": csrf, "account_id": str(supplier.account_id), "client_id": "nope", "decision": "approve"},
        {"csrf_token": csrf, "account_id": "x" * 100, "decision": "approve"},
    ):
        response = browser.http.post("/oauth/authorize", data=data)
        assert 400 <= response.status_code < 500, response.status_code
    assert counts(platform) == before


def test_finish_with_unknown_client_is_404(live):
    assert httpx.get(live.base_url + "/oauth/finish?client_id=nope").status_code == 404
    assert httpx.get(live.base_url + "/oauth/finish").status_code == 404


def test_unknown_page_is_404_html(live):
    response = httpx.get(live.base_url + "/no/such/page")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]


def test_failed_logins_never_store_the_password(live, platform, world, browser: Browser):
    supplier = world.supplier()
    browser.login(supplier.email, password="my-secret-guess-123")
    with platform.database.read() as db:
        rows = db.session.scalars(select(LoginAttempt).where(LoginAttempt.email == supplier.email)).all()
    assert rows and all("my-secret-guess" not in (r.email + r.client_address) for r in rows)


def test_queries_that_could_return_too_many_objects_are_refused(live, world):
    account = world.supplier()
    token = world.private_token(account.account_id, "orders_read,products_read")
    huge = ("{ orders(first: 250) { nodes { products(first: 250) { nodes { variant { product { "
            "variants(first: 250) { nodes { sku } } } } } } } } }")
    response = httpx.post(live.base_url + "/v1/graphql", json={"query": huge}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    with_variable = "query($n: Int) { orders(first: $n) { nodes { products(first: $n) { nodes { sku } } } } }"
    small = httpx.post(live.base_url + "/v1/graphql", json={"query": with_variable, "variables": {"n": 2}},
                       headers={"authorization": f"Bearer {token}"})
    assert small.status_code == 200, small.text
    large = httpx.post(live.base_url + "/v1/graphql", json={"query": with_variable, "variables": {"n": 250}},
                       headers={"authorization": f"Bearer {token}"})
    assert large.status_code == 400  # the same document: its bound is checked with the variables
    assert large.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    fine = "{ orders(first: 100) { nodes { products(first: 50) { nodes { sku } } } } }"
    response = httpx.post(live.base_url + "/v1/graphql", json={"query": fine}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
