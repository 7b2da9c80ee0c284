"""The app factory: the one place that builds settings, storage, keys and routes together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .api.endpoint import GraphQLEndpoint
from .api.graphiql import graphiql_page
from .api.schema import build_api_schema
from .api.throttle import RateLimitGate
from .api.webhook_payloads import api_payload
from .errors import PlatformError
from .keys import SecretBox
from .oauth.bearer import BearerAuthenticator
from .oauth.clients import ClientSecrets
from .ratelimit.wiring import build_limiter
from .request_log import RequestLogMiddleware
from .settings import Settings, load_settings
from .store.connection_health import DatabaseUnavailable
from .store.database import Database
from .web import (
    auth_routes,
    backoffice_routes,
    discovery_routes,
    favicon,
    oauth_routes,
    partner_changes_routes,
    partner_routes,
    partner_webhooks_routes,
    support_changes_routes,
    support_routes,
    support_webhooks_routes,
)
from .web.errors import http_error_handler, platform_error_handler, write_lock_handler
from .web.platform import Platform
from .web.render import build_templates
from .web.security import SecurityHeadersMiddleware
from .webhooks.addresses import resolver_for

STATIC = Path(__file__).parent / "web" / "static"


async def healthz(_request: Request) -> Response:
    return PlainTextResponse("ok")


def build_platform(settings: Settings, database: Database | None = None) -> Platform:
    database = database or Database(settings.database_url,
                                    write_lock_timeout=settings.write_lock_timeout_ms / 1000)
    box = SecretBox(settings.secret_keys)
    return Platform(
        settings=settings,
        database=database,
        secret_box=box,
        client_secrets=ClientSecrets(box),
        authenticator=BearerAuthenticator(check_interval=settings.auth_cache_check_interval),
        templates=build_templates(),
        object_payloads=api_payload,
    )


def webhook_lifespan(platform: Platform) -> Any:
    """The delivery worker inside the server process, unless the settings turn it off."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if not platform.settings.webhook_worker:
            yield
            return
        from .webhooks.worker import running, worker_from_settings

        async with running(worker_from_settings(platform.settings, platform.database, platform.secret_box)):
            yield

    return lifespan


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the ASGI app. Called with no argument (uvicorn ``--factory``) it reads the environment."""
    settings = settings or load_settings()
    platform = build_platform(settings)
    api_path = settings.api_path
    metrics = None
    if settings.metrics_port is not None:
        from .metrics import Metrics

        metrics = Metrics()
    schema = build_api_schema()
    rate_limits = None
    if settings.rate_limits:
        rate_limits = RateLimitGate(schema, build_limiter(settings, platform.database, metrics), metrics)
    graphql = GraphQLEndpoint(schema, platform.database, platform.authenticator,
                              graphiql_page(f"{api_path}/graphql"),
                              response_cache_bytes=settings.api_response_cache_mb * 1024 * 1024, metrics=metrics,
                              rate_limits=rate_limits, engine=settings.api_engine,
                              allow_loopback_webhooks=settings.webhook_allow_loopback,
                              webhook_resolver=resolver_for(settings.webhook_hosts))
    routes = [
        Route(f"{api_path}/graphql", graphql.handle, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        *favicon.routes,
        *oauth_routes.routes,
        *discovery_routes.routes,
        *auth_routes.routes,
        *backoffice_routes.routes,
        *partner_routes.routes,
        *support_routes.routes,
        *partner_changes_routes.routes,
        *partner_webhooks_routes.routes,
        *support_changes_routes.routes,
        *support_webhooks_routes.routes,
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=webhook_lifespan(platform),
        exception_handlers={PlatformError: platform_error_handler, HTTPException: http_error_handler,
                            DatabaseUnavailable: write_lock_handler},
    )
    app.state.platform = platform
    app.state.graphql = graphql
    app.state.metrics = metrics
    app.add_middleware(SecurityHeadersMiddleware, api_prefix=api_path)
    # Always there, for the request id; added last: outermost, so it times everything.
    app.add_middleware(RequestLogMiddleware, log=settings.request_log, log_format=settings.log_format,
                       routes=route_patterns(routes), metrics=metrics)
    return app


def route_patterns(routes: list[BaseRoute]) -> dict[Any, str]:
    """Each endpoint's route pattern (``/partners/{partner_id:id}``), which the router leaves
    in the scope as ``endpoint``; the first route wins for an endpoint served at two paths."""
    patterns: dict[Any, str] = {}
    for route in routes:
        endpoint = route.app if isinstance(route, Mount) else getattr(route, "endpoint", None)
        if endpoint is not None:
            patterns.setdefault(endpoint, route.path)  # type: ignore[attr-defined]
    return patterns
