"""A small stand-in for the platform, for the SDK's own tests.

It speaks the contract of SPEC sections 3, 7 and 8 with the protocol core's signing, so the SDK
is exercised against the same bytes the real platform sends. Consent is decided by
``decision`` ("approve" or "deny") instead of a page. The real platform's end-to-end tests
live outside ``tests/client``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.protocol.pkce import verify_code_verifier
from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.protocol.signing import build_signed_query, build_signed_url
from orderchamp_auth.protocol.tokens import TokenKind, generate_secret


@dataclass
class Grant:
    account_id: str
    scopes: ScopeSet
    redirect_uri: str
    challenge: str | None


@dataclass
class FakePlatform:
    client_id: str = "test-client-id"
    client_secret: str = "ocs_test-secret-value"
    redirect_uris: tuple[str, ...] = ("http://app.test/callback",)
    account_id: str = "1042"
    account_name: str = "Little Champs"
    product_count: int = 25
    decision: str = "approve"
    signing_secret: str | None = None  # sign with another secret than client_secret (rotation)
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Grant] = field(default_factory=dict)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    # -- what the back office does --------------------------------------------------------

    def install_start_url(self, application_url: str, *, timestamp: int | None = None) -> str:
        params = {"account_id": self.account_id, "timestamp": str(timestamp or int(time.time()))}
        return f"{application_url}?{build_signed_query(params, self._signing_secret)}"

    @property
    def _signing_secret(self) -> str:
        return self.signing_secret or self.client_secret

    def issue_token(self, scopes: str) -> str:
        token = generate_secret(TokenKind.APP_TOKEN)
        self.tokens[token] = Grant(self.account_id, ScopeSet.parse(scopes), "", None)
        return token

    # -- /oauth/* -------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("redirect_uri") not in self.redirect_uris:
            return HTMLResponse("unknown client or redirect_uri", status_code=400)
        redirect_uri = q["redirect_uri"]
        params = {"account_id": self.account_id, "timestamp": str(int(time.time()))}
        if "state" in q:
            params["state"] = q["state"]
        if self.decision == "deny":
            params["error"] = "access_denied"
        else:
            code = generate_secret(TokenKind.AUTHORIZATION_CODE)
            self.codes[code] = Grant(
                self.account_id, ScopeSet.parse(q["scope"]), redirect_uri, q.get("code_challenge")
            )
            params["code"] = code
        return RedirectResponse(build_signed_url(redirect_uri, params, self._signing_secret), status_code=302)

    async def access_token(self, request: Request) -> Response:
        body = await request.json()
        self.exchanges.append(dict(body))
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return _oauth_error("invalid_client", "client authentication failed", 401)
        grant = self.codes.pop(str(body.get("code")), None)
        if grant is None:
            return _oauth_error("invalid_grant", "the code is invalid, expired or used")
        if "redirect_uri" in body and body["redirect_uri"] != grant.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri does not match")
        if grant.challenge and not verify_code_verifier(str(body.get("code_verifier", "")), grant.challenge):
            return _oauth_error("invalid_grant", "code_verifier does not match")
        token = generate_secret(TokenKind.APP_TOKEN)
        self.tokens[token] = grant
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "scope": grant.scopes.to_string(),
                "account_id": grant.account_id,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def revoke(self, request: Request) -> Response:
        form = await request.form()
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return _oauth_error("invalid_client", "client authentication failed", 401)
        token = str(form.get("token", ""))
        if self.tokens.pop(token, None) is not None:
            self.revoked.append(token)
        return Response(status_code=200)

    async def finish(self, request: Request) -> Response:
        return HTMLResponse(f"back office: app {request.query_params.get('client_id')}")

    # -- /v1/graphql (answers the few queries the tests send) -----------------------------

    async def graphql(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        grant = self.tokens.get(token)
        if grant is None:
            return JSONResponse(
                {"errors": [{"message": "invalid token", "extensions": {"code": "UNAUTHENTICATED"}}]},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        payload = json.loads(await request.body())
        query, variables = payload["query"], payload.get("variables") or {}
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        if "account" in query:
            if "account_read" in grant.scopes:
                data["account"] = {"name": self.account_name, "type": "SUPPLIER"}
            else:
                data["account"] = None
                errors.append(_denied("account", "account_read"))
        if "products" in query:
            if "products_read" in grant.scopes:
                data["products"] = self._products(int(variables.get("first") or 10), variables.get("after"))
            else:
                data["products"] = None
                errors.append(_denied("products", "products_read"))
        return JSONResponse({"data": data, **({"errors": errors} if errors else {})})

    def _products(self, first: int, after: str | None) -> dict[str, Any]:
        start = int(after) if after else 0
        ids = range(start + 1, min(start + first, self.product_count) + 1)
        nodes = [{"id": encode_global_id("Product", i), "title": f"Product {i}"} for i in ids]
        end = start + len(nodes)
        return {
            "nodes": nodes,
            "edges": [{"cursor": str(start + n + 1), "node": node} for n, node in enumerate(nodes)],
            "pageInfo": {"hasNextPage": end < self.product_count, "endCursor": str(end) if nodes else None},
        }

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/authorize", self.authorize),
                Route("/oauth/access_token", self.access_token, methods=["POST"]),
                Route("/oauth/revoke", self.revoke, methods=["POST"]),
                Route("/oauth/finish", self.finish),
                Route("/v1/graphql", self.graphql, methods=["POST"]),
            ]
        )


def _oauth_error(code: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


def _denied(field_name: str, scope: str) -> dict[str, Any]:
    return {
        "message": f"access denied to {field_name}",
        "path": [field_name],
        "extensions": {"code": "ACCESS_DENIED", "requiredScope": scope},
    }
