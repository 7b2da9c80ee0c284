"""Generated fields and path ids for the back office, partner dashboard and support forms.

Each form is posted signed in and with a valid CSRF token (and sometimes a broken one), so the
generated fields reach the handler. Every answer is a page or a redirect to this site (or, for
an install, to the app); never a 5xx, never internals, never another account's or partner's data;
the forms of one account never revoke another account's tokens.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from orderchamp_auth.protocol.scopes import Scope

from ..support import form_fields
from .budget import fuzz_settings
from .conftest import live_tokens_of, rows_of, signed_in_browser
from .oracle import answer, check_answer, check_local_redirect, expect
from .values import form_body, hostile_text, path_ids

INSTALL_TARGETS = ("https://", "http://")


def segment(value: str) -> str:
    # httpx refuses URLs over 64 KiB; a few thousand characters already test the server's bound.
    return quote(value[:4000].encode("utf-8", "surrogatepass"), safe="")


def text_fields(names: list[str], real: dict[str, list[str]]) -> st.SearchStrategy[list[tuple[str, str]]]:
    def one(name: str) -> st.SearchStrategy[list[tuple[str, str]]]:
        value = st.one_of(st.sampled_from(real[name]), hostile_text) if real.get(name) else hostile_text
        return st.lists(value, min_size=0, max_size=2).map(lambda vs: [(name, v) for v in vs])

    return st.tuples(*[one(n) for n in names]).map(lambda groups: [pair for g in groups for pair in g])


def post_form(browser, path: str, csrf: str, fields: list[tuple[str, str]]) -> httpx.Response:
    return browser.http.post(path, content=form_body([("csrf_token", csrf), *fields]),
                             headers={"content-type": "application/x-www-form-urlencoded"})


def post_multipart(browser, path: str, csrf: str, fields: list[tuple[str, str]], logo: tuple[str, bytes, str]
                   ) -> httpx.Response:
    data: dict[str, list[bytes]] = {"csrf_token": [csrf.encode("utf-8", "surrogatepass")]}
    for name, value in fields:
        data.setdefault(name, []).append(value.encode("utf-8", "surrogatepass"))
    return browser.http.post(path, data=data, files={"logo": logo})


csrf_choice = st.one_of(st.just(None), st.just(None), st.just(None), hostile_text)


def test_back_office_forms_answer_fuzzed_fields_and_path_ids(fuzz, platform, office, budget):
    csrf = office.csrf("/backoffice/api")
    client_ids = [fuzz.app.client_id, fuzz.rival_app.client_id, fuzz.partner_apps[0].client_id]
    home_tokens = live_tokens_of(platform, fuzz.home_account)
    home_rows = rows_of(platform, fuzz.home_account)
    real = {"account_id": [str(a) for a in (*fuzz.office_accounts, fuzz.home_account, fuzz.other_account)],
            "next": ["/backoffice/api", "/backoffice/apps/x", "//evil.example", "https://evil.example"],
            "scopes": [s.value for s in Scope], "name": ["CI token"]}
    ids = st.one_of(st.sampled_from(client_ids), hostile_text)
    token_ids = path_ids(fuzz.office_token_ids + fuzz.home_token_ids)
    actions = st.one_of(
        st.tuples(st.just("POST"), st.just("/backoffice/account"), text_fields(["account_id", "next"], real)),
        st.tuples(st.just("POST"), ids.map(lambda c: f"/backoffice/integrations/{segment(c)}/install"), st.just([])),
        st.tuples(st.just("POST"), ids.map(lambda c: f"/backoffice/apps/{segment(c)}/uninstall"), st.just([])),
        st.tuples(st.just("POST"), st.just("/backoffice/api/tokens"), text_fields(["name", "scopes", "scopes"], real)),
        st.tuples(st.just("POST"), token_ids.map(lambda t: f"/backoffice/api/tokens/{segment(t)}/revoke"), st.just([])),
        st.tuples(st.just("GET"), ids.map(lambda c: f"/backoffice/apps/{segment(c)}"), st.just([])),
        st.tuples(st.just("GET"), ids.map(lambda c: f"/apps/{segment(c)}/logo"), st.just([])),
    )

    @fuzz_settings
    @given(action=actions, odd_csrf=csrf_choice)
    @example(action=("POST", "/backoffice/api/tokens/99999999999999999999999/revoke", []), odd_csrf=None)
    @example(action=("POST", "/backoffice/api/tokens/%C2%B2/revoke", []), odd_csrf=None)
    @example(action=("POST", "/backoffice/account", [("account_id", "1")]), odd_csrf="\x80")
    def submit(action, odd_csrf):
        budget.spend()
        method, path, fields = action
        token = csrf if odd_csrf is None else odd_csrf
        response = answer(lambda: office.http.get(path) if method == "GET" else post_form(office, path, token, fields))
        if response is None:
            return
        check_answer(response, fuzz.foreign_markers)
        check_local_redirect(response, INSTALL_TARGETS if path.endswith("/install") else ())
        expect(live_tokens_of(platform, fuzz.home_account) == home_tokens, "another account's token was revoked",
               response)
        expect(rows_of(platform, fuzz.home_account) == home_rows, "another account's data changed", response)

    submit()


def test_partner_dashboard_forms_answer_fuzzed_fields_and_path_ids(fuzz, budget):
    browser = signed_in_browser(fuzz.base_url, fuzz.partner_user.email)
    try:
        _partner_forms(fuzz, browser, budget)
    finally:
        browser.close()


def _partner_forms(fuzz, browser, budget) -> None:
    csrf = browser.csrf(f"/partners/{fuzz.partner_id}/apps/new")
    partner_ids = path_ids([fuzz.partner_id, fuzz.partner_id, fuzz.rival_app.partner_id, fuzz.support_partner_id])
    client_ids = st.one_of(st.sampled_from([a.client_id for a in fuzz.partner_apps] + [fuzz.rival_app.client_id]),
                           hostile_text)
    real = {"name": ["Fuzzed app"], "description": ["", "Line\r\nbreak"],
            "application_url": ["https://fuzz.example.com/install", "http://localhost/x", "javascript:x", "ftp://x"],
            "redirect_uri": ["https://fuzz.example.com/cb", "https://fuzz.example.com/cb#frag", "http://127.0.0.1/cb",
                             "/relative"],
            "remove_logo": ["1", "0"], "account_id": [str(fuzz.home_account)]}
    logos = st.one_of(
        st.just(("", b"", "application/octet-stream")),
        st.tuples(hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass").decode("latin-1")[:100]),
                  st.binary(max_size=300), st.sampled_from(["image/png", "image/svg+xml", "text/html", ""])),
        st.just(("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png")),
    )
    app_form = text_fields(["name", "description", "application_url", "redirect_uri", "redirect_uri", "remove_logo"],
                           real)

    def under(pid: str, tail: str = "") -> str:
        return f"/partners/{segment(pid)}{tail}"

    actions = st.one_of(
        st.tuples(st.just("GET"), partner_ids.map(under), st.just([])),
        st.tuples(st.just("GET"), partner_ids.map(lambda p: under(p, "/apps")), st.just([])),
        st.tuples(st.just("GET"), st.tuples(partner_ids, client_ids).map(
            lambda pc: under(pc[0], f"/apps/{segment(pc[1])}")), st.just([])),
        st.tuples(st.just("GET"), st.tuples(partner_ids, client_ids).map(
            lambda pc: under(pc[0], f"/apps/{segment(pc[1])}/edit")), st.just([])),
        st.tuples(st.just("MULTIPART"), partner_ids.map(lambda p: under(p, "/apps")), app_form),
        st.tuples(st.just("MULTIPART"), st.tuples(partner_ids, client_ids).map(
            lambda pc: under(pc[0], f"/apps/{segment(pc[1])}/edit")), app_form),
        st.tuples(st.just("POST"), st.tuples(partner_ids, client_ids, st.sampled_from(
            ["secret", "rotate-secret", "submit", "test-install"])).map(
            lambda pca: under(pca[0], f"/apps/{segment(pca[1])}/{pca[2]}")), text_fields(["account_id"], real)),
    )

    @fuzz_settings
    @given(action=actions, logo=logos, odd_csrf=csrf_choice)
    @example(action=("GET", "/partners/%C2%B2/apps", []), logo=("", b"", "application/octet-stream"), odd_csrf=None)
    def submit(action, logo, odd_csrf):
        budget.spend()
        method, path, fields = action
        token = csrf if odd_csrf is None else odd_csrf
        if method == "GET":
            response = answer(lambda: browser.http.get(path))
        elif method == "MULTIPART":
            response = answer(lambda: post_multipart(browser, path, token, fields, logo))
        else:
            response = answer(lambda: post_form(browser, path, token, fields))
        if response is None:
            return
        check_answer(response, fuzz.foreign_markers)
        check_local_redirect(response, INSTALL_TARGETS if path.endswith("/test-install") else ())

    submit()


def test_support_forms_answer_fuzzed_fields_and_path_ids(fuzz, budget):
    browser = signed_in_browser(fuzz.base_url, fuzz.support_user.email)
    try:
        _support_forms(fuzz, browser, budget)
    finally:
        browser.close()


def _support_forms(fuzz, browser, budget) -> None:
    page = browser.http.get("/support/partners")
    csrf = dict(form_fields(page.text))["csrf_token"]
    # Numbers well away from the ids of the other fuzz tests' rows, so support's changes stay
    # on its own partner and apps whatever the order the tests run in.
    far = st.one_of(st.sampled_from(["²", "١٢", "𝟙", "-1", "0", "1e3", " 1", "9223372036854775808",
                                     "99999999999999999999999", "abc", "%00"]),
                    st.integers(min_value=10**9, max_value=2**70).map(str))
    partner_ids = st.one_of(st.just(str(fuzz.support_partner_id)), far)
    member_ids = st.one_of(st.just(str(fuzz.support_user.user_id)), far)
    client_ids = st.one_of(st.sampled_from([a.client_id for a in fuzz.support_apps]), hostile_text)
    real = {"reason": ["Needs a privacy policy."], "name": ["Fuzz partner"],
            "member_email": [fuzz.support_user.email, "nobody@example.com"],
            "demo_email": [fuzz.support_user.email, "nobody@example.com"]}

    def partner_path(pid: str, tail: str = "") -> str:
        return f"/support/partners/{segment(pid)}{tail}"

    actions = st.one_of(
        st.tuples(st.just("GET"), st.sampled_from(["/support", "/support/review", "/support/partners",
                                                    "/support/accounts"]), st.just([])),
        st.tuples(st.just("GET"), client_ids.map(lambda c: f"/support/apps/{segment(c)}"), st.just([])),
        st.tuples(st.just("GET"), partner_ids.map(partner_path), st.just([])),
        st.tuples(st.just("POST"), client_ids.map(lambda c: f"/support/apps/{segment(c)}/verify"), st.just([])),
        st.tuples(st.just("POST"), client_ids.map(lambda c: f"/support/apps/{segment(c)}/reject"),
                  text_fields(["reason"], real)),
        st.tuples(st.just("POST"), st.just("/support/partners"), text_fields(["name"], real)),
        st.tuples(st.just("POST"), partner_ids.map(lambda p: partner_path(p, "/members")),
                  text_fields(["member_email"], real)),
        st.tuples(st.just("POST"), st.tuples(partner_ids, member_ids).map(
            lambda pm: partner_path(pm[0], f"/members/{segment(pm[1])}/remove")), st.just([])),
        st.tuples(st.just("POST"), partner_ids.map(lambda p: partner_path(p, "/demo-accounts")),
                  text_fields(["demo_email"], real)),
        st.tuples(st.just("POST"), st.tuples(partner_ids, far).map(
            lambda pa: partner_path(pa[0], f"/demo-accounts/{segment(pa[1])}/unlink")), st.just([])),
    )

    @fuzz_settings
    @given(action=actions, odd_csrf=csrf_choice)
    @example(action=("GET", "/support/partners/%C2%B2", []), odd_csrf=None)
    def submit(action: tuple[str, str, list[tuple[str, Any]]], odd_csrf):
        budget.spend()
        method, path, fields = action
        token = csrf if odd_csrf is None else odd_csrf
        response = answer(lambda: browser.http.get(path) if method == "GET" else post_form(browser, path, token, fields))
        if response is None:
            return
        check_answer(response)
        check_local_redirect(response)

    submit()
