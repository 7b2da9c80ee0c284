"""The install flow as two Starlette routes (works in FastAPI too). Needs ``orderchamp-auth[starlette]``.

    flow = OrderchampInstallFlow(oauth, scopes="account_read,products_read",
                                 redirect_uri="https://app.example/callback",
                                 token_store=SQLiteTokenStore("tokens.db"), on_install=remember)
    app = Starlette(routes=[*flow.routes, ...])

- ``GET {application_path}`` (the app's *application URL*): verifies Orderchamp's signed
  install start, issues a state bound to this browser (an HttpOnly, SameSite=Lax cookie) and
  redirects to ``/oauth/authorize`` (with PKCE).
- ``GET {redirect_path}`` (the app's *redirect URL*): verifies the callback's signature and
  state, exchanges the code, saves the installation in the token store, calls ``on_install``
  and redirects to ``after_install_url`` (default: the account's app page on Orderchamp).

Webhooks have a route of their own: ``OrderchampWebhooks`` (see ``starlette_webhooks``).
"""

from __future__ import annotations

import html
import inspect
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .. import (
    AccessDeniedByUserError,
    AsyncOrderchampOAuth,
    CallbackError,
    ExchangeError,
    Installation,
    OrderchampClientError,
    RequestVerificationError,
    Scope,
    ScopeSet,
    StateMismatchError,
    TokenStore,
    TransportError,
)
from .starlette_webhooks import InMemoryWebhookIds, OrderchampWebhooks, WebhookIdStore

__all__ = ["InMemoryWebhookIds", "OrderchampInstallFlow", "OrderchampWebhooks", "WebhookIdStore", "render_error"]

InstallHook = Callable[[Installation, Request], Awaitable[Response | None] | Response | None]
ErrorHook = Callable[[Request, OrderchampClientError], Awaitable[Response] | Response]

DEFAULT_COOKIE_NAME = "orderchamp_app_session"
_SESSION_KEY = re.compile(r"^[A-Za-z0-9_\-]{32,128}$")
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


class OrderchampInstallFlow:
    """Mountable routes for an app's application URL and redirect URL."""

    def __init__(
        self,
        oauth: AsyncOrderchampOAuth,
        *,
        scopes: Iterable[Scope | str] | ScopeSet | str,
        redirect_uri: str,
        token_store: TokenStore,
        application_path: str = "/install",
        redirect_path: str = "/callback",
        on_install: InstallHook | None = None,
        on_error: ErrorHook | None = None,
        after_install_url: str | None = None,
        cookie_name: str = DEFAULT_COOKIE_NAME,
        cookie_secure: bool | None = None,
        use_pkce: bool = True,
    ) -> None:
        self.oauth = oauth
        self.scopes = (
            scopes
            if isinstance(scopes, ScopeSet)
            else (ScopeSet.parse(scopes) if isinstance(scopes, str) else ScopeSet(scopes))
        )
        self.redirect_uri = redirect_uri
        self.token_store = token_store
        self.application_path = application_path
        self.redirect_path = redirect_path
        self.on_install = on_install
        self.on_error = on_error
        self.after_install_url = after_install_url
        self.cookie_name = cookie_name
        self.cookie_secure = cookie_secure
        self.use_pkce = use_pkce

    @property
    def routes(self) -> list[BaseRoute]:
        return [
            Route(self.application_path, self.start, methods=["GET"], name="orderchamp_install"),
            Route(self.redirect_path, self.callback, methods=["GET"], name="orderchamp_callback"),
        ]

    def session_key(self, request: Request) -> str | None:
        """This browser's key (from the flow's cookie), or ``None``; apps may bind their own data to it."""
        value = request.cookies.get(self.cookie_name)
        return value if value and _SESSION_KEY.match(value) else None

    async def start(self, request: Request) -> Response:
        try:
            install = self.oauth.verify_install_request(request.scope["query_string"])
        except OrderchampClientError as exc:
            return await self._error(request, exc)
        session_key = self.session_key(request) or secrets.token_urlsafe(32)
        authorization = self.oauth.begin_authorization(
            self.scopes,
            self.redirect_uri,
            session_key=session_key,
            use_pkce=self.use_pkce,
            account_id=install.account_id,
        )
        response = RedirectResponse(authorization.url, status_code=303, headers=_SECURITY_HEADERS)
        response.set_cookie(
            self.cookie_name,
            session_key,
            httponly=True,
            samesite="lax",
            secure=self.cookie_secure if self.cookie_secure is not None else request.url.scheme == "https",
            path="/",
        )
        return response

    async def callback(self, request: Request) -> Response:
        try:
            callback = self.oauth.verify_callback(
                request.scope["query_string"], session_key=self.session_key(request) or ""
            )
            token = await self.oauth.exchange_code(
                callback.code, redirect_uri=callback.redirect_uri, code_verifier=callback.code_verifier
            )
            if token.account_id is not None and token.account_id != callback.account_id:
                raise ExchangeError("invalid_grant", "the token was issued for another account")
        except OrderchampClientError as exc:
            return await self._error(request, exc)
        installation = Installation.from_token(
            token, account_id=callback.account_id, installed_at=self.oauth.clock()
        )
        await run_in_threadpool(self.token_store.save, installation)
        if self.on_install is not None:
            outcome = self.on_install(installation, request)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            if isinstance(outcome, Response):
                return outcome
        target = self.after_install_url or self.oauth.finish_url()
        return RedirectResponse(target, status_code=303, headers=_SECURITY_HEADERS)

    async def _error(self, request: Request, exc: OrderchampClientError) -> Response:
        if self.on_error is not None:
            outcome = self.on_error(request, exc)
            return await outcome if inspect.isawaitable(outcome) else outcome
        return render_error(exc)


def render_error(exc: OrderchampClientError) -> Response:
    """A plain page for a failed install; it names the failure, never a secret or code."""
    if isinstance(exc, AccessDeniedByUserError):
        status, title, text = (
            403,
            "Installation cancelled",
            "You declined the installation. Nothing was installed.",
        )
    elif isinstance(exc, RequestVerificationError):
        status, title = 400, "Invalid installation link"
        text = "This link is invalid or has expired. Start the installation again from your Orderchamp back office."
    elif isinstance(exc, StateMismatchError):
        status, title = 400, "Installation not recognised"
        text = (
            "This installation was not started in this browser, was already completed, or took too long. "
            "Start it again from your Orderchamp back office."
        )
    elif isinstance(exc, CallbackError):
        status, title = 400, "Installation failed"
        text = f"Orderchamp reported an error: {exc.error}."
    elif isinstance(exc, (ExchangeError, TransportError)):
        status, title = 502, "Installation failed"
        text = "The app could not obtain its access token from Orderchamp. Please try again."
    else:
        status, title, text = 400, "Installation failed", "The installation could not be completed."
    title, text, kind = html.escape(title), html.escape(text), html.escape(type(exc).__name__)
    body = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>"
        "<body style='font-family:sans-serif;max-width:40em;margin:4em auto'>"
        f"<h1>{title}</h1><p>{text}</p><p><small>{kind}</small></p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)
