"""The SDK's GraphQL client and token endpoint calls against our platform: each refusal the
platform gives comes out as the exception the SDK documents for it (issue 5)."""

from __future__ import annotations

import pytest

from orderchamp_auth.client import (
    AccessDeniedError,
    AsyncOrderchampClient,
    ExchangeError,
    GraphQLError,
    HTTPStatusError,
    OrderchampClient,
    OrderchampOAuth,
    RevocationError,
    ScopeSet,
    TransportError,
    UnauthenticatedError,
    missing_scopes,
)

from ..client.loopback import loopback_socket
from ..support import Browser, LiveServer, PartnerApp, Supplier, World


@pytest.fixture
def supplier(world: World) -> Supplier:
    return world.supplier()


@pytest.fixture
def registration(world: World) -> PartnerApp:
    return world.app()


@pytest.fixture
def signed_in(browser: Browser, supplier: Supplier) -> Browser:
    assert browser.login(supplier.email).status_code == 303
    return browser


@pytest.fixture
def oauth(live: LiveServer, registration: PartnerApp):
    with OrderchampOAuth(registration.client_id, registration.client_secret, web_url=live.base_url,
                         api_url=f"{live.base_url}/v1") as helper:
        yield helper


def approved_code(browser: Browser, oauth: OrderchampOAuth, registration: PartnerApp,
                  scopes: str = "account_read,products_read") -> str:
    url, state = oauth.authorization_url(scopes, registration.redirect_uris[0])
    consent = browser.http.get(url)
    assert consent.status_code == 200, consent.text
    callback = browser.decide(consent.text, "approve").headers["location"]
    return oauth.verify_callback(callback, expected_state=state).code


def api(live: LiveServer, token: str) -> OrderchampClient:
    return OrderchampClient(token, api_url=f"{live.base_url}/v1")


def test_missing_scope_raises_access_denied_naming_the_scope(live, world, supplier):
    token = world.private_token(supplier.account_id, "products_read")
    with api(live, token) as client:
        with pytest.raises(AccessDeniedError) as caught:
            client.execute("{ account { name } }")
        error = caught.value
        assert error.required_scope == "account_read"
        assert error.required_scopes == ScopeSet.parse("account_read")
        assert error.data == {"account": None}
        assert error.status_code == 200
        assert [e.code for e in error.errors] == ["ACCESS_DENIED"]
        assert error.errors[0].path == ("account",)
        assert token not in str(error)

        # Without raising: the field is null and the result names what to ask for.
        result = client.execute("{ account { name } }", raise_on_errors=False)
        assert result.data == {"account": None}
        assert result.missing_scopes == ("account_read",)
        assert missing_scopes("products_read", result.missing_scopes) == ScopeSet.parse("account_read")


def test_write_scope_implies_read_on_the_platform_as_in_the_sdk(live, world, supplier):
    token = world.private_token(supplier.account_id, "account_write")
    assert not missing_scopes("account_write", "account_read")
    with api(live, token) as client:
        assert client.execute("{ account { name } }").data["account"]["name"]


async def test_async_client_maps_access_denied_too(live, world, supplier):
    token = world.private_token(supplier.account_id, "orders_read")
    async with AsyncOrderchampClient(token, api_url=f"{live.base_url}/v1") as client:
        with pytest.raises(AccessDeniedError) as caught:
            await client.execute("query Who { account { name slug } }", operation_name="Who")
        assert caught.value.required_scope == "account_read"


def test_revoked_token_raises_unauthenticated(live, signed_in, oauth, registration):
    token = oauth.exchange_code(approved_code(signed_in, oauth, registration))
    with oauth.api_client(token.access_token) as client:
        assert client.execute("{ account { name } }").data["account"]["name"]
        oauth.revoke_token(token.access_token)
        with pytest.raises(UnauthenticatedError) as caught:
            client.execute("{ account { name } }")
    assert caught.value.status_code == 401
    assert token.access_token not in str(caught.value)
    # Revoking again is not an error (RFC 7009).
    oauth.revoke_token(token.access_token)


