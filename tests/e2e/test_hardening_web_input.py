"""Hostile text and path ids at the OAuth endpoints and the web forms (issue 9, "Bad input
answered 500"): each is a 4xx with a clean message, and nothing is written."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

from orderchamp_auth.server.store.models import (
    AccessToken,
    App,
    AppStatus,
    AuthorizationCode,
    Installation,
    LoginAttempt,
    Partner,
)

from ..support import Browser, PartnerApp, World, form_fields
from .partner_support import Member, app_of, partner_member, support_user
from .test_install_flow import approve, consent

# What a driver, a codec or Python would say; none of it may reach a client.
INTERNALS = ("traceback", "sqlite", "psycopg", "postgres", "sqlalchemy", "unicodeencodeerror", "surrogates not allowed",
             "codec", "exception", "0x00", "python", "integer")

# A bad value as JSON text (inside the quotes).
JSON_ATTACKS = {
    "lone_high_surrogate": "\\ud800",
    "lone_low_surrogate": "x\\udfffy",
    "nul_byte": "a\\u0000b",
    "control_character": "\\u0001",
    "newline": "a\\nb",
    "delete": "\\u007f",
}
# A bad value as it travels in a form body (or a query string).
FORM_ATTACKS = {
    "encoded_surrogate": b"%ED%A0%80",
    "raw_surrogate_bytes": b"\xed\xa0\x80",
    "invalid_utf8": b"%FF",
    "raw_invalid_utf8": b"\xff",
    "overlong_slash": b"%C0%AF",
    "overlong_three_byte_slash": b"%E0%80%AF",
    "nul_byte": b"a%00b",
    "control_character": b"%1B",
    "encoded_newline": b"a%0Ab",
}
TOKEN_FIELDS = ("grant_type", "code", "client_id", "client_secret", "redirect_uri", "code_verifier")
REVOKE_FIELDS = ("token", "client_id", "client_secret")


def count(platform, model) -> int:
    with platform.database.read() as db:
        return db.session.scalar(select(func.count()).select_from(model))


def json_body(params: dict[str, str], field: str, raw: str) -> bytes:
    parts = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in params.items() if k != field]
    parts.append(f'"{field}": "{raw}"')
    return ("{" + ", ".join(parts) + "}").encode()


def form_body(params: dict[str, str], field: str, raw: bytes) -> bytes:
    rest = {k: v for k, v in params.items() if k != field}
    return urlencode(rest).encode() + b"&" + field.encode() + b"=" + raw


ATTACKS = [("application/json", name, raw) for name, raw in JSON_ATTACKS.items()] + [
    ("application/x-www-form-urlencoded", name, raw) for name, raw in FORM_ATTACKS.items()
]
ATTACK_IDS = [f"{'json' if ct.endswith('json') else 'form'}-{name}" for ct, name, _ in ATTACKS]


def body_for(content_type: str, params: dict[str, str], field: str, raw: str | bytes) -> bytes:
    if content_type == "application/json":
        return json_body(params, field, raw)  # type: ignore[arg-type]
    return form_body(params, field, raw)  # type: ignore[arg-type]


def assert_invalid_request(response: httpx.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    payload = response.json()
    assert set(payload) == {"error", "error_description"}
    assert payload["error"] == "invalid_request"
    # RFC 6749 section 5.2: the description is printable ASCII without quote or backslash.
    assert re.fullmatch(r"[\x20\x21\x23-\x5b\x5d-\x7e]+", payload["error_description"])
    assert_no_internals(response)


def assert_no_internals(response: httpx.Response) -> None:
    text = response.text.lower()
    assert not [word for word in INTERNALS if word in text], response.text[:500]


def assert_error_page(response: httpx.Response, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert "text/html" in response.headers["content-type"]
    assert "location" not in response.headers
    assert_no_internals(response)


@dataclass
class People:
    """Signed in once for the module: a sign-in costs an argon2 hash."""

    world: World
    member: Member
    developer: Browser
    staff: Browser
    supplier: Browser


@pytest.fixture(scope="module")
def people(live, platform) -> Iterator[People]:
    world = World(platform)
    member = partner_member(world)
    browsers: list[Browser] = []

    def sign_in(email: str) -> Browser:
        browser = Browser(live.base_url)
        browsers.append(browser)
        assert browser.login(email).status_code == 303
        return browser

    yield People(world, member, sign_in(member.email), sign_in(support_user(world)), sign_in(world.supplier().email))
    for browser in browsers:
        browser.close()


@pytest.fixture
def app(world: World) -> PartnerApp:
    return world.app()


@pytest.fixture
def signed_in_supplier(people: People) -> Browser:
    return people.supplier


def exchange_params(app: PartnerApp, code: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "client_id": app.client_id,
            "client_secret": app.client_secret, "redirect_uri": app.redirect_uris[0]}


def exchange(live, app: PartnerApp, code: str) -> httpx.Response:
    return httpx.post(live.base_url + "/oauth/access_token", json=exchange_params(app, code))


# Token endpoint --------------------------------------------------------------------------------


@pytest.mark.parametrize(("content_type", "attack", "raw"), ATTACKS, ids=ATTACK_IDS)
def test_hostile_text_in_any_token_parameter_is_invalid_request_and_the_code_still_exchanges(
    live, platform, signed_in_supplier, app, content_type, attack, raw
):
    code = approve(signed_in_supplier, app)["code"]
    tokens_before = count(platform, AccessToken)
    params = {**exchange_params(app, code), "code_verifier": "v" * 43}
    for field in TOKEN_FIELDS:
        response = httpx.post(live.base_url + "/oauth/access_token", content=body_for(content_type, params, field, raw),
                              headers={"content-type": content_type})
        assert_invalid_request(response)
    assert count(platform, AccessToken) == tokens_before
    assert exchange(live, app, code).status_code == 200


@pytest.mark.parametrize("credentials", ["a%00b:secret", "id:%ED%A0%80", "id:%FF", "a%01:b"])
def test_hostile_text_in_basic_credentials_is_refused_without_a_500(live, platform, credentials):
    tokens_before = count(platform, AccessToken)
    header = "Basic " + base64.b64encode(credentials.encode()).decode()
    response = httpx.post(live.base_url + "/oauth/access_token", data={"grant_type": "authorization_code", "code": "x"},
                          headers={"authorization": header})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert_no_internals(response)
    assert count(platform, AccessToken) == tokens_before


def test_a_repeated_json_key_at_the_token_endpoint_is_invalid_request_and_keeps_the_code(
    live, platform, signed_in_supplier, app
):
    code = approve(signed_in_supplier, app)["code"]
    tokens_before = count(platform, AccessToken)
    params = exchange_params(app, code)
    for field, other in (("code", "b"), ("client_id", "x"), ("client_secret", "x"), ("grant_type", "password")):
        rest = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in params.items() if k != field)
        for first, second in ((params[field], other), (other, params[field])):
            repeated = f'{{{rest}, "{field}": {json.dumps(first)}, "{field}": {json.dumps(second)}}}'
            response = httpx.post(live.base_url + "/oauth/access_token", content=repeated.encode(),
                                  headers={"content-type": "application/json"})
            assert_invalid_request(response)
            assert "repeated" in response.json()["error_description"]
    escaped = json.dumps(params).replace("/", "\\/")[:-1] + ', "code": "b"}'  # as PHP's json_encode writes
    response = httpx.post(live.base_url + "/oauth/access_token", content=escaped.encode(),
                          headers={"content-type": "application/json"})
    assert_invalid_request(response)
    assert count(platform, AccessToken) == tokens_before
    assert exchange(live, app, code).status_code == 200


def test_json_with_escaped_slashes_still_exchanges(live, signed_in_supplier, app):
    code = approve(signed_in_supplier, app)["code"]
    body = json.dumps(exchange_params(app, code)).replace("/", "\\/")
    assert "\\/" in body
    response = httpx.post(live.base_url + "/oauth/access_token", content=body.encode(),
                          headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


NOT_FLAT_OBJECTS = [
    ("list_body", lambda p: [p]),
    ("string_body", lambda p: json.dumps(p)),
    ("null_body", lambda p: None),
    ("nested_code", lambda p: {**p, "code": {"$ne": ""}}),
    ("list_code", lambda p: {**p, "code": [p["code"]]}),
    ("number_client_id", lambda p: {**p, "client_id": 5}),
    ("boolean_secret", lambda p: {**p, "client_secret": True}),
    ("nested_extra", lambda p: {**p, "extra": {"a": 1}}),
]


@pytest.mark.parametrize("path", ["/oauth/access_token", "/oauth/revoke"])
def test_json_that_is_not_a_flat_object_of_strings_is_invalid_request_and_keeps_the_code(
    live, platform, signed_in_supplier, app, path
):
    code = approve(signed_in_supplier, app)["code"]
    tokens_before = count(platform, AccessToken)
    params = {**exchange_params(app, code), "token": code}
    for _name, shape in NOT_FLAT_OBJECTS:
        response = httpx.post(live.base_url + path, content=json.dumps(shape(params)).encode(),
                              headers={"content-type": "application/json"})
        assert_invalid_request(response)
    assert count(platform, AccessToken) == tokens_before
    assert exchange(live, app, code).status_code == 200


# Revoke endpoint -------------------------------------------------------------------------------


def _token(live, browser: Browser, app: PartnerApp) -> str:
    response = exchange(live, app, approve(browser, app)["code"])
    assert response.status_code == 200
    return response.json()["access_token"]


def _works(live, token: str) -> bool:
    response = httpx.post(live.base_url + "/v1/graphql", json={"query": "{ account { id } }"},
                          headers={"authorization": f"Bearer {token}"})
    return response.status_code == 200


@pytest.mark.parametrize(("content_type", "attack", "raw"), ATTACKS, ids=ATTACK_IDS)
def test_hostile_text_in_any_revoke_parameter_is_invalid_request_and_the_token_still_works(
    live, signed_in_supplier, app, content_type, attack, raw
):
    token = _token(live, signed_in_supplier, app)
    params = {"token": token, "client_id": app.client_id, "client_secret": app.client_secret}
    for field in REVOKE_FIELDS:
        response = httpx.post(live.base_url + "/oauth/revoke", content=body_for(content_type, params, field, raw),
                              headers={"content-type": content_type})
        assert_invalid_request(response)
    assert _works(live, token)


def test_a_repeated_json_key_at_the_revoke_endpoint_is_invalid_request_and_the_token_still_works(
    live, signed_in_supplier, app
):
    token = _token(live, signed_in_supplier, app)
    body = (f'{{"client_id": "{app.client_id}", "client_secret": "{app.client_secret}", '
            f'"token": "{token}", "token": "nope"}}')
    response = httpx.post(live.base_url + "/oauth/revoke", content=body.encode(),
                          headers={"content-type": "application/json"})
    assert_invalid_request(response)
    assert _works(live, token)
    revoked = httpx.post(live.base_url + "/oauth/revoke",
                         json={"client_id": app.client_id, "client_secret": app.client_secret, "token": token})
    assert revoked.status_code == 200 and not _works(live, token)


# Authorize, consent and finish -----------------------------------------------------------------


QUERY_ATTACKS = {name: raw for name, raw in FORM_ATTACKS.items() if not name.startswith("raw_")}


@pytest.mark.parametrize("field", ["client_id", "redirect_uri", "state", "scope"])
@pytest.mark.parametrize("raw", list(QUERY_ATTACKS.values()), ids=list(QUERY_ATTACKS))
def test_hostile_text_in_the_authorize_link_is_an_error_page_without_a_redirect(
    live, platform, signed_in_supplier, app, field, raw
):
    params = {"response_type": "code", "client_id": app.client_id, "scope": "account_read",
              "redirect_uri": app.redirect_uris[0], "state": "s"}
    query = form_body(params, field, raw).decode("latin-1")
    codes_before = count(platform, AuthorizationCode)
    assert_error_page(signed_in_supplier.http.get("/oauth/authorize?" + query))
    assert_error_page(httpx.get(live.base_url + "/oauth/authorize?" + query))  # signed out too
    assert count(platform, AuthorizationCode) == codes_before


@pytest.mark.parametrize("field", ["client_id", "redirect_uri", "state", "scope", "account_id", "decision"])
@pytest.mark.parametrize("raw", list(FORM_ATTACKS.values()), ids=list(FORM_ATTACKS))
def test_hostile_text_in_the_consent_post_is_a_400_page_and_grants_nothing(
    live, platform, signed_in_supplier, app, field, raw
):
    page = consent(signed_in_supplier, app)
    assert page.status_code == 200
    fields = {**dict(form_fields(page.text, "/oauth/authorize")), "decision": "approve"}
    before = (count(platform, AuthorizationCode), count(platform, Installation))
    response = signed_in_supplier.http.post(
        "/oauth/authorize", content=form_body(fields, field, raw),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_error_page(response)
    assert (count(platform, AuthorizationCode), count(platform, Installation)) == before


@pytest.mark.parametrize("raw", list(QUERY_ATTACKS.values()), ids=list(QUERY_ATTACKS))
def test_hostile_text_in_the_finish_link_is_a_400_page(live, raw):
    assert_error_page(httpx.get(live.base_url + "/oauth/finish?client_id=" + raw.decode()))


# Pages: login, back office, partner dashboard, support -----------------------------------------


@pytest.mark.parametrize("field", ["email", "password", "next"])
@pytest.mark.parametrize("raw", list(FORM_ATTACKS.values()), ids=list(FORM_ATTACKS))
def test_hostile_text_in_the_login_form_is_a_400_page_and_records_no_attempt(live, platform, browser, field, raw):
    fields = {**dict(form_fields(browser.http.get("/login").text, "/login")),
              "email": "nobody@example.com", "password": "guess"}
    before = count(platform, LoginAttempt)
    response = browser.http.post("/login", content=form_body(fields, field, raw),
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert_error_page(response)
    assert count(platform, LoginAttempt) == before


@pytest.mark.parametrize("raw", list(FORM_ATTACKS.values()), ids=list(FORM_ATTACKS))
def test_hostile_text_in_back_office_forms_is_a_400_page_and_creates_no_token(
    live, platform, signed_in_supplier, raw
):
    csrf = signed_in_supplier.csrf("/backoffice/api")
    before = count(platform, AccessToken)
    for action, fields, field in (
        ("/backoffice/api/tokens", {"csrf_token": csrf, "name": "n", "scopes": "account_read"}, "name"),
        ("/backoffice/api/tokens", {"csrf_token": csrf, "name": "n", "scopes": "account_read"}, "scopes"),
        ("/backoffice/account", {"csrf_token": csrf, "account_id": "1"}, "account_id"),
    ):
        response = signed_in_supplier.http.post(action, content=form_body(fields, field, raw),
                                                headers={"content-type": "application/x-www-form-urlencoded"})
        assert_error_page(response)
    assert count(platform, AccessToken) == before


MULTIPART_ATTACKS = {
    "raw_surrogate_bytes": b"\xed\xa0\x80",
    "raw_invalid_utf8": b"caf\xe9",
    "overlong_slash": b"\xc0\xaf",
    "nul_byte": b"a\x00b",
    "control_character": b"\x1b[31m",
}


@pytest.mark.parametrize("field", ["name", "description", "application_url", "redirect_uri"])
@pytest.mark.parametrize("raw", list(MULTIPART_ATTACKS.values()), ids=list(MULTIPART_ATTACKS))
def test_hostile_text_in_the_partner_app_form_is_a_400_page_and_creates_no_app(live, platform, people, field, raw):
    member, browser = people.member, people.developer
    csrf = browser.csrf(f"/partners/{member.partner_id}/apps/new")
    data = {"csrf_token": csrf, "name": "Stock Sync", "description": "Keeps stock in step.",
            "application_url": "https://sync.example.com/install", "redirect_uri": "https://sync.example.com/cb"}
    files = [(k, (None, v.encode())) for k, v in data.items() if k != field] + [(field, (None, raw))]
    before = count(platform, App)
    assert_error_page(browser.http.post(f"/partners/{member.partner_id}/apps", files=files))
    assert count(platform, App) == before


def test_newlines_stay_allowed_in_an_app_description(live, platform, people):
    member, browser = people.member, people.developer
    csrf = browser.csrf(f"/partners/{member.partner_id}/apps/new")
    files = [("csrf_token", (None, csrf.encode())), ("name", (None, b"Stock Sync")),
             ("description", (None, "Keeps stock\r\nin step,\tcaf\u00e9.".encode())),
             ("application_url", (None, b"https://sync.example.com/install")),
             ("redirect_uri", (None, b"https://sync.example.com/cb"))]
    response = browser.http.post(f"/partners/{member.partner_id}/apps", files=files)
    assert response.status_code == 303, response.text[:300]
    client_id = response.headers["location"].rsplit("/", 1)[1]
    with platform.database.read() as db:
        app = db.session.scalars(select(App).where(App.client_id == client_id)).one()
        assert app.description == "Keeps stock\nin step,\tcaf\u00e9."


@pytest.mark.parametrize("raw", list(FORM_ATTACKS.values()), ids=list(FORM_ATTACKS))
def test_hostile_text_in_support_forms_is_a_400_page_and_changes_nothing(live, platform, people, raw):
    staff, member = people.staff, people.member
    app = app_of(people.world, member.partner_id)
    partners_before = count(platform, Partner)
    csrf = staff.csrf("/support/partners")
    for action, fields, field in (
        ("/support/partners", {"csrf_token": csrf, "name": "Acme"}, "name"),
        (f"/support/partners/{member.partner_id}/members", {"csrf_token": csrf, "member_email": "a@b.co"},
         "member_email"),
        (f"/support/partners/{member.partner_id}/demo-accounts", {"csrf_token": csrf, "demo_email": "a@b.co"},
         "demo_email"),
        (f"/support/apps/{app.client_id}/reject", {"csrf_token": csrf, "reason": "Fix it."}, "reason"),
    ):
        if field == "reason" and raw == b"a%0Ab":
            continue  # a multi-line field: a newline is fine there
        response = staff.http.post(action, content=form_body(fields, field, raw),
                                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert_error_page(response)
    assert count(platform, Partner) == partners_before
    with platform.database.read() as db:
        assert db.session.get(App, app.app_id).status == AppStatus.DRAFT


# Path ids --------------------------------------------------------------------------------------


NOT_IDS = ["%C2%B2", "1%C2%B2", "-1", "+1", "01", "%201", "1%20", "1.0", "0x1", "9223372036854775808",
           "99999999999999999999999", "%00", "1%00"]


@pytest.mark.parametrize("raw", NOT_IDS)
def test_a_path_id_that_is_not_ascii_digits_in_the_int64_range_is_not_found(live, people, raw):
    member, developer, staff, supplier = people.member, people.developer, people.staff, people.supplier
    csrf = staff.csrf("/support/partners")
    assert_error_page(developer.http.get(f"/partners/{raw}/apps"), 404)
    assert_error_page(developer.http.get(f"/partners/{raw}"), 404)
    assert_error_page(staff.http.get(f"/support/partners/{raw}"), 404)
    assert_error_page(staff.http.post(f"/support/partners/{member.partner_id}/members/{raw}/remove",
                                      data={"csrf_token": csrf}), 404)
    assert_error_page(staff.http.post(f"/support/partners/{member.partner_id}/demo-accounts/{raw}/unlink",
                                      data={"csrf_token": csrf}), 404)
    assert_error_page(supplier.http.post(f"/backoffice/api/tokens/{raw}/revoke",
                                         data={"csrf_token": supplier.csrf("/backoffice/api")}), 404)


def test_non_ascii_digits_do_not_name_a_real_id(live, people):
    member, developer, staff = people.member, people.developer, people.staff
    assert developer.http.get(f"/partners/{member.partner_id}/apps").status_code == 200
    assert staff.http.get(f"/support/partners/{member.partner_id}").status_code == 200
    arabic = "".join(f"%{b:02X}" for b in "".join(chr(0x0660 + int(d)) for d in str(member.partner_id)).encode())
    assert_error_page(developer.http.get(f"/partners/{arabic}/apps"), 404)
    assert_error_page(staff.http.get(f"/support/partners/{arabic}"), 404)


def test_the_largest_int64_id_is_simply_not_found(live, people):
    staff, supplier = people.staff, people.supplier
    assert_error_page(staff.http.get(f"/support/partners/{2**63 - 1}"), 404)
    assert_error_page(supplier.http.post(f"/backoffice/api/tokens/{2**63 - 1}/revoke",
                                         data={"csrf_token": supplier.csrf("/backoffice/api")}), 404)


@pytest.mark.parametrize("raw", ["%00", "a%00b", "%1B", "%C2%B2", "%ED%A0%80", "%FF", "a" * 200])
def test_a_client_id_in_a_path_with_odd_characters_is_not_found(live, people, raw):
    member, developer, staff, supplier = people.member, people.developer, people.staff, people.supplier
    assert_error_page(developer.http.get(f"/partners/{member.partner_id}/apps/{raw}"), 404)
    assert_error_page(staff.http.get(f"/support/apps/{raw}"), 404)
    assert_error_page(supplier.http.get(f"/backoffice/apps/{raw}"), 404)
    assert_error_page(httpx.get(f"{live.base_url}/apps/{raw}/logo"), 404)


@pytest.mark.parametrize("token", ["\u0080", "é" * 43, "\U0001f600"], ids=["c1_control", "accented", "emoji"])
def test_a_csrf_token_with_non_ascii_text_is_refused_as_an_expired_form(live, platform, browser, signed_in_supplier,
                                                                         token):
    # The fuzz suite's find: compare_digest raised on a str with non-ASCII text (a 500).
    login = {**dict(form_fields(browser.http.get("/login").text, "/login")),
             "csrf_token": token, "email": "nobody@example.com", "password": "guess"}
    response = browser.http.post("/login", data=login)
    assert response.status_code == 403, response.text[:300]
    assert "This form has expired" in response.text
    before = count(platform, AccessToken)
    response = signed_in_supplier.http.post("/backoffice/api/tokens",
                                            data={"csrf_token": token, "name": "n", "scopes": "account_read"})
    assert response.status_code == 403, response.text[:300]
    assert count(platform, AccessToken) == before
