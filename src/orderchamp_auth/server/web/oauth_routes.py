"""The OAuth endpoints: /oauth/authorize (consent), /oauth/access_token, /oauth/revoke, /oauth/finish."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...protocol.errors import InvalidClientError, InvalidRequestError, OAuthError
from ...protocol.tokens import hash_secret
from ..errors import FatalAuthorizeError, NotFoundError
from ..oauth import authorize as flow
from ..oauth.introspection import introspect_app_token
from ..oauth.revocation import revoke_app_token
from ..oauth.token_exchange import (
    MAX_PARAM_LENGTH,
    CodeReplayError,
    TokenRequest,
    authenticate_client,
    check_request_shape,
    exchange_code,
    prepare_exchange,
)
from ..store.database import utcnow
from ..store.repositories.accounts import AccountSummary
from ..store.transaction import Transaction
from .errors import oauth_error_response
from .forms import BodyError, check_text, first, parse_parameters, parse_query_string, read_body, read_form
from .platform import Platform, platform_of
from .render import login_redirect, redirect, render
from .sessions import CurrentUser, check_csrf, current_user_in

MAX_QUERY_BYTES = 16 * 1024


def _query_pairs(request: Request) -> list[tuple[str, str]]:
    try:
        return parse_query_string(request, limit=MAX_QUERY_BYTES)
    except BodyError as exc:
        raise FatalAuthorizeError(f"The authorization link cannot be read. {exc.message}") from None


def _consent_context(request_: flow.AuthorizationRequest, user: CurrentUser) -> dict[str, Any]:
    return {
        "app": request_.app,
        "partner": request_.app.partner,
        "scopes": request_.scopes,
        "fields": request_.hidden_fields(),
        "account": user.account,
        "accounts": user.accounts,
        "has_logo": request_.app.has_logo,
        # Where the user's browser goes next, so they can tell a look-alike app apart.
        "redirect_host": urlsplit(request_.redirect_uri).netloc,
    }


async def authorize(request: Request) -> Response:
    # The authorize endpoint's reads (and the consent answer's short write) run where
    # store.write_lock says: inline on SQLite, in the database's threads on PostgreSQL.
    platform = platform_of(request)
    params = _query_pairs(request)

    def _read(tx: Transaction) -> tuple[CurrentUser | None, flow.AuthorizationRequest | flow.RedirectableError | None]:
        user = current_user_in(tx, request)
        if user is None:
            # Client and redirect URI are checked before sending anyone to the login page.
            flow.resolve_client(tx, params)
            return None, None
        return user, flow.validate_request(tx, params, account_id=user.account.id if user.account else None)

    user, outcome = await platform.database.reading(_read)
    if user is None or outcome is None:
        return login_redirect(request)
    account_id = user.account.id if user.account else None
    if isinstance(outcome, flow.RedirectableError):
        return redirect(_error_url(platform, outcome, account_id), status_code=302)
    if user.account is None:
        failure = flow.RedirectableError(
            flow.AccessDeniedError("The signed-in user has no account to connect."),
            outcome.app, outcome.redirect_uri, outcome.state,
        )
        return redirect(_error_url(platform, failure, None), status_code=302)
    return render(request, "consent.html", _consent_context(outcome, user), user=user)


def _error_url(platform: Platform, failure: flow.RedirectableError, account_id: int | None) -> str:
    return flow.error_redirect(failure, account_id=account_id, client_secrets=platform.client_secrets)


async def authorize_decision(request: Request) -> Response:
    """The consent form's POST: Approve or Deny, for the account chosen on the page."""
    platform = platform_of(request)
    fields = await read_form(request)
    decision = first(fields, "decision")
    chosen = first(fields, "account_id")
    params = [(k, v) for k, v in fields if k in flow.SINGLE_VALUED]

    def _check(tx: Transaction) -> tuple[CurrentUser, AccountSummary] | None:
        """The signed-in user (``None``: nobody is) and the account chosen, or the refusal."""
        user = current_user_in(tx, request)
        if user is None:
            return None
        check_csrf(request, user, first(fields, "csrf_token"))
        account = next((a for a in user.accounts if str(a.id) == chosen), None)
        if account is None:
            raise FatalAuthorizeError("Choose one of your accounts to connect the app to.")
        return user, account

    def _decide(tx: Transaction, checked: tuple[CurrentUser, AccountSummary] | None) -> tuple[str, int] | None:
        """The redirect, and how many tokens the consent revoked."""
        if checked is None:
            return None
        user, account = checked
        outcome = flow.validate_request(tx, params, account_id=account.id)
        if isinstance(outcome, flow.RedirectableError):
            return _error_url(platform, outcome, account.id), 0
        if decision == "approve":
            if user.account is None or user.account.id != account.id:
                # /oauth/finish lands in the back office of the account just connected.
                tx.sessions.set_account(hash_secret(user.session_id), account.id)
            approval = flow.approve(
                tx, outcome, account_id=account.id, user_id=user.user.id,
                code_ttl=platform.settings.code_ttl, client_secrets=platform.client_secrets, now=utcnow(),
            )
            return approval.redirect_url, approval.revoked
        if decision == "deny":
            return flow.deny(outcome, account_id=account.id, client_secrets=platform.client_secrets), 0
        raise FatalAuthorizeError("Choose Approve or Deny.")

    # The session's user is read, and the CSRF token checked, before the write begins (in
    # its transaction on PostgreSQL: Database.writing_after).
    decided = await platform.database.writing_after(_check, _decide)
    if decided is None:
        return redirect("/login", status_code=303)
    location, revoked = decided
    if revoked:
        platform.authenticator.invalidate()  # after the commit, so nothing re-caches the old grant
    return redirect(location, status_code=303)


