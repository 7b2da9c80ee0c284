"""Opaque secrets: access tokens, authorization codes, client credentials.

Every value carries a short prefix that tells its kind, so a leaked one can be recognised
(by secret scanners, in logs) and revoked. 256 bits from ``secrets``; stored only as SHA-256:
a hash of a 256-bit random value needs no salt or slow KDF, and keeps the token endpoint fast.
"""

from __future__ import annotations

import enum
import hashlib
import secrets


class TokenKind(str, enum.Enum):
    PRIVATE_TOKEN = "ocp_"
    APP_TOKEN = "oca_"
    AUTHORIZATION_CODE = "occ_"
    CLIENT_SECRET = "ocs_"
    WEBHOOK_SECRET = "ocw_"  # a private token's webhook signing secret


TOKEN_BYTES = 32
DISPLAY_PREFIX_LENGTH = 10


def generate_secret(kind: TokenKind) -> str:
    return kind.value + secrets.token_urlsafe(TOKEN_BYTES)


def generate_client_id() -> str:
    # Public, but unguessable so that apps cannot be enumerated through /oauth/authorize.
    return secrets.token_hex(16)


def hash_secret(value: str) -> str:
    """Hex SHA-256 of the value: what storage keeps instead of the secret."""
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def kind_of(value: str) -> TokenKind | None:
    for kind in TokenKind:
        if value.startswith(kind.value):
            return kind
    return None


def display_prefix(value: str) -> str:
    """The first characters of a token, safe to show in lists (``ocp_AbCd12``)."""
    return value[:DISPLAY_PREFIX_LENGTH]