async def test_uninstalled_app_raises_unauthenticated_in_the_async_client(live, signed_in, oauth, registration):
    token = oauth.exchange_code(approved_code(signed_in, oauth, registration))
    csrf = signed_in.csrf("/backoffice/integrations")
    answer = signed_in.http.post(f"/backoffice/apps/{registration.client_id}/uninstall", data={"csrf_token": csrf})
    assert answer.status_code == 303
    async with AsyncOrderchampClient(token.access_token, api_url=f"{live.base_url}/v1") as client:
        with pytest.raises(UnauthenticatedError):
            await client.execute("{ account { name } }")


def test_unknown_token_raises_unauthenticated(live):
    with api(live, "oca_" + "0" * 40) as client, pytest.raises(UnauthenticatedError):
        client.execute("{ account { name } }")


def test_invalid_query_raises_graphql_error_with_the_http_status(live, world, supplier):
    token = world.private_token(supplier.account_id, "account_read")
    with api(live, token) as client:
        with pytest.raises(GraphQLError) as caught:
            client.execute("{ account { noSuchField } }")
        assert not isinstance(caught.value, AccessDeniedError)
        assert caught.value.status_code == 400
        assert "noSuchField" in str(caught.value)
        with pytest.raises(GraphQLError):
            client.execute("query ($id: ID!) { node(id: $id) { id } }", {"id": None})
        with pytest.raises(GraphQLError):  # even when not raising for partial results
            client.execute("{ nope }", raise_on_errors=False)


def test_http_errors_raise_http_status_error(live, world, supplier):
    token = world.private_token(supplier.account_id, "account_read")
    with OrderchampClient(token, api_url=f"{live.base_url}/no-such-api") as client:
        with pytest.raises(HTTPStatusError) as caught:
            client.execute("{ account { name } }")
    assert caught.value.status_code == 404


def test_unreachable_api_raises_transport_error(world, supplier):
    with loopback_socket() as sock:  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        with OrderchampClient("oca_x", api_url=url, timeout=5) as client, pytest.raises(TransportError):
            client.execute("{ account { name } }")


def test_reused_code_raises_exchange_error_and_revokes_the_first_token(live, signed_in, oauth, registration):
    code = approved_code(signed_in, oauth, registration)
    token = oauth.exchange_code(code)
    with pytest.raises(ExchangeError) as caught:
        oauth.exchange_code(code)
    assert caught.value.error == "invalid_grant" and caught.value.status_code == 400
    assert code not in str(caught.value)
    with oauth.api_client(token.access_token) as client, pytest.raises(UnauthenticatedError):
        client.execute("{ account { name } }")


def test_wrong_secret_raises_exchange_and_revocation_errors_without_the_secret(live, signed_in, oauth,
                                                                              registration):
    code = approved_code(signed_in, oauth, registration)
    wrong = "ocs_wrong-secret-" + "x" * 30
    with OrderchampOAuth(registration.client_id, wrong, web_url=live.base_url) as impostor:
        with pytest.raises(ExchangeError) as exchange:
            impostor.exchange_code(code)
        with pytest.raises(RevocationError) as revoke:
            impostor.revoke_token("oca_whatever")
    for error in (exchange.value, revoke.value):
        assert error.error == "invalid_client" and error.status_code == 401
        assert wrong not in str(error) and registration.client_secret not in str(error)
    # The code survived the failed attempt.
    assert oauth.exchange_code(code).scopes == ScopeSet.parse("account_read,products_read")


def test_exchange_result_is_typed(live, signed_in, oauth, registration, supplier):
    token = oauth.exchange_code(approved_code(signed_in, oauth, registration, scopes="products_write"))
    assert token.account_id == str(supplier.account_id)
    assert token.token_type == "bearer"
    assert token.scopes == ScopeSet.parse("products_write")
    assert token.covers("products_read") and token.missing("account_read") == ScopeSet.parse("account_read")
    assert token.access_token not in repr(token)
