"""Keys derived from the secret key, one per purpose (itsdangerous/Django style salts).

Client secrets are encrypted (not hashed): the platform needs them to sign redirects.
Fernet gives authenticated encryption; a ``MultiFernet`` over all configured keys lets the
newest key encrypt while older ones still decrypt, so the secret key can be rotated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def derive_key(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode(), f"orderchamp-auth:{purpose}".encode(), hashlib.sha256).digest()


class SecretBox:
    """Encrypts and decrypts client secrets at rest."""

    def __init__(self, secret_keys: tuple[str, ...]) -> None:
        self._fernet = MultiFernet(
            [Fernet(base64.urlsafe_b64encode(derive_key(k, "client-secret"))) for k in secret_keys]
        )

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except InvalidToken:
            raise ValueError("client secret cannot be decrypted with the configured keys") from None


class OneTimeBox:
    """Seals a value for one short trip through the browser (e.g. a new token shown once
    after a redirect), encrypted and time-limited, so a reload cannot resubmit the form."""

    def __init__(self, secret_keys: tuple[str, ...], purpose: str) -> None:
        self._fernet = MultiFernet(
            [Fernet(base64.urlsafe_b64encode(derive_key(k, purpose))) for k in secret_keys]
        )

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str, *, max_age: int) -> str | None:
        try:
            return self._fernet.decrypt(sealed.encode("ascii"), ttl=max_age).decode()
        except (InvalidToken, UnicodeError, ValueError):
            return None
