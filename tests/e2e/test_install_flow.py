"""The whole install flow over real HTTP, as an app would drive it (SPEC section 7)."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

import httpx
import pytest

from orderchamp_auth.protocol.pkce import compute_code_challenge, generate_code_verifier
from orderchamp_auth.protocol.signing import verify_query_string

from ..support import Browser, PartnerApp, Supplier, World, query_of

SCOPES = "products_read,account_read"


def start_install(browser: Browser, app: PartnerApp) -> httpx.Response:
    token = browser.csrf("/backoffice/integrations")
    return browser.http.post(f"/backoffice/integrations/{app.client_id}/install", data={"csrf_token": token})


def consent(browser: Browser, app: PartnerApp, *, scope: str = SCOPES, state: str | None = "s-123", **extra: str):
    params = {"response_type": "code", "client_id": app.client_id, "scope": scope,
              "redirect_uri": app.redirect_uris[0], **extra}
    if state is not None:
        params["state"] = state
    return browser.authorize(params)


def approve(browser: Browser, app: PartnerApp, **kwargs: str) -> dict[str, str]:
    page = consent(browser, app, **kwargs)
    assert page.status_code == 200, page.text
    answer = browser.decide(page.text, "approve")
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(app.redirect_uris[0] + "?")
    verify_query_string(urlsplit(location).query, app.client_secret)
    return query_of(location)


def exchange(base_url: str, app: PartnerApp, code: str, **extra: str) -> httpx.Response:
    body = {"grant_type": "authorization_code", "code": code, "client_id": app.client_id,
            "client_secret": app.client_secret, **extra}
    return httpx.post(f"{base_url}/oauth/access_token", json=body)


def graphql(base_url: str, token: str, query: str = "{ account { id name type slug } }") -> httpx.Response:
    return httpx.post(f"{base_url}/v1/graphql", json={"query": query, "variables": None, "operationName": None},
                      headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def supplier(world: World) -> Supplier:
    return world.supplier()


@pytest.fixture
def app(world: World) -> PartnerApp:
    return world.app()


@pytest.fixture
def signed_in(browser: Browser, supplier: Supplier) -> Browser:
    assert browser.login(supplier.email).status_code == 303
    return browser


def test_whole_flow_from_install_button_to_api_call(live, signed_in, supplier, app):
    started = start_install(signed_in, app)
    assert started.status_code == 303
    install = started.headers["location"]
    assert install.startswith(app.application_url + "?")
    install_params = verify_query_string(urlsplit(install).query, app.client_secret)
    assert install_params["account_id"] == str(supplier.account_id)
    assert abs(int(install_params["timestamp"]) - time.time()) < 5

    callback = approve(signed_in, app, state="a b+c~d")
    assert callback["account_id"] == str(supplier.account_id)
    assert callback["state"] == "a b+c~d"
    assert set(callback) == {"account_id", "code", "state", "timestamp", "signature"}

    response = exchange(live.base_url, app, callback["code"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "scope", "account_id"}
    assert body["token_type"] == "bearer"
    assert body["scope"] == "account_read,products_read"
    assert body["account_id"] == str(supplier.account_id)
    assert body["access_token"].startswith("oca_")

    api = graphql(live.base_url, body["access_token"])
    assert api.status_code == 200
    account = api.json()["data"]["account"]
    assert account["slug"] and account["type"] == "SUPPLIER"

    finish = signed_in.http.get(f"/oauth/finish?client_id={app.client_id}")
    assert finish.status_code == 302
    assert finish.headers["location"] == f"/backoffice/apps/{app.client_id}"
    page = signed_in.http.get(finish.headers["location"])
    assert page.status_code == 200 and "products_read" in page.text


def test_signature_matches_the_php_recipe_byte_for_byte(live, signed_in, app):
    page = consent(signed_in, app, state="~tilde *star")
    location = signed_in.decide(page.text, "approve").headers["location"]
    query = urlsplit(location).query
    message, _, signature = query.rpartition("&signature=")
    # "Remove the signature from the query string, HMAC the rest" (the seed page's recipe).
    assert hmac.new(app.client_secret.encode(), message.encode(), hashlib.sha256).hexdigest() == signature
    assert "state=%7Etilde+%2Astar" in message


def test_form_encoded_exchange_with_basic_auth_works(live, signed_in, app):
    code = approve(signed_in, app)["code"]
    response = httpx.post(
        f"{live.base_url}/oauth/access_token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uris[0]},
        auth=(app.client_id, app.client_secret),
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "account_read,products_read"


def test_form_encoded_exchange_with_credentials_in_body_works(live, signed_in, app):
    code = approve(signed_in, app)["code"]
    response = httpx.post(
        f"{live.base_url}/oauth/access_token",
        data={"code": code, "client_id": app.client_id, "client_secret": app.client_secret},
    )
    assert response.status_code == 200, response.text


def test_deny_returns_signed_access_denied_without_code(live, signed_in, supplier, app):
    page = consent(signed_in, app)
    answer = signed_in.decide(page.text, "deny")
    assert answer.status_code == 303
    params = verify_query_string(urlsplit(answer.headers["location"]).query, app.client_secret)
    assert params["error"] == "access_denied"
    assert params["state"] == "s-123"
    assert params["account_id"] == str(supplier.account_id)
    assert "code" not in params


def test_state_is_omitted_when_none_was_sent(live, signed_in, app):
    callback = approve(signed_in, app, state=None)
    assert "state" not in callback


def test_reused_code_is_rejected_and_its_tokens_revoked(live, signed_in, app):
    code = approve(signed_in, app)["code"]
    first = exchange(live.base_url, app, code)
    assert first.status_code == 200
    token = first.json()["access_token"]
    assert graphql(live.base_url, token).status_code == 200
    second = exchange(live.base_url, app, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert graphql(live.base_url, token).status_code == 401


def test_twenty_concurrent_exchanges_of_one_code_give_exactly_one_token(live, signed_in, app):
    import concurrent.futures

    code = approve(signed_in, app)["code"]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: exchange(live.base_url, app, code), range(20)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 1, statuses
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code != 200)


def test_wrong_client_secret_is_invalid_client_and_keeps_the_code(live, signed_in, app):
    code = approve(signed_in, app)["code"]
    bad = httpx.post(f"{live.base_url}/oauth/access_token",
                     json={"code": code, "client_id": app.client_id, "client_secret": app.client_secret + "x"})
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"
    assert exchange(live.base_url, app, code).status_code == 200


def test_basic_auth_failure_advertises_basic(live, signed_in, app):
    bad = httpx.post(f"{live.base_url}/oauth/access_token", data={"code": "x"}, auth=(app.client_id, "nope"))
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith("Basic")


def test_code_of_another_app_is_invalid_grant(live, signed_in, app, world):
    other = world.app()
    code = approve(signed_in, app)["code"]
    response = exchange(live.base_url, other, code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert exchange(live.base_url, app, code).status_code == 200


def test_expired_code_is_refused(live, signed_in, app, platform):
    from sqlalchemy import update

    from orderchamp_auth.protocol.tokens import hash_secret
    from orderchamp_auth.server.store.database import utcnow
    from orderchamp_auth.server.store.models import AuthorizationCode

    code = approve(signed_in, app)["code"]
    with platform.database.write() as db:
        db.session.execute(update(AuthorizationCode).where(AuthorizationCode.code_hash == hash_secret(code))
                   .values(expires_at=utcnow()))
    response = exchange(live.base_url, app, code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_code_lifetime_is_at_most_five_minutes(live, signed_in, app, platform):
    from sqlalchemy import select

    from orderchamp_auth.protocol.tokens import hash_secret
    from orderchamp_auth.server.store.models import AuthorizationCode

    code = approve(signed_in, app)["code"]
    with platform.database.read() as db:
        row = db.session.scalar(select(AuthorizationCode).where(AuthorizationCode.code_hash == hash_secret(code)))
        assert 0 < (row.expires_at - row.created_at).total_seconds() <= 300


def test_redirect_uri_at_exchange_must_match(live, world, new_browser, supplier):
    app = world.app(redirect_uris=["https://app.example.com/a", "https://app.example.com/b"])
    b = new_browser()
    b.login(supplier.email)
    code = approve(b, app)["code"]
    wrong = exchange(live.base_url, app, code, redirect_uri="https://app.example.com/b")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_pkce_s256_round_trip_and_wrong_verifier(live, signed_in, app):
    verifier = generate_code_verifier()
    challenge = compute_code_challenge(verifier)
    code = approve(signed_in, app, code_challenge=challenge, code_challenge_method="S256")["code"]
    assert exchange(live.base_url, app, code, code_verifier=generate_code_verifier()).status_code == 400
    code = approve(signed_in, app, code_challenge=challenge, code_challenge_method="S256")["code"]
    assert exchange(live.base_url, app, code).json()["error"] == "invalid_grant"
    code = approve(signed_in, app, code_challenge=challenge, code_challenge_method="S256")["code"]
    assert exchange(live.base_url, app, code, code_verifier=verifier).status_code == 200


def test_verifier_without_challenge_is_refused(live, signed_in, app):
    code = approve(signed_in, app)["code"]
    response = exchange(live.base_url, app, code, code_verifier=generate_code_verifier())
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_plain_pkce_method_is_refused_by_redirect(live, signed_in, app):
    response = consent(signed_in, app, code_challenge="a" * 43, code_challenge_method="plain")
    assert response.status_code == 302
    params = verify_query_string(urlsplit(response.headers["location"]).query, app.client_secret)
    assert params["error"] == "invalid_request"


def test_consent_post_without_csrf_is_refused(live, signed_in, app):
    page = consent(signed_in, app)
    from ..support import form_fields

    fields = dict(form_fields(page.text, "/oauth/authorize"))
    fields.pop("csrf_token")
    fields["decision"] = "approve"
    response = signed_in.http.post("/oauth/authorize", data=fields)
    assert response.status_code == 403
    assert "location" not in response.headers
    fields["csrf_token"] = "0" * 64
    assert signed_in.http.post("/oauth/authorize", data=fields).status_code == 403


def test_consent_post_from_another_session_is_refused(live, signed_in, app, new_browser, supplier):
    page = consent(signed_in, app)
    other = new_browser()
    other.login(supplier.email)
    assert other.decide(page.text, "approve").status_code == 403


def test_consent_page_cannot_be_framed(live, signed_in, app):
    page = consent(signed_in, app)
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_uninstall_revokes_the_apps_tokens(live, signed_in, app):
    token = exchange(live.base_url, app, approve(signed_in, app)["code"]).json()["access_token"]
    assert graphql(live.base_url, token).status_code == 200
    csrf = signed_in.csrf("/backoffice/integrations")
    answer = signed_in.http.post(f"/backoffice/apps/{app.client_id}/uninstall", data={"csrf_token": csrf})
    assert answer.status_code == 303
    response = graphql(live.base_url, token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_reinstall_goes_through_consent_and_issues_a_new_token(live, signed_in, app):
    first = exchange(live.base_url, app, approve(signed_in, app, scope="account_read")["code"]).json()
    second = exchange(live.base_url, app, approve(signed_in, app, scope="account_read,orders_write")["code"]).json()
    assert first["access_token"] != second["access_token"]
    assert second["scope"] == "account_read,orders_write"


def test_app_revokes_its_own_token(live, signed_in, app, world):
    token = exchange(live.base_url, app, approve(signed_in, app)["code"]).json()["access_token"]
    other = world.app()
    # Another app cannot revoke it (answered 200, changes nothing: RFC 7009).
    assert httpx.post(f"{live.base_url}/oauth/revoke", data={"token": token},
                      auth=(other.client_id, other.client_secret)).status_code == 200
    assert graphql(live.base_url, token).status_code == 200
    response = httpx.post(f"{live.base_url}/oauth/revoke", data={"token": token, "client_id": app.client_id,
                                                                 "client_secret": app.client_secret})
    assert response.status_code == 200
    assert graphql(live.base_url, token).status_code == 401


def test_revoke_requires_client_authentication(live, app):
    response = httpx.post(f"{live.base_url}/oauth/revoke", data={"token": "x", "client_id": app.client_id,
                                                                 "client_secret": "wrong"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_not_logged_in_goes_to_login_then_back_to_authorize(live, browser, supplier, app):
    response = consent(browser, app)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Foauth%2Fauthorize%3F")
    from ..support import form_fields

    login_page = browser.http.get(response.headers["location"])
    fields = dict(form_fields(login_page.text, "/login"))
    fields.update(email=supplier.email, password="correct horse battery")
    after = browser.http.post("/login", data=fields)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/oauth/authorize?")
    assert browser.http.get(after.headers["location"]).status_code == 200


def test_draft_app_installs_only_on_linked_demo_account(live, world, new_browser):
    demo = world.supplier()
    stranger = world.supplier()
    app = world.app(verified=False, demo_account_id=demo.account_id)
    b = new_browser()
    b.login(demo.email)
    assert consent(b, app).status_code == 200
    s = new_browser()
    s.login(stranger.email)
    refused = consent(s, app)
    assert refused.status_code == 302
    params = verify_query_string(urlsplit(refused.headers["location"]).query, app.client_secret)
    assert params["error"] == "unauthorized_client"
    assert params["account_id"] == str(stranger.account_id)
    assert app.client_id not in s.http.get("/backoffice/integrations").text


def test_code_of_an_installation_uninstalled_before_the_exchange_is_refused(live, signed_in, app):
    code = approve(signed_in, app)["code"]
    csrf = signed_in.csrf("/backoffice/integrations")
    assert signed_in.http.post(f"/backoffice/apps/{app.client_id}/uninstall", data={"csrf_token": csrf}).status_code == 303
    response = exchange(live.base_url, app, code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_concurrent_consents_for_one_account_all_succeed(live, world, new_browser, supplier):
    import concurrent.futures

    app = world.app()
    browsers = [new_browser() for _ in range(8)]
    pages = []
    for b in browsers:
        assert b.login(supplier.email).status_code == 303
        pages.append(consent(b, app).text)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda pair: pair[0].decide(pair[1], "approve"), zip(browsers, pages, strict=True)))
    assert [a.status_code for a in answers] == [303] * 8
    codes = {query_of(a.headers["location"])["code"] for a in answers}
    assert len(codes) == 8
    assert all(exchange(live.base_url, app, c).status_code == 200 for c in codes)
