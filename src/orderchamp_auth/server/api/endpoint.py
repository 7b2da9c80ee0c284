"""``POST {api}/graphql``: bearer authentication, then a cached document, executed in one
read transaction. ``GET`` serves the GraphiQL page."""

from __future__ import annotations

import logging
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
from ..store.database import Database
from ..store.repositories.catalogue import CatalogueRepository
from ..store.repositories.cursors import CursorError
from ..store.repositories.tokens import TokenGrant
from .compiled import Fallback, Unsupported, compile_plan
from .context import RequestContext
from .errors import format_errors, has_internal_error
from .execution import FastExecutionContext, never_awaitable
from .limits import MAX_NODES, node_limit_error
from .response_cache import ResponseCache
from .schema import CachedDocument, DocumentCache, Operation, add_plan

if TYPE_CHECKING:
    from ..metrics import Metrics

log = logging.getLogger(__name__)
_MISSING = object()

MAX_BODY_BYTES = 256 * 1024
MAX_SCOPE_SETS = 1024
# Unseen documents compiled at once, each in a thread: each holds the GIL while it works, so
# more would only delay the event loop, not finish sooner.
COMPILE_THREADS = 2
MAX_TOKEN_LENGTH = 512
_JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # orjson: the same bytes as json.dumps(separators=(",", ":"), ensure_ascii=False), at
    # a twentieth of the cost, which for a page of 50 products is most of a request.
    body = orjson.dumps(payload)
    return Response(body, status_code=status, headers={**_JSON_HEADERS, **(headers or {})})


def _errors(message: str, code: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers)


def unauthenticated(message: str) -> Response:
    return _errors(message, "UNAUTHENTICATED", 401, {"www-authenticate": 'Bearer error="invalid_token"'})


def unknown_operation(operation_name: str | None) -> Response:
    # The name itself is not repeated: it may be as long as the body.
    message = ("The document has several operations: name one in operationName." if operation_name is None
               else "The document has no operation named by operationName.")
    return _errors(message, "OPERATION_NOT_FOUND", 400)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header or header[:7].lower() != "bearer ":
        return None
    token = header[7:].strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    return token


class GraphQLEndpoint:
    def __init__(self, schema: GraphQLSchema, database: Database, authenticator: BearerAuthenticator,
                 graphiql_html: str, *, response_cache_bytes: int = 0, metrics: Metrics | None = None) -> None:
        self.schema = schema
        self.database = database
        self.authenticator = authenticator
        self.documents = DocumentCache(schema)
        self.graphiql_html = graphiql_html
        self._scopes: dict[str, ScopeSet] = {}
        # Compiled plans for the common reads (compiled.py); off only to compare both paths.
        self.use_plans = True
        self.fallbacks = 0  # requests a plan handed back to graphql-core (tests read it)
        self.responses = ResponseCache(response_cache_bytes) if response_cache_bytes > 0 else None
        self._compile_limiter: anyio.CapacityLimiter | None = None  # made in the event loop
        self.metrics = metrics
        self.allow_loopback_webhooks = False  # Settings.webhook_allow_loopback, set by the app factory

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
            grant = self.authenticator.lookup(token)
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
        operation_name = operation.name
        body = self._answer_by_plan(query, cached, grant, variables, operation)
        if body is not None:
            return Response(body, headers=_JSON_HEADERS)
        if metrics is not None:
            metrics.api_by_graphql_core.inc()
        if operation.node.operation == OperationType.MUTATION:
            # Writes may wait for a lock (SQLite's busy timeout): keep them off the event loop.
            result = await run_in_threadpool(self._execute, grant, document, variables, operation_name, True)
        else:
            # Reads never wait for locks (WAL, MVCC) and take well under a millisecond for the
            # usual query; a thread handoff would cost more than the work itself.
            result = self._execute(grant, document, variables, operation_name, False)
        payload: dict[str, Any] = {}
        status = 200
        if result.errors:
            payload["errors"] = format_errors(result.errors)
            if result.data is None:
                status = 500 if has_internal_error(payload["errors"]) else 400
        payload["data"] = result.data
        return _json(payload, status)

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

    def _answer_by_plan(self, query: str, cached: CachedDocument, grant: TokenGrant,
                        variables: dict[str, Any] | None, operation: Operation) -> bytes | None:
        """The response body by the document's compiled plan (or the response cache); None
        where graphql-core must answer."""
        operation_name = operation.name
        key = (operation_name, grant.scopes)
        plan = cached.plans.get(key, _MISSING)
        if plan is _MISSING:
            try:
                plan = compile_plan(self.schema, cached.document, operation_name,  # type: ignore[arg-type]
                                    self._scopes_of(grant))
            except Unsupported as exc:
                log.debug("graphql-core's path for this document: %s", exc)
                plan = None
            add_plan(cached, key, plan)
        if plan is None or not self.use_plans:
            return None
        coerced: Any = {}
        if plan.operation.variable_definitions:
            coerced = get_variable_values(self.schema, plan.operation.variable_definitions, variables or {})
            if not isinstance(coerced, dict):
                return None  # graphql-core reports the variables' errors
        cache_key: tuple[Any, ...] | None = None
        try:
            with self.database.driver_snapshot() as source:
                catalogue = CatalogueRepository(source, grant.account_id)
                if self.responses is not None:
                    # The version is read before the data, in the same transaction: an entry
                    # is never older than the version it is filed under.
                    version = catalogue.data_version()
                    variables_key = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
                    cache_key = (query, operation_name, grant.scopes, grant.account_id, variables_key)
                    body = self.responses.get(cache_key, version)
                    if body is not None:
                        if self.metrics is not None:
                            self.metrics.response_cache_hit.inc()
                            self.metrics.api_from_cache.inc()
                        return body
                data = plan.run(catalogue, coerced)
        except (Fallback, GraphQLError, CursorError) as exc:  # graphql-core's path reports these
            self.fallbacks += 1
            log.debug("graphql-core's path for this request: %r", exc)
            return None
        except Exception:  # graphql-core's path runs it again, and reports it (format_errors) if it fails too
            self.fallbacks += 1
            log.warning("A compiled plan failed; graphql-core's path answers instead", exc_info=True)
            return None
        body = orjson.dumps({"data": data})
        if self.metrics is not None:
            self.metrics.api_by_plan.inc()
            if cache_key is not None:
                self.metrics.response_cache_miss.inc()
        if cache_key is not None and self.responses is not None:
            self.responses.put(cache_key, version, body, len(query) + len(cache_key[4]))
        return body

    def _execute(self, grant: TokenGrant, document: Any, variables: dict[str, Any] | None,
                 operation_name: str | None, write: bool) -> ExecutionResult:
        transaction = self.database.write if write else self.database.driver_snapshot
        with transaction() as source:
            context = RequestContext(grant.account_id, self._scopes_of(grant), source, grant.token_id,
                                     self.allow_loopback_webhooks)
            result = execute(self.schema, document, context_value=context, variable_values=variables,
                             operation_name=operation_name, execution_context_class=FastExecutionContext,
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
