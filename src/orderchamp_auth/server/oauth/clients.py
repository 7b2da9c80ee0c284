"""App credentials: issuing, rotating and checking client secrets.

Secrets are stored encrypted because the platform signs redirects with them. Decrypted
values are memoised per ciphertext so the token endpoint pays for Fernet once per secret.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ...protocol.tokens import TokenKind, generate_client_id, generate_secret
from ..keys import SecretBox
from ..store.models import App
from ..store.repositories.clients import ClientApp
from ..store.transaction import Transaction


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    app_id: int
    client_id: str
    secrets: tuple[str, ...]  # current first, then the previous one during its grace period
    status: str
    partner_id: int


class ClientSecrets:
    def __init__(self, box: SecretBox) -> None:
        self.box = box
        self._decrypt = lru_cache(maxsize=4096)(box.decrypt)

    def new_credentials(self) -> tuple[str, str, str]:
        """``(client_id, client_secret, encrypted secret)`` for a new app."""
        secret = generate_secret(TokenKind.CLIENT_SECRET)
        return generate_client_id(), secret, self.box.encrypt(secret)

    def current_secret(self, app: App | ClientApp) -> str:
        return self._decrypt(app.client_secret_encrypted)

    def load(self, tx: Transaction, client_id: str, now: dt.datetime) -> ClientCredentials | None:
        return self.from_row(tx.clients.credentials_row(client_id), now)

    def from_row(self, row: Any, now: dt.datetime) -> ClientCredentials | None:
        """The credentials in a row that starts as ``ClientRepository.credentials_row``'s."""
        if row is None:
            return None
        secrets = [self._decrypt(row[2])]
        if row[3] and row[4] and row[4] > now:
            secrets.append(self._decrypt(row[3]))
        return ClientCredentials(row[0], row[1], tuple(secrets), row[5], row[6])

    def signing_secret(self, app: App | ClientApp) -> str:
        """Redirects are always signed with the current secret."""
        return self.current_secret(app)

    @staticmethod
    def matches(credentials: ClientCredentials, presented: str) -> bool:
        matched = False
        for secret in credentials.secrets:
            matched |= hmac.compare_digest(secret.encode(), presented.encode("utf-8", "surrogateescape"))
        return matched

    @staticmethod
    def expire_previous(app: App, now: dt.datetime) -> bool:
        """End a rotation's grace period now: only the current secret works from here on.
        Whether a previous secret was still working."""
        expires_at = app.previous_secret_expires_at
        was_live = app.previous_client_secret_encrypted is not None and expires_at is not None and expires_at > now
        if app.previous_client_secret_encrypted is not None or expires_at is not None:
            app.previous_client_secret_encrypted = None
            app.previous_secret_expires_at = None
            app.updated_at = now
        return was_live

    def rotate(self, app: App, *, now: dt.datetime, grace: dt.timedelta) -> str:
        """Issue a new secret; the old one keeps working until ``now + grace``."""
        secret = generate_secret(TokenKind.CLIENT_SECRET)
        app.previous_client_secret_encrypted = app.client_secret_encrypted
        app.previous_secret_expires_at = now + grace if grace.total_seconds() > 0 else None
        app.client_secret_encrypted = self.box.encrypt(secret)
        app.updated_at = now
        return secret
