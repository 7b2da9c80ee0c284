"""Validating an authorization request (SPEC section 7 step 2) and answering it.

Two kinds of failure, as RFC 6749 section 4.1.2.1 requires: a bad ``client_id`` or
``redirect_uri`` raises ``FatalAuthorizeError`` (the user sees a page, nobody is redirected);
every later problem becomes a signed error redirect to the verified redirect URI.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ...protocol import pkce
from ...protocol.errors import (
    AccessDeniedError,
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
    ScopeError,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from ...protocol.scopes import ScopeSet
from ...protocol.signing import build_signed_url
from ...protocol.tokens import TokenKind, generate_secret, hash_secret
from ..errors import FatalAuthorizeError
from ..store.models import App, AppStatus
from ..store.repositories.clients import ClientApp
from ..store.transaction import Transaction
from .clients import ClientSecrets

MAX_STATE_BYTES = 4096
SINGLE_VALUED = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
)


@dataclass(frozen=True)
class AuthorizationRequest:
    """A request whose client and redirect URI are known good."""

    app: ClientApp
    redirect_uri: str  # where to send the user: the registered URL
    redirect_uri_given: bool  # whether the request named it (the token request may repeat it)
    scopes: ScopeSet
    state: str | None
    code_challenge: str | None
    # Answer in the delimiter the app asked with: standard OAuth clients compare the token
    # response's scope with what they sent (requests-oauthlib: "Scope has changed").
    scope_delimiter: str = ","

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The request, as the consent form posts it back."""
        fields = [("response_type", "code"), ("client_id", self.app.client_id), ("scope", self.scopes.to_string(self.scope_delimiter))]
        if self.redirect_uri_given:
            fields.append(("redirect_uri", self.redirect_uri))
        if self.state is not None:
            fields.append(("state", self.state))
        if self.code_challenge:
            fields += [("code_challenge", self.code_challenge), ("code_challenge_method", pkce.METHOD_S256)]
        return fields


@dataclass(frozen=True)
class RedirectableError:
    """An OAuth error to be delivered, signed, to the app's redirect URI."""

    error: OAuthError
    app: ClientApp
    redirect_uri: str
    state: str | None


def _single(params: Sequence[tuple[str, str]], name: str) -> tuple[str | None, bool]:
    """``(value, duplicated)`` for a parameter that may occur at most once."""
    values = [v for k, v in params if k == name]
    return (values[0] if values else None), len(values) > 1


def resolve_client(tx: Transaction, params: Sequence[tuple[str, str]]) -> tuple[ClientApp, str, bool]:
    """The app and the redirect URI, or ``FatalAuthorizeError``: never redirect before this passes."""
    client_id, dup = _single(params, "client_id")
    if dup:
        raise FatalAuthorizeError("The request names the app (client_id) more than once.")
    if not client_id:
        raise FatalAuthorizeError("The request does not say which app to connect (client_id is missing).")
    app = tx.clients.load_app(client_id)
    if app is None:
        raise FatalAuthorizeError(
            "No app is registered with this client_id. The link you followed may be outdated or mistyped."
        )
    redirect_uri, dup = _single(params, "redirect_uri")
    if dup:
        raise FatalAuthorizeError("The request names the redirect URL (redirect_uri) more than once.")
    registered = app.redirect_urls
    if redirect_uri is None or redirect_uri == "":
        if len(registered) != 1:
            raise FatalAuthorizeError(
                f"The app “{app.name}” has several redirect URLs, and the request does not say which "
                "one to use (redirect_uri is missing)."
            )
        return app, registered[0], False
    # Exact string match (RFC 9700 section 4.1.3): no prefix, case, port or path leniency.
    if redirect_uri not in registered:
        raise FatalAuthorizeError(
            f"The redirect URL in this request is not registered for the app “{app.name}”. "
            "The app's developer must add it in the partner dashboard, exactly as it is sent."
        )
    return app, redirect_uri, True


