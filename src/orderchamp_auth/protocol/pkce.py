"""PKCE (RFC 7636), S256 only: ``plain`` gives no protection against a leaked code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

METHOD_S256 = "S256"
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def generate_code_verifier() -> str:
    return secrets.token_urlsafe(48)


def compute_code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def is_valid_code_verifier(verifier: str) -> bool:
    return bool(_VERIFIER.match(verifier))


def is_valid_code_challenge(challenge: str) -> bool:
    return bool(_CHALLENGE.match(challenge))


def verify_code_verifier(verifier: str, challenge: str) -> bool:
    if not is_valid_code_verifier(verifier):
        return False
    return hmac.compare_digest(compute_code_challenge(verifier), challenge)
