"""What the GraphQL API's requests and responses mean, with no I/O: ``GraphQLClientBase``
builds the request and decides what a response means (a result, an error to raise, or a delay
before retrying a throttled request); ``GraphQLResult`` is what the clients return. The two
clients (``_graphql``) only send, sleep and loop, so the same decisions hold for both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx

from ._exceptions import (
    AccessDeniedError,
    GraphQLError,
    GraphQLErrorDetail,
    HTTPStatusError,
    InvalidResponseError,
    ThrottledError,
    UnauthenticatedError,
)
from ._http import (
    DEFAULT_API_URL,
    DEFAULT_TIMEOUT,
    TimeoutTypes,
    as_timeout,
    build_request,
    json_object,
    strip_slash,
)
from ._models import QueryCost
from ._throttle import Pacer, RetryPolicy, parse_retry_after

UNAUTHENTICATED = "UNAUTHENTICATED"
ACCESS_DENIED = "ACCESS_DENIED"
THROTTLED = "THROTTLED"
THROTTLED_MESSAGE = "Throttled"

Variables = Mapping[str, Any]


@dataclass(frozen=True)
class GraphQLResult:
    """A GraphQL response. ``data`` is ``{}`` when the API returned ``null``.

    With ``raise_on_errors=False`` a result may carry both: fields the token may not read
    come back null, with an ``ACCESS_DENIED`` entry in ``errors`` naming the scope.
    """

    data: dict[str, Any]
    errors: tuple[GraphQLErrorDetail, ...] = ()
    status_code: int = 200
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    @property
    def cost(self) -> QueryCost | None:
        """``extensions.cost``: the query's requested and actual cost and the throttle status."""
        return QueryCost.from_json(self.extensions.get("cost"))

    @property
    def missing_scopes(self) -> tuple[str, ...]:
        """Scopes named by ``ACCESS_DENIED`` errors, in order, without repeats."""
        names = [e.required_scope for e in self.errors if e.code == ACCESS_DENIED and e.required_scope]
        return tuple(dict.fromkeys(n for n in names if n is not None))

    def raise_for_errors(self) -> GraphQLResult:
        if self.errors:
            raise graphql_error(self.errors, self.data, self.status_code)
        return self


def graphql_error(
    errors: Sequence[GraphQLErrorDetail], data: Mapping[str, Any] | None, status_code: int | None
) -> GraphQLError:
    cls = AccessDeniedError if any(e.code == ACCESS_DENIED for e in errors) else GraphQLError
    return cls(errors, data=data, status_code=status_code)


class GraphQLOptions(TypedDict, total=False):
    """Keyword options shared by both clients (see ``GraphQLClientBase``)."""

    api_url: str
    timeout: TimeoutTypes
    retry: RetryPolicy
    clock: Callable[[], float]
    pace: bool


class GraphQLClientBase:
    """Request building and response interpretation for ``POST {api_url}/graphql``."""

    def __init__(
        self,
        access_token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        pace: bool = False,
    ) -> None:
        """``pace=True``: wait before sending a query the last throttle status says would be
        throttled (``Pacer``), rather than be refused and retry."""
        if not access_token:
            raise ValueError("an access token is required")
        self._access_token = access_token
        self.api_url = strip_slash(api_url)
        self.endpoint = f"{self.api_url}/graphql"
        self.timeout = as_timeout(timeout)
        self.retry = retry if retry is not None else RetryPolicy()
        self.clock = clock
        self.pacer = Pacer() if pace else None

    def pace_delay(self, query: str) -> float:
        """Seconds to wait before sending ``query`` (0 unless pacing predicts a throttle)."""
        return self.pacer.delay(query, self.clock()) if self.pacer is not None else 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self.api_url!r})"

    def build_request(
        self, query: str, variables: Variables | None = None, operation_name: str | None = None
    ) -> httpx.Request:
        payload: dict[str, Any] = {"query": query, "variables": dict(variables or {})}
        if operation_name is not None:
            payload["operationName"] = operation_name
        return build_request(
            "POST",
            self.endpoint,
            timeout=self.timeout,
            json=payload,
            headers={"Authorization": f"Bearer {self._access_token}"},
        )

    def interpret(
        self, response: httpx.Response, *, attempt: int, waited: float, raise_on_errors: bool,
        query: str | None = None,
    ) -> GraphQLResult | float:
        """A result, or seconds to wait before retrying; raises the error the response means."""
        status = response.status_code
        body = json_object(response)
        errors = _errors_of(body)
        codes = {e.code for e in errors}
        if self.pacer is not None and query is not None:
            self.pacer.observe(query, _cost_of(body, errors), self.clock())
        if status == 429 or THROTTLED in codes or any(e.message == THROTTLED_MESSAGE for e in errors):
            return self._retry_delay(response, body, errors, attempt, waited)
        if status == 401 or UNAUTHENTICATED in codes:
            message = next((e.message for e in errors if e.message), "the access token was refused")
            raise UnauthenticatedError(message.replace(self._access_token, "[redacted]"), status_code=status)
        if body is None or ("data" not in body and "errors" not in body):
            if not response.is_success:
                raise HTTPStatusError(f"HTTP {status} from {self.endpoint}", status_code=status)
            raise InvalidResponseError(
                "the API answered with something that is not a GraphQL response", status_code=status
            )
        data = body.get("data")
        extensions = body.get("extensions")
        result = GraphQLResult(
            data=data if isinstance(data, dict) else {},
            errors=errors,
            status_code=status,
            extensions=extensions if isinstance(extensions, dict) else {},
        )
        if not response.is_success and not errors:
            raise HTTPStatusError(f"HTTP {status} from {self.endpoint}", status_code=status)
        if errors and (raise_on_errors or not response.is_success):
            raise graphql_error(errors, result.data, status)
        return result

    def _retry_delay(
        self, response: httpx.Response, body: Mapping[str, Any] | None, errors: Sequence[GraphQLErrorDetail],
        attempt: int, waited: float,
    ) -> float:
        # Exactly what the bucket lacks, at its restore rate: finer than Retry-After's seconds.
        retry_after = None
        cost = _cost_of(body, errors)
        if cost is not None and cost.requested is not None and cost.throttle_status is not None:
            retry_after = cost.throttle_status.seconds_until(cost.requested)
        if retry_after is None:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
        if retry_after is None:
            for error in errors:
                hint = error.extensions.get("retryAfter")
                if error.code == THROTTLED and isinstance(hint, (int, float)) and not isinstance(hint, bool):
                    retry_after = max(float(hint), 0.0)
                    break
        delay = self.retry.next_delay(attempt, waited, retry_after)
        if delay is None:
            raise ThrottledError(
                f"throttled; gave up after {attempt} retries",
                status_code=response.status_code,
                retry_after=retry_after,
            )
        return delay


def _cost_of(body: Mapping[str, Any] | None, errors: Sequence[GraphQLErrorDetail]) -> QueryCost | None:
    """The response's ``extensions.cost``, or a throttled error's own copy of it."""
    extensions = body.get("extensions") if body is not None else None
    cost = QueryCost.from_json(extensions.get("cost")) if isinstance(extensions, Mapping) else None
    if cost is None:
        for error in errors:
            cost = QueryCost.from_json(error.extensions.get("cost"))
            if cost is not None:
                break
    return cost


def _errors_of(body: Mapping[str, Any] | None) -> tuple[GraphQLErrorDetail, ...]:
    items = body.get("errors") if body is not None else None
    if not isinstance(items, list):
        return ()
    return tuple(GraphQLErrorDetail.from_json(item) for item in items)
