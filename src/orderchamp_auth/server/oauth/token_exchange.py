"""The token endpoint's logic (SPEC section 7 step 4): a code becomes a permanent token.

Order matters for safety: the client authenticates first; the code is then claimed by one
conditional UPDATE bound to that client (so a wrong client cannot burn someone's code, and of
concurrent exchanges exactly one wins); only then are redirect URI and PKCE checked. A replay
of a used code revokes every token that code produced (RFC 6749 section 4.1.2).

An installation has one live app token. Issuing one revokes the installation's other live
tokens in the same transaction, so after a re-consent the token of the new grant is the only
one left. The claim refuses a code whose scopes are not the installation's current ones (a
code from before a re-consent that changed them), and a code of an app that can no longer be
installed on the account (a draft whose partner's demo account was unlinked). Any other code
still outstanding (same grant, issued earlier) may be exchanged: the token it gives then
replaces the live one — the newest token issued wins.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from ...protocol import pkce
from ...protocol.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    OAuthError,
    UnsupportedGrantTypeError,
)
from ...protocol.tokens import TokenKind, display_prefix, generate_secret, hash_secret
from ..store.models import TokenKindName
from ..store.transaction import Transaction
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
    replaced: int = 0  # earlier tokens of the installation this one revoked
    scope_delimiter: str = ","  # the one the app asked with (authorize.AuthorizationRequest)
    replaced_hashes: tuple[str, ...] = ()  # theirs, for this worker's bearer cache to drop
    revocation_version: int | None = None  # the revocation counter's version after the revocation (one per token)

    def to_dict(self) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "scope": self.scope if self.scope_delimiter == "," else self.scope.replace(",", self.scope_delimiter),
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
    tx: Transaction, client_secrets: ClientSecrets, request: TokenRequest, now: dt.datetime
) -> ClientCredentials:
    assert request.client_id is not None and request.client_secret is not None
    credentials = client_secrets.load(tx, request.client_id, now)
    if credentials is None or not client_secrets.matches(credentials, request.client_secret):
        raise InvalidClientError("Client authentication failed.")
    return credentials


def exchange_code(
    tx: Transaction,
    request: TokenRequest,
    now: dt.datetime,
    credentials: ClientCredentials,
) -> IssuedToken | OAuthError:
    """Issue a token, or return the error to answer. Errors are returned, not raised, because
    what they changed (a burnt code, revoked tokens) must be committed all the same.

    ``credentials`` are authenticated already (``Database.writing_after``: on SQLite on a
    read before this write transaction, so that the write lock is held for the claim, the
    revocation and the insert only). They run on the driver (``driver_statements``), as this
    is the endpoint's hot path."""
    assert request.code is not None
    code_hash = hash_secret(request.code)
    claimed = tx.codes.claim(code_hash, credentials.app_id, now)
    if claimed is not None:
        # The transaction commits what happens here: a code is burnt even when a check below fails.
        code_id, account_id, installation_id, redirect_uri, scopes, challenge, delimiter = claimed
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
        replaced, version = tx.tokens.replace_live_of_installation(installation_id, now, {
            "token_hash": hash_secret(value), "kind": TokenKindName.APP.value,
            "display_prefix": display_prefix(value), "name": "", "account_id": account_id,
            "installation_id": installation_id, "authorization_code_id": code_id,
            "created_by_user_id": None, "scopes": scopes, "created_at": now, "last_used_at": None,
            "revoked_at": None,
        })
        return IssuedToken(value, scopes, account_id, len(replaced), delimiter, replaced, version)
    # Nothing was claimed (the UPDATE changed nothing): an unknown, expired or foreign code, an
    # uninstalled app's — or a replay, whose tokens are revoked.
    used = tx.codes.find_used(code_hash)
    if used is not None and used[1] == credentials.app_id:
        tx.tokens.revoke_issued_from_code(used[0], now)
        return CodeReplayError("The code was already used; tokens issued from it are revoked.")
    return InvalidGrantError(
        "The code is unknown or expired, was issued to another app, or no longer matches the grant "
        "(the app was uninstalled, consented to again, or is no longer available for the account)."
    )