# Token endpoint ---------------------------------------------------------------------------


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise ValueError
        # RFC 6749 section 2.3.1: both are form-urlencoded before Basic encoding.
        credentials = (unquote(client_id.replace("+", " "), errors="strict"),
                       unquote(secret.replace("+", " "), errors="strict"))
        check_text([("client_id", credentials[0]), ("client_secret", credentials[1])], max_value=MAX_PARAM_LENGTH)
    except (binascii.Error, ValueError, BodyError):
        raise InvalidClientError("The Basic authorization header is malformed.") from None
    return credentials


async def _token_params(request: Request) -> tuple[dict[str, Any], bool]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        data: dict[str, Any] = parse_parameters(await read_body(request), content_type, max_value=MAX_PARAM_LENGTH)
    except BodyError as exc:
        raise InvalidRequestError(exc.message) from None
    authorization = request.headers.get("authorization", "")
    basic = authorization[:6].lower() == "basic "
    if basic:
        if data.get("client_secret") is not None:
            raise InvalidRequestError("Use one client authentication method, not two.")
        client_id, secret = _basic_credentials(authorization)
        if data.get("client_id") not in (None, client_id):
            raise InvalidClientError("client_id in the body differs from the Basic credentials.")
        data["client_id"], data["client_secret"] = client_id, secret
    return data, basic


async def access_token(request: Request) -> Response:
    platform = platform_of(request)
    basic = False
    try:
        data, basic = await _token_params(request)
        token_request = TokenRequest(
            grant_type=data.get("grant_type"),
            code=data.get("code"),
            client_id=data.get("client_id"),
            client_secret=data.get("client_secret"),
            redirect_uri=data.get("redirect_uri"),
            code_verifier=data.get("code_verifier"),
        )
        check_request_shape(token_request)

        now = utcnow()
        # The client authenticates before its code is claimed; whether in one transaction or
        # a read before the write is the database's to decide (Database.writing_after: on
        # SQLite, measured, a write that authenticates too holds the lock longer, and loses).
        outcome = await platform.database.writing_after(
            lambda tx: prepare_exchange(tx, platform.client_secrets, token_request, now),
            lambda tx, prepared: exchange_code(tx, token_request, now, prepared))
        if isinstance(outcome, OAuthError):
            if isinstance(outcome, CodeReplayError):
                platform.authenticator.invalidate()
            raise outcome
        if outcome.replaced:
            platform.authenticator.forget(outcome.replaced_hashes, outcome.revocation_version)
    except OAuthError as error:
        _count_exchange(request, error.error)
        return oauth_error_response(error, basic_auth=basic)
    _count_exchange(request, "issued")
    return JSONResponse(outcome.to_dict(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _count_exchange(request: Request, outcome: str) -> None:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.count_token_exchange(outcome)


async def _token_about_request(request: Request) -> tuple[str, TokenRequest, bool]:
    """``token`` and the client's credentials, as revocation (RFC 7009) and introspection
    (RFC 7662) take them: client authentication as at the token endpoint."""
    data, basic = await _token_params(request)
    token = data.get("token")
    if not data.get("client_id") or data.get("client_secret") is None:
        raise InvalidClientError("Client authentication failed: client_id and client_secret are required.")
    if not token:
        raise InvalidRequestError("The token parameter is missing.")
    return token, TokenRequest(None, "x", data["client_id"], data["client_secret"], None, None), basic


async def revoke(request: Request) -> Response:
    platform = platform_of(request)
    basic = False
    try:
        token, client, basic = await _token_about_request(request)

        def _revoke(db: Transaction) -> bool:
            now = utcnow()
            credentials = authenticate_client(db, platform.client_secrets, client, now)
            return revoke_app_token(db, credentials, token, now)

        if await platform.database.writing(_revoke):
            platform.authenticator.invalidate()
    except OAuthError as error:
        return oauth_error_response(error, basic_auth=basic)
    return Response(status_code=200, headers={"Cache-Control": "no-store"})


async def introspect(request: Request) -> Response:
    platform = platform_of(request)
    basic = False
    try:
        token, client, basic = await _token_about_request(request)

        def _introspect(db: Transaction) -> dict[str, Any]:
            credentials = authenticate_client(db, platform.client_secrets, client, utcnow())
            return introspect_app_token(db, credentials, token)

        answer = await platform.database.reading(_introspect)
    except OAuthError as error:
        return oauth_error_response(error, basic_auth=basic)
    return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def finish(request: Request) -> Response:
    """Back to the app's page in the back office after installation (OC)."""
    platform = platform_of(request)
    client_id = first(parse_query_string(request, limit=MAX_QUERY_BYTES), "client_id")

    def _exists(db: Transaction) -> bool:
        return bool(client_id) and db.apps.get_by_client_id(client_id) is not None

    if not await platform.database.reading(_exists):
        raise NotFoundError("No app is registered with this client_id.")
    return redirect(f"/backoffice/apps/{quote(client_id, safe='')}", status_code=302)


routes = [
    Route("/oauth/authorize", authorize, methods=["GET"]),
    Route("/oauth/authorize", authorize_decision, methods=["POST"]),
    Route("/oauth/access_token", access_token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/introspect", introspect, methods=["POST"]),
    Route("/oauth/finish", finish, methods=["GET"]),
]
