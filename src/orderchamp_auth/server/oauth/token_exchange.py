"""The token endpoint's logic (SPEC section 7 step 4): a code becomes a permanent token.

Order matters for safety: the client authenticates first; the code is then claimed by one
conditional UPDATE bound to that client (so a wrong client cannot burn someone's code, and of
concurrent exchanges exactly one wins); only then do the redirect URI and PKCE checks decide
(worked out before the write, on the code as read with the credentials, so that the write does
not spend its lock on them; a failed check burns the code all the same). A replay of a used
code revokes every token that code produced (RFC 6749 section 4.1.2).

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
    assert request.client_id is not None
    return _authenticated(client_secrets, request, client_secrets.load(tx, request.client_id, now))


def _authenticated(client_secrets: ClientSecrets, request: TokenRequest,
                   credentials: ClientCredentials | None) -> ClientCredentials:
    assert request.client_secret is not None
    if credentials is None or not client_secrets.matches(credentials, request.client_secret):
        raise InvalidClientError("Client authentication failed.")
    return credentials


@dataclass(frozen=True, slots=True)
class PreparedExchange:
    """What an exchange works out before the write that claims its code (``prepare_exchange``):
    on SQLite outside the write lock, on PostgreSQL before the claim locks the installation."""

    credentials: ClientCredentials
    code_hash: str
    code_id: int | None  # the client's code with that hash as read (used or not), if any
    refusal: OAuthError | None  # what ``check_code`` said of that code
    token: str  # the token to issue, should the claim succeed
    token_hash: str


def prepare_exchange(
    tx: Transaction, client_secrets: ClientSecrets, request: TokenRequest, now: dt.datetime
) -> PreparedExchange:
    """Authenticate the client (raises ``InvalidClientError``), read its code (one statement
    with the credentials) and check the request against it; make the token to issue. Nothing
    here writes: the write (``exchange_code``) claims the code and acts on the outcome."""
    assert request.client_id is not None and request.code is not None
    code_hash = hash_secret(request.code)
    row = tx.clients.credentials_with_code_row(request.client_id, code_hash)
    credentials = _authenticated(client_secrets, request, client_secrets.from_row(row, now))
    assert row is not None  # the credentials came from it
    code_id, redirect_uri, challenge = row[-3:]
    refusal = None if code_id is None else check_code(request, redirect_uri, challenge)
    token = generate_secret(TokenKind.APP_TOKEN)
    return PreparedExchange(credentials, code_hash, code_id, refusal, token, hash_secret(token))


def check_code(request: TokenRequest, redirect_uri: str | None, challenge: str | None) -> OAuthError | None:
    """The redirect URI and PKCE checks of a request against its code; the error to answer, if any."""
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
    return None


def exchange_code(
    tx: Transaction,
    request: TokenRequest,
    now: dt.datetime,
    prepared: PreparedExchange,
) -> IssuedToken | OAuthError:
    """Issue a token, or return the error to answer. Errors are returned, not raised, because
    what they changed (a burnt code, revoked tokens) must be committed all the same.

    ``prepared`` was made before (``Database.writing_after``: on SQLite by a read before
    this write transaction, so that the write lock is held for the claim, the revocation and
    the insert only). Its statements run on the driver (``driver_statements``), as this is
    the endpoint's hot path."""
    credentials = prepared.credentials
    claimed = tx.codes.claim(prepared.code_hash, credentials.app_id, now)
    if claimed is not None:
        # The transaction commits what happens here: a code is burnt even when a check fails.
        code_id, account_id, installation_id, redirect_uri, scopes, challenge, delimiter = claimed
        # A code's redirect URI and challenge never change: the read's verdict holds for the
        # code it read (checked again only for one the read did not see).
        refusal = prepared.refusal if code_id == prepared.code_id else check_code(request, redirect_uri, challenge)
        if refusal is not None:
            return refusal
        value = prepared.token
        replaced, version = tx.tokens.replace_live_of_installation(installation_id, now, {
            "token_hash": prepared.token_hash, "kind": TokenKindName.APP.value,
            "display_prefix": display_prefix(value), "name": "", "account_id": account_id,
            "installation_id": installation_id, "authorization_code_id": code_id,
            "created_by_user_id": None, "scopes": scopes, "created_at": now, "last_used_at": None,
            "revoked_at": None,
        })
        return IssuedToken(value, scopes, account_id, len(replaced), delimiter, replaced, version)
    # Nothing was claimed (the UPDATE changed nothing): an unknown, expired or foreign code, an
    # uninstalled app's — or a replay, whose tokens are revoked.
    used = tx.codes.find_used(prepared.code_hash)
    if used is not None and used[1] == credentials.app_id:
        tx.tokens.revoke_issued_from_code(used[0], now)
        return CodeReplayError("The code was already used; tokens issued from it are revoked.")
    return InvalidGrantError(
        "The code is unknown or expired, was issued to another app, or no longer matches the grant "
        "(the app was uninstalled, consented to again, or is no longer available for the account)."
    )