def validate_request(
    tx: Transaction, params: Sequence[tuple[str, str]], *, account_id: int | None
) -> AuthorizationRequest | RedirectableError:
    app, redirect_uri, given = resolve_client(tx, params)
    state, dup_state = _single(params, "state")

    def fail(error: OAuthError) -> RedirectableError:
        return RedirectableError(error, app, redirect_uri, state if not dup_state else None)

    for name in SINGLE_VALUED:
        if _single(params, name)[1]:
            return fail(InvalidRequestError(f"The parameter {name} occurs more than once."))
    if state is not None and len(state.encode("utf-8", "surrogateescape")) > MAX_STATE_BYTES:
        return fail(InvalidRequestError(f"state is longer than {MAX_STATE_BYTES} bytes."))
    response_type, _ = _single(params, "response_type")
    if not response_type:
        return fail(InvalidRequestError("response_type is missing; it must be code."))
    if response_type != "code":
        return fail(UnsupportedResponseTypeError("response_type must be code."))
    scope_text, _ = _single(params, "scope")
    try:
        scopes = ScopeSet.parse(scope_text)
    except ScopeError as exc:
        return fail(InvalidScopeError(str(exc)))
    if not scopes:
        return fail(InvalidScopeError("No scope was requested."))
    challenge, _ = _single(params, "code_challenge")
    method, _ = _single(params, "code_challenge_method")
    if challenge is not None or method is not None:
        if not challenge:
            return fail(InvalidRequestError("code_challenge_method was given without code_challenge."))
        if method != pkce.METHOD_S256:
            return fail(InvalidRequestError("Only code_challenge_method=S256 is supported."))
        if not pkce.is_valid_code_challenge(challenge):
            return fail(InvalidRequestError("code_challenge must be 43 base64url characters."))
    if account_id is not None and not is_installable(tx, app, account_id):
        return fail(UnauthorizedClientError("This app is not available for this account."))
    return AuthorizationRequest(app, redirect_uri, given, scopes, state, challenge or None,
                                ScopeSet.delimiter_of(scope_text))


def is_installable(tx: Transaction, app: App | ClientApp, account_id: int) -> bool:
    if app.status == AppStatus.VERIFIED.value:
        return True
    return tx.partners.is_demo_account_of(app.partner_id, account_id)


def _timestamp() -> str:
    return str(int(time.time()))


def error_redirect(
    failure: RedirectableError, *, account_id: int | None, client_secrets: ClientSecrets
) -> str:
    params: list[tuple[str, str]] = []
    if account_id is not None:
        params.append(("account_id", str(account_id)))
    params.append(("error", failure.error.error))
    if failure.error.description:
        params.append(("error_description", failure.error.description))
    if failure.state is not None:
        params.append(("state", failure.state))
    params.append(("timestamp", _timestamp()))
    return build_signed_url(failure.redirect_uri, params, client_secrets.signing_secret(failure.app))


def deny(request: AuthorizationRequest, *, account_id: int, client_secrets: ClientSecrets) -> str:
    failure = RedirectableError(
        AccessDeniedError("The user denied the request."), request.app, request.redirect_uri, request.state
    )
    return error_redirect(failure, account_id=account_id, client_secrets=client_secrets)


@dataclass(frozen=True)
class Approval:
    redirect_url: str  # the signed redirect to the app, carrying the code
    revoked: int  # live tokens of the installation that this consent no longer covers


def approve(
    tx: Transaction,
    request: AuthorizationRequest,
    *,
    account_id: int,
    user_id: int,
    code_ttl: int,
    client_secrets: ClientSecrets,
    now: dt.datetime,
) -> Approval:
    """Record the grant and issue a code.

    A re-consent that drops scopes revokes the installation's live tokens at once: what the
    back office shows (the installation's scopes) is then never less than what a live token
    can do. A token the new grant covers stays live until the app exchanges the new code
    (which replaces it, see ``token_exchange``)."""
    code = generate_secret(TokenKind.AUTHORIZATION_CODE)
    consented = tx.installations.consent_with_code(
        account_id=account_id, app_id=request.app.id, scopes=request.scopes.to_string(), user_id=user_id, now=now,
        code={
            "code_hash": hash_secret(code),
            "redirect_uri": request.redirect_uri if request.redirect_uri_given else None,
            "scope_delimiter": request.scope_delimiter,
            "code_challenge": request.code_challenge,
            "expires_at": now + dt.timedelta(seconds=code_ttl),
        },
    )
    beyond = [token_id for token_id, scopes in consented.live_tokens
              if not request.scopes.covers(ScopeSet.parse(scopes))]
    revoked = tx.tokens.revoke_ids(beyond, now)
    params = [("account_id", str(account_id)), ("code", code)]
    if request.state is not None:
        params.append(("state", request.state))
    params.append(("timestamp", str(int(now.timestamp()))))
    return Approval(build_signed_url(request.redirect_uri, params, client_secrets.signing_secret(request.app)), revoked)
