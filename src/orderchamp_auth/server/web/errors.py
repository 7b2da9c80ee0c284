"""Rendering errors at the edge: RFC 6749 JSON for /oauth endpoints, pages for the rest."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...protocol.errors import OAuthError
from ..errors import PlatformError
from .render import render


def oauth_error_response(error: OAuthError, *, basic_auth: bool = False) -> JSONResponse:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if basic_auth and error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="orderchamp"'
    return JSONResponse(error.to_dict(), status_code=error.status, headers=headers)


async def platform_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlatformError)
    user = request.scope.get("current_user")
    return render(
        request, "error.html", {"title": exc.title, "message": exc.message}, user=user, status_code=exc.status
    )


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/oauth/access_token") or request.url.path.startswith("/oauth/revoke"):
        return JSONResponse({"error": "invalid_request", "error_description": exc.detail}, status_code=exc.status_code)
    titles = {404: "Page not found", 405: "Method not allowed"}
    return render(
        request,
        "error.html",
        {"title": titles.get(exc.status_code, "Request refused"), "message": str(exc.detail)},
        user=request.scope.get("current_user"),
        status_code=exc.status_code,
    )
