"""Generated requests to the token, revoke, authorize, consent and login endpoints.

Every answer is a page, a redirect to this site or to a registered redirect URI, or RFC 6749
JSON; never a 5xx, never internals; a refused token request writes nothing; no request of the
app revokes a private token; a consent names only the user's own account.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from orderchamp_auth.server.store import models as m

from ..support import PASSWORD, Browser, form_fields, query_of
from .budget import fuzz_settings
from .oracle import answer, check_answer, check_local_redirect, check_oauth_error, expect, fresh_client
from .values import basic_header, form_body, hostile_text, json_body, json_values

TOKEN_KEYS = ["grant_type", "code", "client_id", "client_secret", "redirect_uri", "code_verifier"]
AUTHORIZE_KEYS = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                  "code_challenge_method"]


def oauth_rows(platform) -> tuple[int, ...]:
    with platform.database.read() as db:
        return tuple(int(db.session.scalar(select(func.count()).select_from(model)))
                     for model in (m.AccessToken, m.AuthorizationCode, m.Installation))


def live_private_tokens(platform, account_id: int) -> int:
    with platform.database.read() as db:
        return int(db.session.scalar(select(func.count()).select_from(m.AccessToken).where(
            m.AccessToken.account_id == account_id, m.AccessToken.kind == m.TokenKindName.PRIVATE.value,
            m.AccessToken.revoked_at.is_(None))))


@st.composite
def credential_pairs(draw, fuzz, keys: list[str], real: dict[str, list[str]]) -> list[tuple[str, Any]]:
    """Mostly well-formed requests with some fields hostile, missing, repeated or mistyped."""
    pairs: list[tuple[str, Any]] = []
    for key in keys:
        choice = draw(st.sampled_from(["real", "real", "hostile", "json", "absent"]))
        if choice == "absent":
            continue
        if choice == "real" and real.get(key):
            value: Any = draw(st.sampled_from(real[key]))
        elif choice == "json":
            value = draw(json_values)
        else:
            value = draw(hostile_text)
        pairs.append((key, value))
    extra = draw(st.lists(st.tuples(st.one_of(st.sampled_from(keys), hostile_text), json_values), max_size=3))
    pairs.extend(extra)
    return pairs


def check_repeated_keys_refused(response: httpx.Response, pairs: list[tuple[Any, Any]], basic: bool) -> None:
    """The issue: a repeated parameter, in a form or a JSON body, is an invalid_request."""
    keys = [_as_text(k) for k, _ in pairs if not (basic and k == "client_secret")]
    if len(set(keys)) == len(keys) or response.status_code >= 500:
        return
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    expect(response.status_code == 400 and error == "invalid_request",
           "a repeated parameter is not refused as invalid_request", response)


# The reproductions come first in every run; the generated requests follow.
KNOWN_BAD = [
    [("grant_type", "authorization_code"), ("code", "x"), ("client_id", "\ud800"), ("client_secret", "s")],
    [("grant_type", "authorization_code"), ("code", "x"), ("client_id", "CLIENT"), ("client_secret", "\ud800")],
    [("grant_type", "authorization_code"), ("code", "\ud800"), ("client_id", "CLIENT"), ("client_secret", "SECRET")],
    [("grant_type", "authorization_code"), ("code", "x"), ("client_id", "a\x00b"), ("client_secret", "s")],
    [("grant_type", "authorization_code"), ("code", "a"), ("code", "b"), ("client_id", "CLIENT"),
     ("client_secret", "SECRET")],
    [("token", "\ud800"), ("client_id", "CLIENT"), ("client_secret", "SECRET")],
    [("token", "x"), ("token", "y"), ("client_id", "CLIENT"), ("client_secret", "SECRET")],
]


def with_app(pairs: list[tuple[str, Any]], fuzz) -> list[tuple[str, Any]]:
    """Known-bad requests name the fuzz app by placeholders (its credentials exist only at run time)."""
    names = {"CLIENT": fuzz.app.client_id, "SECRET": fuzz.app.client_secret}
    return [(k, names.get(v, v) if isinstance(v, str) else v) for k, v in pairs]


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _real_token_values(fuzz) -> dict[str, list[str]]:
    return {
        "grant_type": ["authorization_code"],
        "code": fuzz.codes,
        "client_id": [fuzz.app.client_id, fuzz.rival_app.client_id],
        "client_secret": [fuzz.app.client_secret, fuzz.rival_app.client_secret],
        "redirect_uri": fuzz.app.redirect_uris,
        "code_verifier": ["a" * 43],
        "token": fuzz.app_tokens + list(fuzz.tokens.values())[:3],
        "token_type_hint": ["access_token", "refresh_token"],
    }


def _send(http: httpx.Client, path: str, encoding: str, pairs: list[tuple[str, Any]], basic: tuple[str, str] | None,
          ascii_json: bool) -> httpx.Response:
    headers: dict[str, Any] = {}
    if basic is not None:
        headers["authorization"] = basic_header(*basic)
        pairs = [(k, v) for k, v in pairs if k not in ("client_secret",)]
    if encoding == "json":
        content = json_body(pairs, ascii_only=ascii_json)
        headers["content-type"] = "application/json"
    else:
        content = form_body([(_as_text(k), _as_text(v)) for k, v in pairs])
        headers["content-type"] = "application/x-www-form-urlencoded"
    return http.post(path, content=content, headers=headers)


@pytest.mark.parametrize("encoding", ["json", "form", "basic"])
def test_token_endpoint_answers_generated_requests_with_json_and_writes_nothing_when_refused(
    fuzz, platform, budget, http, encoding
):
    real = _real_token_values(fuzz)

    @fuzz_settings
    @given(pairs=credential_pairs(fuzz, TOKEN_KEYS, real), ascii_json=st.booleans(),
           basic=st.tuples(st.one_of(st.sampled_from(real["client_id"]), hostile_text),
                           st.one_of(st.sampled_from(real["client_secret"]), hostile_text)))
    @example(pairs=KNOWN_BAD[0], ascii_json=True, basic=("\ud800", "s"))
    @example(pairs=KNOWN_BAD[1], ascii_json=True, basic=("CLIENT", "\ud800"))
    @example(pairs=KNOWN_BAD[2], ascii_json=True, basic=("CLIENT", "SECRET"))
    @example(pairs=KNOWN_BAD[3], ascii_json=True, basic=("a\x00b", "s"))
    @example(pairs=KNOWN_BAD[4], ascii_json=True, basic=("CLIENT", "SECRET"))
    def exchange(pairs, ascii_json, basic):
        budget.spend()
        pairs, basic = with_app(pairs, fuzz), tuple(v for _, v in with_app([("", b) for b in basic], fuzz))
        before = oauth_rows(platform)
        response = answer(lambda: _send(http, "/oauth/access_token", "form" if encoding == "basic"
                                        else encoding, pairs, basic if encoding == "basic" else None, ascii_json))
        if response is None:
            return
        check_answer(response, fuzz.foreign_markers)
        after = oauth_rows(platform)
        if response.status_code == 200:
            payload = response.json()
            expect(payload.get("account_id") == str(fuzz.home_account), "a token for another account", response)
            expect(after[1:] == before[1:] and after[0] == before[0] + 1, "an exchange wrote more than a token",
                   response, f"{before} -> {after}")
        else:
            check_oauth_error(response)
            expect(after == before, "a refused request wrote rows", response, f"{before} -> {after}")
        check_repeated_keys_refused(response, pairs, encoding == "basic")

    exchange()


@pytest.mark.parametrize("encoding", ["json", "form", "basic"])
def test_revoke_endpoint_answers_generated_requests_and_never_revokes_a_private_token(
    fuzz, platform, budget, http, encoding
):
    real = _real_token_values(fuzz)
    keys = ["token", "token_type_hint", "client_id", "client_secret"]
    private_before = live_private_tokens(platform, fuzz.home_account)

    @fuzz_settings
    @given(pairs=credential_pairs(fuzz, keys, real), ascii_json=st.booleans(),
           basic=st.tuples(st.one_of(st.sampled_from(real["client_id"]), hostile_text),
                           st.one_of(st.sampled_from(real["client_secret"]), hostile_text)))
    @example(pairs=KNOWN_BAD[5], ascii_json=True, basic=("CLIENT", "SECRET"))
    @example(pairs=KNOWN_BAD[6], ascii_json=True, basic=("CLIENT", "SECRET"))
    def revoke(pairs, ascii_json, basic):
        budget.spend()
        pairs, basic = with_app(pairs, fuzz), tuple(v for _, v in with_app([("", b) for b in basic], fuzz))
        response = answer(lambda: _send(http, "/oauth/revoke", "form" if encoding == "basic" else encoding,
                                        pairs, basic if encoding == "basic" else None, ascii_json))
        if response is None:
            return
        check_answer(response, fuzz.foreign_markers)
        if response.status_code != 200:
            check_oauth_error(response)
        check_repeated_keys_refused(response, pairs, encoding == "basic")
        expect(live_private_tokens(platform, fuzz.home_account) == private_before, "a private token was revoked",
               response)

    revoke()


def _query_string(pairs: list[tuple[str, str]]) -> str:
    def enc(value: str) -> str:
        return quote(value.encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs)


def _authorize_values(fuzz) -> dict[str, list[str]]:
    return {
        "response_type": ["code"],
        "client_id": [fuzz.app.client_id, fuzz.rival_app.client_id, fuzz.partner_apps[0].client_id],
        "redirect_uri": [*fuzz.app.redirect_uris, fuzz.app.redirect_uris[0] + "/x", "https://evil.example/callback"],
        "scope": ["account_read", "account_read,products_write", "products_read orders_read", "nope",
                  "account_read,,", ",".join(["orders_read"] * 50)],
        "state": ["xyz", ""],
        "code_challenge": ["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"],
        "code_challenge_method": ["S256", "plain"],
    }


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_authorize_answers_generated_query_strings_with_a_page_or_a_registered_redirect(
    fuzz, budget, signed_in
):
    browser = Browser(fuzz.base_url, fresh_client(fuzz.base_url))
    if signed_in:
        assert browser.login(fuzz.home_user.email).status_code == 303
    real = _authorize_values(fuzz)
    registered = [uri for app in (fuzz.app, fuzz.rival_app, fuzz.partner_apps[0]) for uri in app.redirect_uris]

    @fuzz_settings
    @given(pairs=credential_pairs(fuzz, AUTHORIZE_KEYS, real), raw_tail=st.sampled_from(["", "&%ff=%fe", "&&=", "&a"]))
    def authorize(pairs, raw_tail):
        budget.spend()
        # httpx refuses URLs over 64 KiB; the server's own limit is far below that.
        query = (_query_string([(_as_text(k), _as_text(v)) for k, v in pairs]) + raw_tail)[:60_000]
        response = answer(lambda: browser.http.get("/oauth/authorize?" + query))
        if response is None:
            return
        check_answer(response, fuzz.foreign_markers)
        check_local_redirect(response, registered)
        if response.status_code in (302, 303):
            expect("code" not in query_of(response.headers["location"]), "a code without consent", response)

    try:
        authorize()
    finally:
        browser.close()


def test_consent_post_with_fuzzed_fields_connects_only_the_users_own_account(fuzz, platform, budget):
    browser = Browser(fuzz.base_url, fresh_client(fuzz.base_url))
    assert browser.login(fuzz.home_user.email).status_code == 303
    page = browser.http.get("/oauth/authorize?" + _query_string([
        ("response_type", "code"), ("client_id", fuzz.app.client_id), ("redirect_uri", fuzz.app.redirect_uris[0]),
        ("scope", "account_read,products_read"), ("state", "st")]))
    assert page.status_code == 200, page.text[:300]
    hidden = form_fields(page.text, "/oauth/authorize")
    accounts = [str(fuzz.home_account), str(fuzz.other_account), str(fuzz.office_accounts[0])]

    def installations_elsewhere() -> int:
        with platform.database.read() as db:
            return int(db.session.scalar(select(func.count()).select_from(m.Installation).where(
                m.Installation.account_id.in_([fuzz.other_account, *fuzz.office_accounts]))))

    before = installations_elsewhere()
    real = {key: [value] for key, value in hidden}
    real["account_id"] = accounts
    real["decision"] = ["approve", "deny", "maybe"]
    real["redirect_uri"] = [*fuzz.app.redirect_uris, "https://evil.example/callback"]
    keys = [key for key, _ in hidden if key != "account_id"] + ["account_id", "decision"]

    @fuzz_settings
    @given(pairs=credential_pairs(fuzz, keys, real))
    def decide(pairs):
        budget.spend()
        fields = [(_as_text(k), _as_text(v)) for k, v in pairs]
        response = answer(lambda: browser.http.post("/oauth/authorize", content=form_body(fields),
                                                    headers={"content-type": "application/x-www-form-urlencoded"}))
        if response is None:
            return
        check_answer(response, fuzz.foreign_markers)
        check_local_redirect(response, fuzz.app.redirect_uris)
        if response.status_code == 303 and "account_id" in query_of(response.headers["location"]):
            expect(query_of(response.headers["location"])["account_id"] == str(fuzz.home_account),
                   "consent for an account not the user's", response)
        expect(installations_elsewhere() == before, "an installation on an account not the user's", response)

    try:
        decide()
    finally:
        browser.close()


def test_login_answers_generated_forms_without_internals_or_an_open_redirect(fuzz, budget):
    real = {
        "email": [fuzz.login_user.email, "nobody@example.com", fuzz.login_user.email.upper()],
        "password": [PASSWORD, "wrong password"],
        "next": ["/backoffice/api", "//evil.example", "/\\evil.example", "https://evil.example", "/\x00x"],
    }

    browser = Browser(fuzz.base_url, fresh_client(fuzz.base_url))

    @fuzz_settings
    @given(pairs=credential_pairs(fuzz, ["email", "password", "next"], real), keep_csrf=st.booleans(),
           odd_csrf=hostile_text)
    def sign_in(pairs, keep_csrf, odd_csrf):
        budget.spend()
        browser.http.cookies.clear()  # each example starts signed out
        csrf = dict(form_fields(browser.http.get("/login").text, "/login"))["csrf_token"]
        fields = [("csrf_token", csrf if keep_csrf else odd_csrf)] + [(_as_text(k), _as_text(v)) for k, v in pairs]
        response = answer(lambda: browser.http.post(
            "/login", content=form_body(fields), headers={"content-type": "application/x-www-form-urlencoded"}))
        if response is None:
            return
        check_answer(response, fuzz.foreign_markers)
        check_local_redirect(response)

    try:
        sign_in()
    finally:
        browser.close()
