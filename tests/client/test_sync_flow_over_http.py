"""The whole flow with the synchronous helpers, over real HTTP to the stand-in platform."""

import httpx
import pytest

from orderchamp_auth.client import ExchangeError, OrderchampOAuth, UnauthenticatedError

PRODUCTS = (
    "query Products($first: Int, $after: String) { products(first: $first, after: $after) "
    "{ edges { cursor node { id title } } pageInfo { hasNextPage endCursor } } }"
)


def test_install_exchange_query_paginate_and_revoke_with_the_sync_helpers(loopback_platform):
    platform, web_url = loopback_platform
    redirect_uri = "http://127.0.0.1:9/callback"
    platform.redirect_uris = (redirect_uri,)
    with OrderchampOAuth(
        platform.client_id, platform.client_secret, web_url=web_url, api_url=f"{web_url}/v1"
    ) as oauth:
        url, _ = oauth.begin_authorization(["products_read"], redirect_uri, session_key="browser-1")
        callback_url = httpx.get(url).headers["location"]
        callback = oauth.verify_callback(callback_url, session_key="browser-1")
        token = oauth.exchange_code(
            callback.code, redirect_uri=callback.redirect_uri, code_verifier=callback.code_verifier
        )
        assert token.account_id == callback.account_id == platform.account_id
        assert token.missing("account_read,products_read").to_string() == "account_read"

        with oauth.api_client(token.access_token) as api:
            titles = [node["title"] for node in api.paginate(PRODUCTS, "products", page_size=10)]
            assert titles == [f"Product {i}" for i in range(1, platform.product_count + 1)]
            partial = api.execute(
                "{ account { name } products(first: 1) { nodes { id } } }", raise_on_errors=False
            )
            assert partial.data["account"] is None and partial.missing_scopes == ("account_read",)

            with pytest.raises(ExchangeError) as reused:
                oauth.exchange_code(
                    callback.code, redirect_uri=callback.redirect_uri, code_verifier=callback.code_verifier
                )
            assert reused.value.error == "invalid_grant"

            oauth.revoke_token(token.access_token)
            with pytest.raises(UnauthenticatedError):
                api.execute("{ products(first: 1) { nodes { id } } }")
