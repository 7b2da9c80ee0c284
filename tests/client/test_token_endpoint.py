"""Code exchange and revocation: request shapes, typed results, RFC 6749 errors."""

import json

import httpx
import pytest

from orderchamp_auth.client import (
    AccessToken,
    AsyncOrderchampOAuth,
    ExchangeError,
    OrderchampClientError,
    OrderchampOAuth,
    RevocationError,
    ScopeSet,
    TransportError,
)
from orderchamp_auth.protocol.errors import OAuthError

SECRET = "ocs_super-secret-client-value"
CODE = "occ_the-authorization-code"
TOKEN = "oca_the-access-token-value"


def token_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "access_token": TOKEN,
            "token_type": "bearer",
            "scope": "products_read,account_read",
            "account_id": "1042",
        },
        headers={"Cache-Control": "no-store"},
    )


class Recorder:
    def __init__(self, answer) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answer(request)


def sync_oauth(answer) -> tuple[OrderchampOAuth, Recorder]:
    recorder = Recorder(answer)
    oauth = OrderchampOAuth(
        "client-1", SECRET, web_url="https://www.example.test", transport=httpx.MockTransport(recorder)
    )
    return oauth, recorder


def test_the_exchange_posts_the_json_body_the_php_client_sends():
    oauth, recorder = sync_oauth(token_answer)
    oauth.exchange_code(CODE)
    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == "https://www.example.test/oauth/access_token"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("orderchamp-auth-python/")
    assert json.loads(request.content) == {
        "grant_type": "authorization_code",
        "code": CODE,
        "client_id": "client-1",
        "client_secret": SECRET,
    }


def test_the_exchange_adds_redirect_uri_and_code_verifier_when_given():
    oauth, recorder = sync_oauth(token_answer)
    oauth.exchange_code(CODE, redirect_uri="https://app.test/cb", code_verifier="v" * 43)
    body = json.loads(recorder.requests[0].content)
    assert body["redirect_uri"] == "https://app.test/cb"
    assert body["code_verifier"] == "v" * 43


def test_the_exchange_returns_a_typed_token_with_parsed_scopes():
    oauth, _ = sync_oauth(token_answer)
    token = oauth.exchange_code(CODE)
    assert isinstance(token, AccessToken)
    assert token.access_token == TOKEN
    assert token.scopes == ScopeSet.parse("account_read,products_read")
    assert (token.account_id, token.token_type) == ("1042", "bearer")
    assert TOKEN not in repr(token)


def test_the_token_tells_which_required_scopes_it_lacks():
    token = AccessToken(TOKEN, ScopeSet.parse("products_write,account_read"), "1")
    assert token.covers("products_read")
    assert not token.missing(["products_read", "account_read"])
    assert (
        token.missing("orders_read,products_read,customers_write").to_string()
        == "orders_read,customers_write"
    )


def test_an_unknown_scope_from_a_newer_platform_does_not_break_the_exchange():
    oauth, _ = sync_oauth(
        lambda r: httpx.Response(200, json={"access_token": TOKEN, "scope": "account_read,future_read"})
    )
    token = oauth.exchange_code(CODE)
    assert token.scopes.to_string() == "account_read"
    assert token.account_id is None


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, "invalid_grant"),
        (401, "invalid_client"),
        (400, "invalid_request"),
        (400, "unsupported_grant_type"),
    ],
)
def test_rfc6749_errors_become_an_exchange_error_carrying_the_code(status, error):
    oauth, _ = sync_oauth(
        lambda r: httpx.Response(status, json={"error": error, "error_description": "nope"})
    )
    with pytest.raises(ExchangeError) as caught:
        oauth.exchange_code(CODE)
    assert caught.value.error == error
    assert caught.value.description == "nope"
    assert caught.value.status_code == status
    assert isinstance(caught.value, OAuthError)
    assert isinstance(caught.value, OrderchampClientError)


def test_an_error_answer_that_is_not_json_is_still_an_exchange_error():
    oauth, _ = sync_oauth(lambda r: httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(ExchangeError) as caught:
        oauth.exchange_code(CODE)
    assert (caught.value.error, caught.value.status_code) == ("server_error", 502)


def test_a_success_without_a_token_is_an_exchange_error():
    oauth, _ = sync_oauth(lambda r: httpx.Response(200, json={"token_type": "bearer"}))
    with pytest.raises(ExchangeError, match="invalid_response"):
        oauth.exchange_code(CODE)


def test_no_secret_or_code_appears_in_an_exchange_error_even_if_the_server_echoes_them():
    echo = f"bad code {CODE} for secret {SECRET}"
    oauth, _ = sync_oauth(
        lambda r: httpx.Response(400, json={"error": "invalid_grant", "error_description": echo})
    )
    with pytest.raises(ExchangeError) as caught:
        oauth.exchange_code(CODE)
    rendered = f"{caught.value} {caught.value!r} {caught.value.description} {caught.value.to_dict()}"
    assert CODE not in rendered and SECRET not in rendered


def test_no_secret_appears_in_the_repr_of_the_helper():
    oauth, _ = sync_oauth(token_answer)
    assert SECRET not in repr(oauth) and SECRET not in str(vars(oauth).get("client_id"))


def test_a_network_failure_is_a_transport_error_without_the_body():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    oauth, _ = sync_oauth(refuse)
    with pytest.raises(TransportError) as caught:
        oauth.exchange_code(CODE)
    assert "access_token" in str(caught.value) and SECRET not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_revocation_posts_a_form_with_the_token_and_client_credentials():
    oauth, recorder = sync_oauth(lambda r: httpx.Response(200))
    oauth.revoke_token(TOKEN)
    (request,) = recorder.requests
    assert str(request.url) == "https://www.example.test/oauth/revoke"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert httpx.QueryParams(request.content.decode()) == httpx.QueryParams(
        {"token": TOKEN, "client_id": "client-1", "client_secret": SECRET}
    )


def test_a_refused_revocation_raises_a_revocation_error():
    oauth, _ = sync_oauth(lambda r: httpx.Response(401, json={"error": "invalid_client"}))
    with pytest.raises(RevocationError) as caught:
        oauth.revoke_token(TOKEN)
    assert caught.value.error == "invalid_client"
    assert TOKEN not in str(caught.value)


async def test_the_async_twin_sends_the_same_exchange_and_maps_the_same_errors():
    recorder = Recorder(token_answer)
    oauth = AsyncOrderchampOAuth(
        "client-1", SECRET, web_url="https://www.example.test", transport=httpx.MockTransport(recorder)
    )
    token = await oauth.exchange_code(CODE)
    assert token.account_id == "1042"
    assert json.loads(recorder.requests[0].content)["code"] == CODE
    recorder.answer = lambda r: httpx.Response(400, json={"error": "invalid_grant"})
    with pytest.raises(ExchangeError):
        await oauth.exchange_code(CODE)
    recorder.answer = lambda r: httpx.Response(200)
    await oauth.revoke_token(TOKEN)
    await oauth.aclose()


def test_an_http_client_passed_in_is_used_and_left_open():
    recorder = Recorder(token_answer)
    with httpx.Client(transport=httpx.MockTransport(recorder)) as http_client:
        oauth = OrderchampOAuth("client-1", SECRET, http_client=http_client)
        oauth.exchange_code(CODE)
        oauth.close()
        assert not http_client.is_closed
    assert str(recorder.requests[0].url) == "https://www.orderchamp.com/oauth/access_token"
