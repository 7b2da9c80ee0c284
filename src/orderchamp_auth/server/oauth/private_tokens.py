"""Private tokens: created by an account user for their own account, shown once."""

from __future__ import annotations

import datetime as dt

from ...protocol.scopes import ScopeSet
from ...protocol.tokens import TokenKind, display_prefix, generate_secret, hash_secret
from ..errors import NotFoundError, ValidationError
from ..store.models import AccessToken, TokenKindName
from ..store.transaction import Transaction

MAX_NAME_LENGTH = 100


def create_private_token(
    tx: Transaction, *, account_id: int, name: str, scopes: ScopeSet, user_id: int | None, now: dt.datetime,
    value: str | None = None,
) -> tuple[AccessToken, str]:
    """The token and its value; ``value`` is for the demo's token, derived from the secret key."""
    name = name.strip()
    errors = {}
    if not name:
        errors["name"] = "Give the token a name, so you can recognise it later."
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"The name can be at most {MAX_NAME_LENGTH} characters."
    if not scopes:
        errors["scopes"] = "Choose at least one scope."
    if errors:
        raise ValidationError("The token was not created.", fields=errors)
    if value is None:
        value = generate_secret(TokenKind.PRIVATE_TOKEN)
    elif not value.startswith(TokenKind.PRIVATE_TOKEN.value):
        raise ValueError("a private token starts with " + TokenKind.PRIVATE_TOKEN.value)
    token = tx.tokens.create(
        token_hash=hash_secret(value),
        kind=TokenKindName.PRIVATE.value,
        display_prefix=display_prefix(value),
        name=name,
        account_id=account_id,
        created_by_user_id=user_id,
        scopes=scopes.to_string(),
        created_at=now,
    )
    return token, value


def revoke_private_token(tx: Transaction, *, account_id: int, token_id: int, now: dt.datetime) -> AccessToken:
    tokens = tx.tokens
    token = tokens.get_private(account_id, token_id)
    if token is None or token.revoked_at is not None:
        raise NotFoundError("That token does not exist or was already revoked.")
    tokens.revoke(token.id, now)
    return token
