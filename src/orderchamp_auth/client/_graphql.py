"""The GraphQL API client: ``OrderchampClient`` (sync) and ``AsyncOrderchampClient`` (async).

They only send, sleep and loop; what a response means is decided once for both, with no I/O,
by ``GraphQLClientBase`` (``_graphql_base``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Unpack

import httpx

from ._graphql_base import GraphQLClientBase, GraphQLOptions, GraphQLResult, Variables
from ._http import transport_error
from ._pagination import ConnectionPath, page_variables, read_page


class OrderchampClient(GraphQLClientBase):
    """Synchronous client for Orderchamp's GraphQL API.

    ``transport=`` or ``http_client=`` replace the network (tests); ``sleep=`` replaces the
    wait between throttled retries.
    """

    def __init__(
        self,
        access_token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[GraphQLOptions],
    ) -> None:
        super().__init__(access_token, **options)
        self._transport = transport
        self._http = http_client
        self._owns_http = http_client is None
        self._sleep = sleep

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(transport=self._transport, timeout=self.timeout, follow_redirects=False)
        return self._http

    def execute(
        self,
        query: str,
        variables: Variables | None = None,
        *,
        operation_name: str | None = None,
        raise_on_errors: bool = True,
    ) -> GraphQLResult:
        """Run a query or mutation. GraphQL errors raise unless ``raise_on_errors=False``."""
        request = self.build_request(query, variables, operation_name)
        attempt, waited = 0, 0.0
        while True:
            pause = self.pace_delay(query)
            if pause > 0:
                self._sleep(pause)
            try:
                response = self._client().send(request)
            except httpx.HTTPError as exc:
                raise transport_error(request, exc) from None
            outcome = self.interpret(
                response, attempt=attempt, waited=waited, raise_on_errors=raise_on_errors, query=query
            )
            if isinstance(outcome, GraphQLResult):
                return outcome
            self._sleep(outcome)
            attempt, waited = attempt + 1, waited + outcome

    def paginate(
        self,
        query: str,
        path: ConnectionPath,
        variables: Variables | None = None,
        *,
        operation_name: str | None = None,
        page_size: int | None = None,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every node of the connection at ``path`` (``"products"``, ``"account.orders"``).

        The query declares ``$after: String`` (and ``$first: Int`` when ``page_size`` is given)
        and selects ``pageInfo { hasNextPage endCursor }`` with ``nodes`` or ``edges { node }``.
        """
        cursor: str | None = None
        pages = 0
        while max_pages is None or pages < max_pages:
            result = self.execute(
                query, page_variables(variables, cursor, page_size), operation_name=operation_name
            )
            nodes, cursor = read_page(result.data, path, cursor)
            pages += 1
            yield from nodes
            if cursor is None:
                return

    def close(self) -> None:
        if self._http is not None and self._owns_http:
            self._http.close()
            self._http = None

    def __enter__(self) -> OrderchampClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncOrderchampClient(GraphQLClientBase):
    """Asynchronous twin of ``OrderchampClient``."""

    def __init__(
        self,
        access_token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Unpack[GraphQLOptions],
    ) -> None:
        super().__init__(access_token, **options)
        self._transport = transport
        self._http = http_client
        self._owns_http = http_client is None
        self._sleep = sleep

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                transport=self._transport, timeout=self.timeout, follow_redirects=False
            )
        return self._http

    async def execute(
        self,
        query: str,
        variables: Variables | None = None,
        *,
        operation_name: str | None = None,
        raise_on_errors: bool = True,
    ) -> GraphQLResult:
        request = self.build_request(query, variables, operation_name)
        attempt, waited = 0, 0.0
        while True:
            pause = self.pace_delay(query)
            if pause > 0:
                await self._sleep(pause)
            try:
                response = await self._client().send(request)
            except httpx.HTTPError as exc:
                raise transport_error(request, exc) from None
            outcome = self.interpret(
                response, attempt=attempt, waited=waited, raise_on_errors=raise_on_errors, query=query
            )
            if isinstance(outcome, GraphQLResult):
                return outcome
            await self._sleep(outcome)
            attempt, waited = attempt + 1, waited + outcome

    async def paginate(
        self,
        query: str,
        path: ConnectionPath,
        variables: Variables | None = None,
        *,
        operation_name: str | None = None,
        page_size: int | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        cursor: str | None = None
        pages = 0
        while max_pages is None or pages < max_pages:
            result = await self.execute(
                query, page_variables(variables, cursor, page_size), operation_name=operation_name
            )
            nodes, cursor = read_page(result.data, path, cursor)
            pages += 1
            for node in nodes:
                yield node
            if cursor is None:
                return

    async def aclose(self) -> None:
        if self._http is not None and self._owns_http:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AsyncOrderchampClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
