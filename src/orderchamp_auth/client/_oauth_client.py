"""``OrderchampOAuth`` and ``AsyncOrderchampOAuth``: ``OAuthBase`` plus sending, sync or async."""

from __future__ import annotations

from types import TracebackType
from typing import Unpack

import httpx

from ._graphql import AsyncOrderchampClient, OrderchampClient
from ._graphql_base import GraphQLOptions
from ._http import transport_error
from ._models import AccessToken
from ._oauth import OAuthBase, OAuthOptions


class OrderchampOAuth(OAuthBase):
    """The app-side OAuth helper, synchronous. Pass ``transport=`` or ``http_client=`` to test it."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        **options: Unpack[OAuthOptions],
    ) -> None:
        super().__init__(client_id, client_secret, **options)
        self._transport = transport
        self._http = http_client
        self._owns_http = http_client is None

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(transport=self._transport, timeout=self.timeout, follow_redirects=False)
        return self._http

    def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._client().send(request)
        except httpx.HTTPError as exc:
            raise transport_error(request, exc) from None

    def exchange_code(
        self, code: str, *, redirect_uri: str | None = None, code_verifier: str | None = None
    ) -> AccessToken:
        """Trade an authorization code for the account's access token (``ExchangeError`` if refused)."""
        request = self.build_exchange_request(code, redirect_uri=redirect_uri, code_verifier=code_verifier)
        return self.parse_exchange_response(self._send(request), code=code)

    def revoke_token(self, token: str) -> None:
        """Revoke this app's token (RFC 7009); the account keeps the app until it reinstalls."""
        self.parse_revoke_response(self._send(self.build_revoke_request(token)), token=token)

    def api_client(self, access_token: str, **options: Unpack[GraphQLOptions]) -> OrderchampClient:
        """A GraphQL client for ``api_url`` with this token, over this helper's transport or client."""
        options.setdefault("api_url", self.api_url)
        options.setdefault("timeout", self.timeout)
        shared = None if self._owns_http else self._http
        return OrderchampClient(access_token, transport=self._transport, http_client=shared, **options)

    def close(self) -> None:
        if self._http is not None and self._owns_http:
            self._http.close()
            self._http = None

    def __enter__(self) -> OrderchampOAuth:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncOrderchampOAuth(OAuthBase):
    """The app-side OAuth helper for asyncio apps: the twin of ``OrderchampOAuth``."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        **options: Unpack[OAuthOptions],
    ) -> None:
        super().__init__(client_id, client_secret, **options)
        self._transport = transport
        self._http = http_client
        self._owns_http = http_client is None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                transport=self._transport, timeout=self.timeout, follow_redirects=False
            )
        return self._http

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._client().send(request)
        except httpx.HTTPError as exc:
            raise transport_error(request, exc) from None

    async def exchange_code(
        self, code: str, *, redirect_uri: str | None = None, code_verifier: str | None = None
    ) -> AccessToken:
        request = self.build_exchange_request(code, redirect_uri=redirect_uri, code_verifier=code_verifier)
        return self.parse_exchange_response(await self._send(request), code=code)

    async def revoke_token(self, token: str) -> None:
        self.parse_revoke_response(await self._send(self.build_revoke_request(token)), token=token)

    def api_client(self, access_token: str, **options: Unpack[GraphQLOptions]) -> AsyncOrderchampClient:
        """A GraphQL client for ``api_url`` with this token, over this helper's transport or client."""
        options.setdefault("api_url", self.api_url)
        options.setdefault("timeout", self.timeout)
        shared = None if self._owns_http else self._http
        return AsyncOrderchampClient(access_token, transport=self._transport, http_client=shared, **options)

    async def aclose(self) -> None:
        if self._http is not None and self._owns_http:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AsyncOrderchampOAuth:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
