"""A partner's app for the browser tests: the SDK's install flow on its own loopback port.

Its URLs must exist before the app is registered (the partner types them into the dashboard),
but its credentials only afterwards, so the port is chosen first and the server started once
the client_id and client_secret are known.
"""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from orderchamp_auth.client import AsyncOrderchampOAuth, InMemoryTokenStore, Installation
from orderchamp_auth.client.integrations.starlette import OrderchampInstallFlow

from ..support import free_port

SCOPES = "account_read,products_write,orders_read"


class PartnerAppServer:
    def __init__(self, *, platform_url: str) -> None:
        self.platform_url = platform_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.application_url = f"{self.base_url}/install"
        self.redirect_urls = [f"{self.base_url}/callback", f"{self.base_url}/callback-eu"]
        self.tokens = InMemoryTokenStore()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, client_id: str, client_secret: str) -> None:
        oauth = AsyncOrderchampOAuth(client_id, client_secret, web_url=self.platform_url,
                                     api_url=f"{self.platform_url}/v1")
        flow = OrderchampInstallFlow(oauth, scopes=SCOPES, redirect_uri=self.redirect_urls[0],
                                     token_store=self.tokens)  # after install: /oauth/finish

        async def home(_request: object) -> PlainTextResponse:
            return PlainTextResponse("Stock Sync home")

        app = Starlette(routes=[Route("/", home), *flow.routes])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the partner app did not start")
            time.sleep(0.02)

    def installation(self, account_id: int) -> Installation | None:
        return self.tokens.get(str(account_id))

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
