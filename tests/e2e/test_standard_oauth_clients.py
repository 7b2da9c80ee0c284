"""Standard OAuth clients complete the flow unchanged (Authlib, requests-oauthlib), configured
from the authorization server metadata (RFC 8414); token introspection (RFC 7662)."""

from __future__ import annotations

import secrets

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from requests_oauthlib import OAuth2Session

from orderchamp_auth.protocol.scopes import Scope

from ..support import Browser, PartnerApp, Supplier, World
from .test_install_flow import approve, exchange, graphql

CALLBACK = "https://app.example.com/callback"


@pytest.fixture
def supplier(world: World) -> Supplier:
    return world.supplier()


@pytest.fixture
def app(world: World) -> PartnerApp:
    return world.app(redirect_uris=[CALLBACK])


@pytest.fixture
def signed_in(browser: Browser, supplier: Supplier) -> Browser:
    assert browser.login(supplier.email).status_code == 303
    return browser


@pytest.fixture
def metadata(live) -> dict:
    response = httpx.get(f"{live.base_url}/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def user_approves(browser: Browser, authorization_url: str) -> str:
    """The user's part: open the app's authorization URL, press Approve; the callback URL."""
    page = browser.http.get(authorization_url)
    assert page.status_code == 200, page.text[:300]
    answer = browser.decide(page.text, "approve")
    assert answer.status_code == 303
    return answer.headers["location"]


def test_metadata_names_every_endpoint_and_capability(live, metadata, settings):
    web = settings.web_url
    assert metadata["issuer"] == web
    assert metadata["authorization_endpoint"] == f"{web}/oauth/authorize"
    assert metadata["token_endpoint"] == f"{web}/oauth/access_token"
    assert metadata["revocation_endpoint"] == f"{web}/oauth/revoke"
    assert metadata["introspection_endpoint"] == f"{web}/oauth/introspect"
    assert metadata["scopes_supported"] == [scope.value for scope in Scope]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["grant_types_supported"] == ["authorization_code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    for key in ("token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported",
                "introspection_endpoint_auth_methods_supported"):
        assert set(metadata[key]) == {"client_secret_post", "client_secret_basic"}


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
def test_authlib_completes_the_flow_with_pkce(live, metadata, app, signed_in, auth_method):
    client = OAuth2Client(app.client_id, app.client_secret, scope="account_read products_read",
                          redirect_uri=CALLBACK, code_challenge_method="S256",
                          token_endpoint_auth_method=auth_method)
    verifier = secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier)
    callback = user_approves(signed_in, url)
    token = client.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier,
                               state=state)
    assert token["token_type"] == "bearer"
    assert token["scope"] == "account_read products_read"  # as the client asked: with spaces
    answer = graphql(live.base_url, token["access_token"], "{ account { name } }")
    assert answer.status_code == 200 and "errors" not in answer.json()
    client.close()


def test_requests_oauthlib_completes_the_flow_without_scope_has_changed(live, metadata, app, signed_in, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server is plain http on loopback
    monkeypatch.delenv("OAUTHLIB_RELAX_TOKEN_SCOPE", raising=False)  # a changed scope must raise
    session = OAuth2Session(app.client_id, redirect_uri=CALLBACK, scope=["account_read", "orders_read"], pkce="S256")
    url, _state = session.authorization_url(metadata["authorization_endpoint"])
    callback = user_approves(signed_in, url)
    token = session.fetch_token(metadata["token_endpoint"], authorization_response=callback,
                                client_secret=app.client_secret, include_client_id=True)
    assert token["scope"] == ["account_read", "orders_read"]
    answer = graphql(live.base_url, token["access_token"], "{ account { name } }")
    assert answer.status_code == 200 and "errors" not in answer.json()


@pytest.mark.parametrize(("asked", "answered"), [
    ("account_read,products_read", "account_read,products_read"),
    ("products_read account_read", "account_read products_read"),
    ("products_read,account_read orders_read", "account_read,products_read,orders_read"),
])
def test_the_token_response_lists_scopes_with_the_delimiter_the_app_asked_with(live, app, signed_in, asked, answered):
    callback = approve(signed_in, app, scope=asked)
    token = exchange(live.base_url, app, callback["code"]).json()
    assert token["scope"] == answered


def _token_for(live, app: PartnerApp, browser: Browser, scope: str = "account_read,products_read") -> str:
    callback = approve(browser, app, scope=scope)
    answer = exchange(live.base_url, app, callback["code"])
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def introspect(live, app: PartnerApp, token: str, *, secret: str | None = None, basic: bool = False) -> httpx.Response:
    body = {"token": token}
    if basic:
        return httpx.post(f"{live.base_url}/oauth/introspect", data=body,
                          auth=(app.client_id, secret or app.client_secret))
    return httpx.post(f"{live.base_url}/oauth/introspect",
                      data={**body, "client_id": app.client_id, "client_secret": secret or app.client_secret})


@pytest.mark.parametrize("basic", [False, True], ids=["post", "basic"])
def test_introspection_describes_the_apps_own_live_token(live, app, signed_in, supplier, basic):
    token = _token_for(live, app, signed_in)
    answer = introspect(live, app, token, basic=basic)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["active"] is True
    assert body["scope"] == "account_read,products_read"
    assert body["client_id"] == app.client_id
    assert body["token_type"] == "bearer"
    assert body["account_id"] == str(supplier.account_id)
    assert isinstance(body["iat"], int)


def test_introspection_says_only_inactive_for_revoked_foreign_private_and_unknown_tokens(
    live, world, app, signed_in, supplier
):
    revoked = _token_for(live, app, signed_in)
    assert httpx.post(f"{live.base_url}/oauth/revoke", data={
        "token": revoked, "client_id": app.client_id, "client_secret": app.client_secret}).status_code == 200
    other_app = world.app(redirect_uris=[CALLBACK])
    foreign = _token_for(live, other_app, signed_in)
    private = world.private_token(supplier.account_id, "account_read")
    for token in (revoked, foreign, private, "oca_" + "x" * 43, "nonsense"):
        answer = introspect(live, app, token)
        assert answer.status_code == 200
        assert answer.json() == {"active": False}
    # The other app still sees its own token as active: the answer above was not a revocation.
    assert introspect(live, other_app, foreign).json()["active"] is True


def test_introspection_needs_the_apps_credentials_and_a_token(live, app, signed_in):
    token = _token_for(live, app, signed_in)
    wrong = introspect(live, app, token, secret="ocs_wrong")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    missing = httpx.post(f"{live.base_url}/oauth/introspect",
                         data={"client_id": app.client_id, "client_secret": app.client_secret})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    anonymous = httpx.post(f"{live.base_url}/oauth/introspect", data={"token": token})
    assert anonymous.status_code == 401
