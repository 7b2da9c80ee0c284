"""An Orderchamp app in one file: install it from the back office, see your account and products,
and the product changes Orderchamp tells it about by webhook.

Run it (the client id and secret come from the partner dashboard, or ``orderchamp-auth demo``):

    python examples/example_app.py --client-id ID --client-secret SECRET \\
        --web-url http://127.0.0.1:8000 --api-url http://127.0.0.1:8000/v1 --port 8001

Every option can come from the environment instead (prefer it for the secret: a command line
is visible to other users of the machine): ORDERCHAMP_CLIENT_ID, ORDERCHAMP_CLIENT_SECRET,
ORDERCHAMP_PREVIOUS_CLIENT_SECRET, ORDERCHAMP_WEB_URL, ORDERCHAMP_API_URL, EXAMPLE_APP_HOST,
EXAMPLE_APP_PORT, EXAMPLE_APP_URL, EXAMPLE_APP_SCOPES, EXAMPLE_APP_DB.

Register these URLs for the app: application URL ``{app url}/install``, redirect URL
``{app url}/callback`` (or pass ``--application-url`` / ``--redirect-url`` to match yours).

On install the app subscribes to ``PRODUCT_UPDATED`` at ``{app url}/webhooks``. Orderchamp sends
only to https addresses on public networks; ``orderchamp-auth serve --demo`` also sends to
http://127.0.0.1, so the app receives its webhooks on a developer's machine.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import os
import sys
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from orderchamp_auth.client import (
    DEFAULT_API_URL,
    DEFAULT_WEB_URL,
    AsyncOrderchampOAuth,
    InMemoryTokenStore,
    Installation,
    OrderchampClientError,
    SQLiteTokenStore,
    TokenStore,
    UnauthenticatedError,
    Webhook,
)
from orderchamp_auth.client.integrations.starlette import OrderchampInstallFlow, OrderchampWebhooks

HOME_QUERY = "{ account { name } products(first: 10) { nodes { id title } } }"
SUBSCRIBE = """mutation($address: String!) {
  webhookCreate(input: {topic: PRODUCT_UPDATED, address: $address}) { webhook { id } userErrors { message } } }"""
RECENT_EVENTS = 20
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Settings:
    client_id: str
    client_secret: str
    previous_client_secret: str | None = None
    web_url: str = DEFAULT_WEB_URL
    api_url: str = DEFAULT_API_URL
    host: str = "127.0.0.1"
    port: int = 8001
    app_url: str | None = None
    application_url: str | None = None
    redirect_url: str | None = None
    after_install: str = "app"  # "app": this app's page; "orderchamp": the back office (finish URL)
    scopes: str = "account_read,products_read"
    database: str | None = None

    def __repr__(self) -> str:  # never print the secrets
        return f"Settings(client_id={self.client_id!r}, web_url={self.web_url!r}, api_url={self.api_url!r})"

    @property
    def base_url(self) -> str:
        return (self.app_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def install_url(self) -> str:
        return self.application_url or f"{self.base_url}/install"

    @property
    def callback_url(self) -> str:
        return self.redirect_url or f"{self.base_url}/callback"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<body style='font-family:sans-serif;max-width:44em;margin:3em auto'>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers=_HEADERS,
    )


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """The example app. ``transport`` replaces the network to Orderchamp (tests)."""
    oauth = AsyncOrderchampOAuth(
        settings.client_id,
        settings.client_secret,
        previous_client_secret=settings.previous_client_secret,
        web_url=settings.web_url,
        api_url=settings.api_url,
        transport=transport,
    )
    tokens: TokenStore = SQLiteTokenStore(settings.database) if settings.database else InMemoryTokenStore()
    sessions: dict[str, str] = {}  # this browser (flow session key) -> the account it installed
    subscriptions: dict[str, str] = {}  # account -> what subscribing to PRODUCT_UPDATED said
    received: deque[tuple[str, str, str]] = deque(maxlen=RECENT_EVENTS)  # (account, webhook id, title)
    secrets = [settings.client_secret, *([settings.previous_client_secret] if settings.previous_client_secret else [])]
    webhooks = OrderchampWebhooks(secrets, path="/webhooks")

    @webhooks.on("PRODUCT_UPDATED")
    def product_updated(webhook: Webhook, payload: dict) -> None:
        product = (payload.get("data") or {}).get("product") or {}
        received.appendleft((webhook.account_id or "", webhook.webhook_id or "", str(product.get("title", ""))))

    async def remember(installation: Installation, request: Request) -> None:
        key = flow.session_key(request)
        if key is not None:
            sessions[key] = installation.account_id
        async with oauth.api_client(installation.access_token) as api:
            try:
                result = await api.execute(SUBSCRIBE, {"address": f"{settings.base_url}/webhooks"},
                                           raise_on_errors=False)
            except OrderchampClientError as exc:
                subscriptions[installation.account_id] = f"not subscribed ({type(exc).__name__})"
                return
        errors = ((result.data or {}).get("webhookCreate") or {}).get("userErrors") or []
        subscriptions[installation.account_id] = (
            "not subscribed: " + "; ".join(e["message"] for e in errors) if errors
            else f"subscribed to PRODUCT_UPDATED at {settings.base_url}/webhooks")

    flow = OrderchampInstallFlow(
        oauth,
        scopes=settings.scopes,
        redirect_uri=settings.callback_url,
        token_store=tokens,
        application_path=urlsplit(settings.install_url).path or "/install",
        redirect_path=urlsplit(settings.callback_url).path or "/callback",
        on_install=remember,
        after_install_url="/" if settings.after_install == "app" else None,
    )

    def installation_of(request: Request) -> Installation | None:
        key = flow.session_key(request)
        account_id = sessions.get(key) if key else None
        return tokens.get(account_id) if account_id else None

    async def home(request: Request) -> Response:
        installation = installation_of(request)
        if installation is None:
            return _page(
                "Orderchamp example app",
                "<p>Not installed in this browser yet. Install the app from the integration overview "
                "of your Orderchamp back office.</p>"
                f"<p>Application URL: <code>{html.escape(settings.install_url)}</code><br>"
                f"Redirect URL: <code>{html.escape(settings.callback_url)}</code></p>",
            )
        async with oauth.api_client(installation.access_token) as api:
            try:
                result = await api.execute(HOME_QUERY, raise_on_errors=False)
            except UnauthenticatedError:
                tokens.delete(installation.account_id)
                return _page("App uninstalled", "<p>The token was revoked: install the app again.</p>", 401)
            except OrderchampClientError as exc:
                return _page("Orderchamp is not answering", f"<p>{html.escape(type(exc).__name__)}</p>", 502)
        account = result.data.get("account") or {}
        products = (result.data.get("products") or {}).get("nodes") or []
        items = "".join(f"<li>{html.escape(str(p.get('title')))}</li>" for p in products)
        events = "".join(f"<li><code>{html.escape(webhook_id)}</code> {html.escape(title)}</li>"
                         for _account, webhook_id, title in received)
        missing = ", ".join(result.missing_scopes)
        return _page(
            f"{account.get('name') or 'Your account'} on Orderchamp",
            f"<p>Account <code>{html.escape(installation.account_id)}</code>, "
            f"scopes <code>{html.escape(installation.scopes.to_string())}</code>.</p>"
            + (f"<p>Missing scopes: {html.escape(missing)}.</p>" if missing else "")
            + f"<h2>Products</h2><ul id=products>{items or '<li>No products yet.</li>'}</ul>"
            + "<h2>Product updates received</h2>"
            f"<p id=subscription>{html.escape(subscriptions.get(installation.account_id, 'not subscribed'))}</p>"
            f"<ul id=webhooks>{events or '<li>None yet.</li>'}</ul>"
            "<form method=post action=/uninstall><button>Revoke this app's token</button></form>",
        )

    async def uninstall(request: Request) -> Response:
        installation = installation_of(request)
        if installation is not None:
            try:
                await oauth.revoke_token(installation.access_token)
            except OrderchampClientError as exc:
                return _page("Could not revoke", f"<p>{html.escape(type(exc).__name__)}</p>", 502)
            tokens.delete(installation.account_id)
        return RedirectResponse("/", status_code=303)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await oauth.aclose()
        if isinstance(tokens, SQLiteTokenStore):
            tokens.close()

    return Starlette(
        routes=[
            Route("/", home),
            Route("/uninstall", uninstall, methods=["POST"]),
            *flow.routes,
            *webhooks.routes,
        ],
        lifespan=lifespan,
    )


def parse_settings(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(description="Run the Orderchamp example app.")
    parser.add_argument("--client-id", default=env.get("ORDERCHAMP_CLIENT_ID"))
    parser.add_argument("--client-secret", default=env.get("ORDERCHAMP_CLIENT_SECRET"))
    parser.add_argument("--previous-client-secret", default=env.get("ORDERCHAMP_PREVIOUS_CLIENT_SECRET"))
    parser.add_argument("--web-url", default=env.get("ORDERCHAMP_WEB_URL", DEFAULT_WEB_URL))
    parser.add_argument("--api-url", default=env.get("ORDERCHAMP_API_URL", DEFAULT_API_URL))
    parser.add_argument("--host", default=env.get("EXAMPLE_APP_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("EXAMPLE_APP_PORT", "8001")))
    parser.add_argument("--app-url", default=env.get("EXAMPLE_APP_URL"), help="public base URL of this app")
    parser.add_argument("--application-url", default=env.get("EXAMPLE_APP_APPLICATION_URL"))
    parser.add_argument("--redirect-url", default=env.get("EXAMPLE_APP_REDIRECT_URL"))
    parser.add_argument(
        "--after-install", choices=["app", "orderchamp"], default=env.get("EXAMPLE_APP_AFTER_INSTALL", "app")
    )
    parser.add_argument("--scopes", default=env.get("EXAMPLE_APP_SCOPES", "account_read,products_read"))
    parser.add_argument(
        "--db", default=env.get("EXAMPLE_APP_DB"), help="SQLite file for tokens (default: memory)"
    )
    args = parser.parse_args(argv)
    if not args.client_id or not args.client_secret:
        parser.error(
            "--client-id and --client-secret (or ORDERCHAMP_CLIENT_ID/ORDERCHAMP_CLIENT_SECRET) are required"
        )
    return Settings(
        client_id=args.client_id,
        client_secret=args.client_secret,
        previous_client_secret=args.previous_client_secret or None,
        web_url=args.web_url,
        api_url=args.api_url,
        host=args.host,
        port=args.port,
        app_url=args.app_url,
        application_url=args.application_url,
        redirect_url=args.redirect_url,
        after_install=args.after_install,
        scopes=args.scopes,
        database=args.db,
    )


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    settings = parse_settings(argv)
    print(f"Orderchamp example app on {settings.base_url}", file=sys.stderr)
    print(f"  application URL: {settings.install_url}", file=sys.stderr)
    print(f"  redirect URL:    {settings.callback_url}", file=sys.stderr)
    # No access log: the redirect URL carries the authorization code in its query string.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, access_log=False)


if __name__ == "__main__":
    main()
