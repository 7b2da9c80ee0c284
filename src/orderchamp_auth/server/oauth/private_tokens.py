"""Private tokens: created by an account user for their own account, shown once.

Each has a webhook signing secret, made with it: a private token's webhook deliveries are
signed with it as an app's are with its client secret. It is stored encrypted (``SecretBox``,
like client secrets: the worker needs it to sign), shown once beside the new token, and can be
revealed or rotated in the back office. Revoking the token removes it with its subscriptions.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from ...protocol.scopes import ScopeSet
from ...protocol.tokens import TokenKind, display_prefix, generate_secret, hash_secret
from ..errors import NotFoundError, ValidationError
from ..keys import SecretBox
from ..store.models import AccessToken, TokenKindName
from ..store.transaction import Transaction

MAX_NAME_LENGTH = 100


class NewPrivateToken(NamedTuple):
    token: AccessToken
    value: str  # the token, shown once
    webhook_secret: str  # its webhook signing secret, shown with it


def create_private_token(
    tx: Transaction, box: SecretBox, *, account_id: int, name: str, scopes: ScopeSet, user_id: int | None,
    now: dt.datetime, value: str | None = None,
) -> NewPrivateToken:
    """The token, its value and its webhook signing secret; ``value`` is for the demo's token,
    derived from the secret key."""
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
    secret = generate_secret(TokenKind.WEBHOOK_SECRET)
    tx.webhook_subscriptions.set_signing_secret(token.id, box.encrypt(secret), now)
    return NewPrivateToken(token, value, secret)


def _live_token(tx: Transaction, account_id: int, token_id: int) -> AccessToken:
    token = tx.tokens.get_private(account_id, token_id)
    if token is None or token.revoked_at is not None:
        raise NotFoundError("That token does not exist or was already revoked.")
    return token


def revoke_private_token(tx: Transaction, *, account_id: int, token_id: int, now: dt.datetime) -> AccessToken:
    token = _live_token(tx, account_id, token_id)
    tx.tokens.revoke(token.id, now)
    tx.webhook_subscriptions.delete_of_token(token.id, now)
    return token


def webhook_secret(tx: Transaction, box: SecretBox, *, account_id: int, token_id: int,
                   now: dt.datetime) -> tuple[AccessToken, str]:
    """The token and its webhook signing secret (made now for a token older than them)."""
    token = _live_token(tx, account_id, token_id)
    stored = tx.webhook_subscriptions.signing_secret(token.id)
    if stored is not None:
        return token, box.decrypt(stored.secret_encrypted)
    return token, rotate_webhook_secret(tx, box, account_id=account_id, token_id=token_id, now=now)[1]


def rotate_webhook_secret(tx: Transaction, box: SecretBox, *, account_id: int, token_id: int,
                          now: dt.datetime) -> tuple[AccessToken, str]:
    """A new signing secret: deliveries from the next attempt on are signed with it (no grace
    period: the receiver is the token owner's own script, changed with the secret)."""
    token = _live_token(tx, account_id, token_id)
    secret = generate_secret(TokenKind.WEBHOOK_SECRET)
    tx.webhook_subscriptions.set_signing_secret(token.id, box.encrypt(secret), now)
    return token, secret
