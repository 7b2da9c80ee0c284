"""The API's rate-limit gate: price the operation (cost.py), take the cost from the token's
bucket before it runs, refund the difference to the actual cost afterwards, and say so in
``extensions.cost``.

A throttled request is answered HTTP 429 with ``Retry-After`` (RFC 6585): nothing ran, and
generic HTTP clients, proxies and monitoring understand 429 where they would not read a
GraphQL body; the body is Shopify's (``errors[0].message == "Throttled"``, with the cost and
the throttle status), so GraphQL clients read it as they would at 200. A query that costs
more than a bucket may hold at once is refused with 400 (``MAX_COST_EXCEEDED``).
"""

from __future__ import annotations

import math
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLSchema
from starlette.responses import Response

from ..ratelimit.bucket import Reservation
from ..ratelimit.limiter import RateLimiter
from ..store.repositories.tokens import TokenGrant
from .cost import QueryCost, requested_cost
from .schema import CachedDocument, Operation

if TYPE_CHECKING:
    from ..metrics import Metrics

_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


def throttle_status(reservation: Reservation) -> dict[str, Any]:
    return {"maximumAvailable": float(reservation.capacity), "currentlyAvailable": math.floor(reservation.available),
            "restoreRate": float(reservation.restore_rate)}


@dataclass(slots=True)
class Admission:
    """A request the bucket let through: what it reserved, settled once it has run."""

    gate: RateLimitGate
    grant: TokenGrant
    cost: QueryCost
    reservation: Reservation

    def settle_body(self, body: bytes, actual: int) -> bytes:
        """``body`` (a response's JSON object) with ``extensions.cost`` appended; refunds what
        the query did not use (``actual``: ``self.cost`` applied to the data in ``body``), not
        waiting for the store. The bytes are what ``orjson.dumps`` makes of the same object."""
        requested = self.cost.requested
        available = self.reservation.available
        refunded = requested - actual
        if refunded > 0:
            self.gate.limiter.refund_soon(self.grant, refunded)
            available = min(available + refunded, float(self.reservation.capacity))
        tail = self.gate.extensions % (requested, actual, math.floor(available))
        if len(body) < 4096:
            return body[:-1] + tail
        return b"".join((memoryview(body)[:-1], tail))  # a page of products copied once, not twice


class RateLimitGate:
    def __init__(self, schema: GraphQLSchema, limiter: RateLimiter, metrics: Metrics | None = None) -> None:
        self.schema = schema
        self.limiter = limiter
        self.metrics = metrics
        limits = limiter.limits
        # the tail of a response with its extensions.cost (requested, actual, currently available)
        self.extensions = (b',"extensions":{"cost":{"requestedQueryCost":%d,"actualQueryCost":%d,'
                           b'"throttleStatus":{"maximumAvailable":' + orjson.dumps(float(limits.capacity))
                           + b',"currentlyAvailable":%d,"restoreRate":' + orjson.dumps(float(limits.restore_rate))
                           + b'}}}}')

    def admit(self, grant: TokenGrant, cached: CachedDocument, operation: Operation,
              variables: dict[str, Any] | None) -> Admission | Response | Coroutine[Any, Any, Admission | Response]:
        """The admission or the refusal; a coroutine to await for them when the store decides
        later (Redis): most requests never suspend here."""
        cost = self._price(cached, operation, variables)
        limits = self.limiter.limits
        if cost.requested > limits.max_query_cost:
            return _refusal(cost, limits.max_query_cost)
        reservation = self.limiter.reserve_now(grant, cost.requested)
        if reservation is None:
            return self._admit_later(grant, cost)
        return self._decide(grant, cost, reservation)

    async def _admit_later(self, grant: TokenGrant, cost: QueryCost) -> Admission | Response:
        return self._decide(grant, cost, await self.limiter.reserve(grant, cost.requested))

    def _decide(self, grant: TokenGrant, cost: QueryCost, reservation: Reservation) -> Admission | Response:
        if not reservation.granted:
            if self.metrics is not None:
                self.metrics.api_throttled.inc()
            return throttled(cost.requested, reservation)
        return Admission(self, grant, cost, reservation)

    def _price(self, cached: CachedDocument, operation: Operation,
               variables: dict[str, Any] | None) -> QueryCost:
        cost: QueryCost | None = cached.costs.get(operation.name)
        if cost is None:
            cost = requested_cost(self.schema, cached.document, operation.node, variables)  # type: ignore[arg-type]
            if not cost.uses_variables:
                # kept with the document: as bounded as the document cache and its operations
                cached.costs[operation.name] = cost
        return cost


def throttled(requested: int, reservation: Reservation) -> Response:
    wait = reservation.seconds_until(requested)
    status = throttle_status(reservation)
    cost = {"requestedQueryCost": requested, "actualQueryCost": None, "throttleStatus": status}
    error = {"message": "Throttled",
             "extensions": {"code": "THROTTLED", "retryAfter": round(wait, 3), "cost": cost}}
    retry_after = str(max(math.ceil(wait), 1)) if math.isfinite(wait) else "3600"
    return Response(orjson.dumps({"errors": [error], "extensions": {"cost": cost}}), status_code=429,
                    headers={**_HEADERS, "retry-after": retry_after})


def _refusal(cost: QueryCost, maximum: int) -> Response:
    details = {"requestedQueryCost": cost.requested, "actualQueryCost": None}
    error = {"message": f"The query costs {cost.requested} points; a single query may cost at most {maximum}. "
                        "Ask for smaller pages (first/last) or fewer fields.",
             "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost.requested, "maxCost": maximum}}
    return Response(orjson.dumps({"errors": [error], "extensions": {"cost": details}}), status_code=400,
                    headers=_HEADERS)
