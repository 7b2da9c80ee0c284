"""The token endpoint's logic (SPEC section 7 step 4): a code becomes a permanent token.

Order matters for safety: the client authenticates first; the code is then claimed by one
conditional UPDATE bound to that client (so a wrong client cannot burn someone's code, and of
concurrent exchanges exactly one wins); only then are redirect URI and PKCE checked. A replay
of a used code revokes every token that code produced (RFC 6749 section 4.1.2).
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ...protocol import pkce
from ...protocol.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    OAuthError,
    UnsupportedGrantTypeError,
)
from ...protocol.tokens import TokenKind, display_prefix, generate_secret, hash_secret
from ..store.database import Database, UTCDateTime
from ..store.driver_statements import compiled, execute, run
from ..store.models import AccessToken, AuthorizationCode, Installation, TokenKindName
from ..store.repositories.grants import AuthorizationCodeRepository
from ..store.repositories.tokens import TokenRepository
from .clients import ClientCredentials, ClientSecrets

MAX_PARAM_LENGTH = 4096


class CodeReplayError(InvalidGrantError):
    """A used code came back: the tokens it produced were revoked."""


@dataclass(frozen=True, slots=True)
class TokenRequest:
    grant_type: str | None
    code: str | None
    client_id: str | None
    client_secret: str | None
    redirect_uri: str | None
    code_verifier: str | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    scope: str
    account_id: int

    def to_dict(self) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "scope": self.scope,
            "account_id": str(self.account_id),
        }


def check_request_shape(request: TokenRequest) -> None:
    """Refusals that need no database (raised before a transaction starts)."""
    if request.grant_type is not None and request.grant_type != "authorization_code":
        raise UnsupportedGrantTypeError("Only grant_type=authorization_code is supported.")
    if not request.client_id or request.client_secret is None:
        raise InvalidClientError("Client authentication failed: client_id and client_secret are required.")
    if not request.code:
        raise InvalidRequestError("The code parameter is missing.")
    for name in ("code", "client_id", "client_secret", "redirect_uri", "code_verifier"):
        value = getattr(request, name)
        if value is not None and len(value) > MAX_PARAM_LENGTH:
            raise InvalidRequestError(f"{name} is too long.")


def authenticate_client(
    source: Session | Connection, client_secrets: ClientSecrets, request: TokenRequest, now: dt.datetime
) -> ClientCredentials:
    assert request.client_id is not None and request.client_secret is not None
    credentials = client_secrets.load(source, request.client_id, now)
    if credentials is None or not client_secrets.matches(credentials, request.client_secret):
        raise InvalidClientError("Client authentication failed.")
    return credentials


def _claim_statement() -> Any:
    """Mark an unused, unexpired code of this app used — only while its installation is live.

    One conditional UPDATE: of any number of concurrent exchanges exactly one gets the row."""
    codes, installations = AuthorizationCode.__table__, Installation.__table__
    live_installation = (
        select(installations.c.id)
        .where(installations.c.id == codes.c.installation_id, installations.c.uninstalled_at.is_(None))
        .exists()
    )
    return (
        update(codes)
        .where(
            codes.c.code_hash == bindparam("b_code_hash"),
            codes.c.app_id == bindparam("b_app_id"),
            codes.c.used_at.is_(None),
            codes.c.expires_at > bindparam("b_now", type_=UTCDateTime()),
            live_installation,
        )
        .values(used_at=bindparam("b_now", type_=UTCDateTime()))
        .returning(codes.c.id, codes.c.account_id, codes.c.installation_id, codes.c.redirect_uri,
                   codes.c.scopes, codes.c.code_challenge)
    )


def _insert_token_statement() -> Any:
    table = AccessToken.__table__
    return insert(table).values({name: bindparam(name) for name in _TOKEN_COLUMNS})


_TOKEN_COLUMNS = ("token_hash", "kind", "display_prefix", "name", "account_id", "installation_id",
                  "authorization_code_id", "created_by_user_id", "scopes", "created_at", "last_used_at", "revoked_at")


def exchange_code(
    database: Database,
    request: TokenRequest,
    now: dt.datetime,
    credentials: ClientCredentials,
) -> IssuedToken | OAuthError:
    """Issue a token, or return the error to answer. Errors are returned, not raised, because
    what they changed (a burnt code, revoked tokens) must be committed all the same.

    ``credentials`` are authenticated already (on a read, before this write transaction), so
    the write lock is held for the claim and the insert only; both run on the driver
    (``driver_statements``), as this is the endpoint's hot path."""
    assert request.code is not None
    code_hash = hash_secret(request.code)
    with database.driver_write() as conn:
        claimed = run(conn, compiled("claim_code", conn.dialect, _claim_statement),
                      {"b_code_hash": code_hash, "b_app_id": credentials.app_id, "b_now": now})
        if claimed:
            # Returning from this block commits: a code is burnt even when a check below fails.
            code_id, account_id, installation_id, redirect_uri, scopes, challenge = claimed[0]
            if request.redirect_uri is not None and redirect_uri is not None and not hmac.compare_digest(
                request.redirect_uri.encode(), redirect_uri.encode()
            ):
                return InvalidGrantError("redirect_uri does not match the one used in the authorization request.")
            if challenge:
                if not request.code_verifier or not pkce.verify_code_verifier(request.code_verifier, challenge):
                    return InvalidGrantError("code_verifier does not match the code_challenge.")
            elif request.code_verifier:
                # RFC 9700 section 4.8.2: a verifier without a challenge hints at a downgrade attack.
                return InvalidGrantError("code_verifier was given but the authorization request had no code_challenge.")
            value = generate_secret(TokenKind.APP_TOKEN)
            execute(conn, compiled("insert_app_token", conn.dialect, _insert_token_statement), {
                "token_hash": hash_secret(value), "kind": TokenKindName.APP.value,
                "display_prefix": display_prefix(value), "name": "", "account_id": account_id,
                "installation_id": installation_id, "authorization_code_id": code_id,
                "created_by_user_id": None, "scopes": scopes, "created_at": now, "last_used_at": None,
                "revoked_at": None,
            })
            return IssuedToken(value, scopes, account_id)
    # Nothing was claimed (the UPDATE changed nothing): an unknown, expired or foreign code, an
    # uninstalled app's — or a replay, whose tokens are revoked in a transaction of its own.
    with database.write() as session:
        used = AuthorizationCodeRepository(session).find_used(code_hash)
        if used is not None and used[1] == credentials.app_id:
            TokenRepository(session).revoke_issued_from_code(used[0], now)
            return CodeReplayError("The code was already used; tokens issued from it are revoked.")
    return InvalidGrantError(
        "The code is unknown or expired, was issued to another app, or the app was uninstalled."
    )
