"""Token introspection (RFC 7662), for an app's own tokens.

An app may ask about the tokens its installations were issued. Anything else (unknown,
revoked, another app's, a private token) is answered ``{"active": false}`` alone, so the
endpoint tells a caller nothing about tokens that are not its own (RFC 7662 section 2.2).
"""

from __future__ import annotations

from typing import Any

from ...protocol.global_ids import encode_global_id
from ...protocol.tokens import hash_secret
from ..store.transaction import Transaction
from .clients import ClientCredentials

INACTIVE: dict[str, Any] = {"active": False}


def introspect_app_token(tx: Transaction, credentials: ClientCredentials, token: str) -> dict[str, Any]:
    found = tx.tokens.get_app_token(hash_secret(token), credentials.app_id)
    if found is None or found.revoked_at is not None:
        return dict(INACTIVE)
    return {
        "active": True,
        "scope": found.scopes,
        "client_id": credentials.client_id,
        "token_type": "bearer",
        "iat": int(found.created_at.timestamp()),
        # The account the token opens: its id as the token response gives it, and as the API's
        # global ID (the subject the token acts for).
        "account_id": str(found.account_id),
        "sub": encode_global_id("Account", found.account_id),
    }
