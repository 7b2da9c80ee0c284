"""``POST {api}/graphql``: bearer authentication, then a cached document, executed in one
read transaction. ``GET`` serves the GraphiQL page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import orjson
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
)
from graphql.execution.values import get_variable_values
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ...protocol.errors import ScopeError
from ...protocol.scopes import ScopeSet
from ..oauth.bearer import BearerAuthenticator
from ..store.connection_health import DatabaseUnavailable
from ..store.database import Database
from ..store.repositories.catalogue import data_version_on_loop
from ..store.repositories.tokens import TokenGrant
from ..store.transaction import Transaction
from ..webhooks.addresses import Resolver, check_addresses, system_resolver
from .authentication import BearerLookups, bearer_token
from .context import RequestContext
from .cost import QueryCost
from .errors import format_errors, has_internal_error
from .execution import LockAwareExecutionContext, never_awaitable
from .executor import run_plan
from .guard import field_scopes
from .limits import MAX_NODES, node_limit_error
from .plan import CoreOnly, Plan, compile_plan
from .response_cache import ResponseCache
from .schema import CachedDocument, DocumentCache, Operation, add_plan
from .throttle import Admission, RateLimitGate
from .webhook_mutations import addresses_in

if TYPE_CHECKING:
    from ..metrics import Metrics


MAX_BODY_BYTES = 256 * 1024
MAX_SCOPE_SETS = 1024
# Unseen documents compiled at once, each in a thread: each holds the GIL while it works, so
# more would only delay the event loop, not finish sooner.
COMPILE_THREADS = 2
_JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # orjson: the same bytes as json.dumps(separators=(",", ":"), ensure_ascii=False), at
    # a twentieth of the cost, which for a page of 50 products is most of a request.
    body = orjson.dumps(payload)
    return Response(body, status_code=status, headers={**_JSON_HEADERS, **(headers or {})})


def _errors(message: str, code: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers)


def _result_response(data: dict[str, Any] | None, errors: list[GraphQLError]) -> Response:
    """A GraphQL result as the client sees it, from either engine."""
    payload: dict[str, Any] = {}
    status = 200
    if errors:
        payload["errors"] = format_errors(errors)
        if data is None:
            status = 500 if has_internal_error(payload["errors"]) else 400
    payload["data"] = data
    return _json(payload, status)


def _actual(cost: QueryCost | None, data: dict[str, Any] | None) -> int:
    return cost.actual(data) if cost is not None else 0


def unauthenticated(message: str) -> Response:
    return _errors(message, "UNAUTHENTICATED", 401, {"www-authenticate": 'Bearer error="invalid_token"'})


def unknown_operation(operation_name: str | None) -> Response:
    # The name itself is not repeated: it may be as long as the body.
    message = ("The document has several operations: name one in operationName." if operation_name is None
               else "The document has no operation named by operationName.")
    return _errors(message, "OPERATION_NOT_FOUND", 400)


class GraphQLEndpoint:
    def __init__(self, schema: GraphQLSchema, database: Database, authenticator: BearerAuthenticator,
                 graphiql_html: str, *, response_cache_bytes: int = 0, metrics: Metrics | None = None,
                 rate_limits: RateLimitGate | None = None, engine: str = "plans",
                 allow_loopback_webhooks: bool = False, webhook_resolver: Resolver = system_resolver) -> None:
        self.schema = schema
        self.database = database
        self.authenticator = authenticator
        self.bearer = BearerLookups(database, authenticator)
        self.documents = DocumentCache(schema)
        self.graphiql_html = graphiql_html
        self.field_scopes = field_scopes(schema)
        self._scopes: dict[str, ScopeSet] = {}
        # "plans": compiled plans where they cover the document (plan.py); "graphql-core": never
        self.engine = engine
        self.responses = ResponseCache(response_cache_bytes) if response_cache_bytes > 0 else None
        self._compile_limiter: anyio.CapacityLimiter | None = None  # made in the event loop
        self.metrics = metrics
        self.rate_limits = rate_limits  # None: no rate limits (settings.rate_limits off)
        self.allow_loopback_webhooks = allow_loopback_webhooks  # Settings.webhook_allow_loopback
        self.webhook_resolver = webhook_resolver  # looks up webhook hosts at subscribe time

    async def handle(self, request: Request) -> Response:
        if request.method == "GET":
            return HTMLResponse(self.graphiql_html, headers=GRAPHIQL_HEADERS)
        token = bearer_token(request)
        if token is None:
            return unauthenticated("An access token is required: send Authorization: Bearer <token>.")
        grant = self.authenticator.cached(token)
        metrics = self.metrics
        if metrics is not None:
            (metrics.bearer_cache_miss if grant is None else metrics.bearer_cache_hit).inc()
        if grant is None:
            grant = await self.bearer.lookup(token)
            if grant is None:
                return unauthenticated("The access token is invalid or has been revoked.")
        parsed = await self._read_request(request)
        if isinstance(parsed, Response):
            return parsed
        query, variables, operation_name = parsed
        cached = self.documents.lookup(query)
        if cached is None:
            # Parsing and validating an unseen document costs up to tens of milliseconds
            # (limits.py bounds it): off the event loop, so other requests go on meanwhile.
            cached = self.documents.store(query, await self._compile_off_loop(query))
        document = cached.document
        if document is None:
            return _json({"errors": [e.formatted for e in cached.errors]}, 400)
        operation = cached.operations.get(operation_name)
        if operation is None:
            return unknown_operation(operation_name)
        if operation.node_bound is not None:
            nodes = operation.node_bound.count(variables or {})
            if nodes > MAX_NODES:
                return _json({"errors": [node_limit_error(nodes).formatted]}, 400)
        coerced: dict[str, Any] = {}
        if operation.node.variable_definitions:
            # Checked once here for both engines: graphql-core would refuse them the same way.
            found = get_variable_values(self.schema, operation.node.variable_definitions, variables or {})
            if not isinstance(found, dict):
                return _result_response(None, found)
            coerced = found
        if self.rate_limits is None:
            return (await self._answer(query, cached, operation, grant, variables, coerced, None))[0]
        # The requested cost is taken before anything runs, the rest refunded after (throttle.py).
        admission = self.rate_limits.admit(grant, cached, operation, variables)
        if not isinstance(admission, Admission):
            if not isinstance(admission, Response):
                admission = await admission  # the store decides on a later round of the loop (Redis)
            if isinstance(admission, Response):
                return admission
        response, actual = await self._answer(query, cached, operation, grant, variables, coerced, admission.cost)
        body = response.body = admission.settle_body(bytes(response.body), actual)
        # The content-length init_headers put there (last), replaced (cheaper than response.headers[...]).
        length = b"%d" % len(body)
        headers = response.raw_headers
        if headers and headers[-1][0] == b"content-length":
            headers[-1] = (b"content-length", length)
        else:
            response.raw_headers = [(name, length if name == b"content-length" else value) for name, value in headers]
        return response

    async def _answer(self, query: str, cached: CachedDocument, operation: Operation, grant: TokenGrant,
                      variables: dict[str, Any] | None, coerced: dict[str, Any],
                      cost: QueryCost | None) -> tuple[Response, int]:
        """The response by the engine chosen for this operation and scopes, and its actual
        cost (``cost`` applied to the data it holds; 0 without rate limits)."""
        metrics = self.metrics
        document = cached.document
        plan = self._plan_of(cached, operation, grant)
        if isinstance(plan, Plan):
            return await self._answer_by_plan(query, plan, grant, variables, coerced, operation, cost)
        if metrics is not None:
            metrics.api_by_graphql_core.inc()
        if operation.node.operation == OperationType.MUTATION:
            # Webhook addresses are looked up first (off the loop, bounded): no DNS in a write.
            assert document is not None
            addresses = addresses_in(self.schema, document, operation.node, coerced)
            looked_up = await check_addresses(addresses, allow_loopback=self.allow_loopback_webhooks,
                                              resolver=self.webhook_resolver) if addresses else {}
            # Writes may wait for a lock (SQLite's busy timeout): keep them off the event loop.
            result = await run_in_threadpool(self._execute_mutation, grant, document, variables, operation.name,
                                             looked_up)
        else:
            # Reads never wait for locks (WAL, MVCC): inline on SQLite, in the database's
            # threads on PostgreSQL (store.write_lock's rule).
            result = await self.database.reading(
                lambda tx: self._execute_in(tx, grant, document, variables, operation.name))
        return _result_response(result.data, result.errors or []), _actual(cost, result.data)

    async def _compile_off_loop(self, query: str) -> CachedDocument:
        if self._compile_limiter is None:
            self._compile_limiter = anyio.CapacityLimiter(COMPILE_THREADS)
        return await anyio.to_thread.run_sync(self.documents.compile, query, limiter=self._compile_limiter)

    def _scopes_of(self, grant: TokenGrant) -> ScopeSet:
        scopes = self._scopes.get(grant.scopes)
        if scopes is None:
            try:
                scopes = ScopeSet.parse(grant.scopes)
            except ScopeError:
                scopes = ScopeSet()
            if len(self._scopes) >= MAX_SCOPE_SETS:
                self._scopes.clear()  # only tokens' own scope strings get here: a handful
            self._scopes[grant.scopes] = scopes
        return scopes

    def _plan_of(self, cached: CachedDocument, operation: Operation, grant: TokenGrant) -> Plan | CoreOnly:
        """The engine for this operation and scopes, chosen once (plan.py) and kept with the document."""
        if self.engine != "plans":
            return CoreOnly("the graphql-core engine is configured")
        key = (operation.name, grant.scopes)
        plan = cached.plans.get(key)
        if plan is None:
            plan = compile_plan(self.schema, cached.document, operation.node,  # type: ignore[arg-type]
                                self._scopes_of(grant), self.field_scopes)
            add_plan(cached, key, plan)
        return plan  # type: ignore[no-any-return]

    async def _answer_by_plan(self, query: str, plan: Plan, grant: TokenGrant, variables: dict[str, Any] | None,
                              coerced: dict[str, Any], operation: Operation,
                              cost: QueryCost | None) -> tuple[Response, int]:
        """The response by the operation's plan, or from the response cache, and its actual cost."""
        metrics = self.metrics
        cache_key: tuple[Any, ...] | None = None
        known: int | None = None
        if self.responses is not None:
            variables_key = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
            cache_key = (query, operation.name, grant.scopes, grant.account_id, variables_key)
            # The version alone first, outside a transaction (no thread handoff on PostgreSQL,
            # no BEGIN on SQLite): a hit needs nothing more. On a miss the data is read after
            # it, so an entry is never older than the version it is filed under.
            known = await data_version_on_loop(self.database, grant.account_id)
            if known is not None:
                hit = self.responses.get(cache_key, known)
                if hit is not None:
                    return self._cached_response(hit)

        def read(tx: Transaction) -> tuple[Any, ...]:
            catalogue = tx.catalogue(grant.account_id)
            version = known
            if cache_key is not None and self.responses is not None and version is None:
                # Read before the data, as above, where the loop could not read it alone.
                version = catalogue.data_version()
                hit = self.responses.get(cache_key, version)
                if hit is not None:
                    return hit, None, version
            data, errors = run_plan(plan, catalogue, coerced)
            return data, errors, version

        try:
            data, errors, version = await self.database.reading(read)
        except DatabaseUnavailable:
            raise  # busy or unreachable: the app answers 503 with Retry-After
        except Exception as exc:  # a bug: logged, answered without its text
            return _result_response(None, [GraphQLError("plan failed", original_error=exc)]), _actual(cost, None)
        if errors is None:
            return self._cached_response(data)
        if metrics is not None:
            metrics.api_by_plan.inc()
        actual = _actual(cost, data)
        if errors:
            return _result_response(data, errors), actual
        body = orjson.dumps({"data": data})
        if cache_key is not None and self.responses is not None:
            if metrics is not None:
                metrics.response_cache_miss.inc()
            # the actual cost kept with the body: a hit answers the same data, so costs the same
            self.responses.put(cache_key, version, body, actual, len(query) + len(cache_key[4]))
        return Response(body, headers=_JSON_HEADERS), actual

    def _cached_response(self, hit: tuple[bytes, int]) -> tuple[Response, int]:
        metrics = self.metrics
        if metrics is not None:
            metrics.response_cache_hit.inc()
            metrics.api_from_cache.inc()
        return Response(hit[0], headers=_JSON_HEADERS), hit[1]

    def _execute_mutation(self, grant: TokenGrant, document: Any, variables: dict[str, Any] | None,
                          operation_name: str | None, looked_up: dict[str, str | None]) -> ExecutionResult:
        with self.database.write() as tx:
            return self._execute_in(tx, grant, document, variables, operation_name, looked_up)

    def _execute_in(self, tx: Transaction, grant: TokenGrant, document: Any, variables: dict[str, Any] | None,
                    operation_name: str | None, looked_up: dict[str, str | None] | None = None) -> ExecutionResult:
        """graphql-core's run of the operation in ``tx``, the one transaction of the request."""
        context = RequestContext(grant.account_id, self._scopes_of(grant), tx, token_id=grant.token_id,
                                 allow_loopback_webhooks=self.allow_loopback_webhooks,
                                 webhook_addresses=looked_up or {})
        result = execute(self.schema, document, context_value=context, variable_values=variables,
                         operation_name=operation_name, execution_context_class=LockAwareExecutionContext,
                         is_awaitable=never_awaitable)
        assert isinstance(result, ExecutionResult)
        return result

    async def _read_request(self, request: Request) -> tuple[str, dict[str, Any] | None, str | None] | Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _errors("Send the request as application/json.", "BAD_REQUEST", 415)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            return _errors(f"The request body is larger than {MAX_BODY_BYTES} bytes.", "BAD_REQUEST", 413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _errors(f"The request body is larger than {MAX_BODY_BYTES} bytes.", "BAD_REQUEST", 413)
        try:
            data = orjson.loads(body)
        except (ValueError, RecursionError):
            return _errors("The request body is not valid JSON.", "BAD_REQUEST", 400)
        if not isinstance(data, dict):
            return _errors("The request body must be a JSON object.", "BAD_REQUEST", 400)
        query = data.get("query")
        if not isinstance(query, str) or not query.strip():
            return _errors("The request has no query.", "BAD_REQUEST", 400)
        variables = data.get("variables")
        if variables == [] or variables is None:
            variables = None  # PHP's json_encode writes an empty array for "no variables".
        elif not isinstance(variables, dict):
            return _errors("variables must be an object.", "BAD_REQUEST", 400)
        operation_name = data.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            return _errors("operationName must be a string.", "BAD_REQUEST", 400)
        return query, variables, operation_name or None


GRAPHIQL_HEADERS = {
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
