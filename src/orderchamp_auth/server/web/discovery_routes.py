"""Authorization server metadata (RFC 8414): what a standard OAuth client reads to configure itself."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...protocol.scopes import Scope
from ..settings import Settings
from .platform import platform_of

CLIENT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"]


def authorization_server_metadata(settings: Settings) -> dict[str, Any]:
    web = settings.web_url
    return {
        "issuer": web,
        "authorization_endpoint": f"{web}/oauth/authorize",
        "token_endpoint": f"{web}/oauth/access_token",
        "revocation_endpoint": f"{web}/oauth/revoke",
        "introspection_endpoint": f"{web}/oauth/introspect",
        "scopes_supported": [scope.value for scope in Scope],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "service_documentation": f"{settings.api_url}/graphql",
    }


async def metadata(request: Request) -> Response:
    # Built per request from settings: a few dozen bytes of work, never on a hot path.
    body = authorization_server_metadata(platform_of(request).settings)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})


routes = [
    Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
]
