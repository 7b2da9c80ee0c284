"""Rendering errors at the edge: RFC 6749 JSON for /oauth endpoints, pages for the rest."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...protocol.errors import OAuthError
from ..errors import FatalAuthorizeError, PlatformError
from ..store.connection_health import DatabaseUnavailable
from ..store.write_lock import WriteLockBusy, WriteLockUnavailable
from .platform import platform_of
from .render import render

log = logging.getLogger(__name__)

_DEVELOPER_ADVICE = (
    "The authorization link must name a registered app (client_id) and one of its registered "
    "redirect URLs (redirect_uri), character for character. Compare the values below with the "
    "app's page in the partner dashboard."
)


def oauth_error_response(error: OAuthError, *, basic_auth: bool = False) -> JSONResponse:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if basic_auth and error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="orderchamp"'
    return JSONResponse(error.to_dict(), status_code=error.status, headers=headers)


def _developer_notes(request: Request) -> dict[str, object]:
    """What a developer needs to fix a refused authorization link; a supplier can ignore it."""
    # Shown only when printable: an unreadable link (see web.forms) is not echoed back.
    details = [
        (name, request.query_params[name][:300])
        for name in ("client_id", "redirect_uri")
        if request.method == "GET" and request.query_params.get(name, "").isprintable()
        and request.query_params.get(name)
    ]
    return {"advice": _DEVELOPER_ADVICE, "details": details}


async def platform_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlatformError)
    user = request.scope.get("current_user")
    context: dict[str, object] = {"title": exc.title, "message": exc.message}
    if isinstance(exc, FatalAuthorizeError):
        context["message"] = f"{exc.message} Nothing was connected and no data was shared with the app."
        context["developer"] = _developer_notes(request)
    return render(request, "error.html", context, user=user, status_code=exc.status)


# Starlette's detail for these is the bare status phrase ("Not Found"), which only repeats the
# title: say instead what the person can do about it.
_HTTP_PAGES = {
    404: ("Page not found", "There is no page at this address. Check the link, or start again from your back office."),
    405: ("Method not allowed", "This page does not accept that kind of request. Follow a link or a button to it "
          "rather than sending it directly."),
}


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/oauth/access_token") or request.url.path.startswith("/oauth/revoke"):
        return JSONResponse({"error": "invalid_request", "error_description": exc.detail}, status_code=exc.status_code)
    title, message = _HTTP_PAGES.get(exc.status_code, ("Request refused", str(exc.detail)))
    return render(
        request,
        "error.html",
        {"title": title, "message": message},
        user=request.scope.get("current_user"),
        status_code=exc.status_code,
    )


BUSY_MESSAGE = "The service is busy with other changes. Try again in a moment; nothing was changed."
UNAVAILABLE_MESSAGE = "The service is briefly unavailable. Try again in a moment; nothing was changed."


async def write_lock_handler(request: Request, exc: Exception) -> Response:
    """A write whose lock stayed held past the bound (store/write_lock.py), or a database that
    cannot be reached (store/connection_health.py): 503 with Retry-After, in the shape of the
    endpoint that was asked; nothing was written."""
    assert isinstance(exc, DatabaseUnavailable)
    message = BUSY_MESSAGE if isinstance(exc, WriteLockUnavailable) else UNAVAILABLE_MESSAGE
    if isinstance(exc, WriteLockBusy):
        # A write on the event loop outside db.writing(): refused rather than stall the loop.
        log.warning("write on the event loop found the lock held, outside db.writing(): %s", request.url.path)
    headers = {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"}
    path = request.url.path
    if path.startswith(("/oauth/access_token", "/oauth/revoke")):
        oauth = {"error": "temporarily_unavailable", "error_description": message}
        return JSONResponse(oauth, status_code=503, headers=headers)
    if path.startswith(platform_of(request).settings.api_path + "/"):
        graphql = {"errors": [{"message": message, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}
        return JSONResponse(graphql, status_code=503, headers=headers)
    response = render(request, "error.html", {"title": "Busy, try again", "message": message},
                      user=request.scope.get("current_user"), status_code=503)
    response.headers.update(headers)
    return response
