"""Apps as OAuth clients: what the authorization and token endpoints read, no ORM objects.

``/oauth/authorize`` runs twice per install (the consent page, then its answer), so it reads
just what it needs — the app's identity, status, signing secret and redirect URLs — in one
statement on the driver instead of loading ORM objects with their relationships; the token
endpoint reads the client's credentials in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from ..models import App, AppLogo, AppRedirectUri, AuthorizationCode, Partner
from .base import Repository, table_of


@dataclass(frozen=True, slots=True)
class PartnerRef:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class ClientApp:
    id: int
    client_id: str
    name: str
    description: str
    status: str
    partner_id: int
    application_url: str
    client_secret_encrypted: str
    redirect_urls: tuple[str, ...]
    partner: PartnerRef
    has_logo: bool


def _client_app_statement() -> Any:
    """The app, its partner, whether it has a logo: one row per redirect URL, in their order
    (one row with a NULL URL when it has none)."""
    return select(
        App.id, App.client_id, App.name, App.description, App.status, App.partner_id, App.application_url,
        App.client_secret_encrypted, Partner.name,
        select(AppLogo.app_id).where(AppLogo.app_id == App.id).exists().label("has_logo"),
        AppRedirectUri.url,
    ).join(Partner, Partner.id == App.partner_id).outerjoin(AppRedirectUri, AppRedirectUri.app_id == App.id).where(
        App.client_id == bindparam("client_id")).order_by(AppRedirectUri.position, AppRedirectUri.id)


def _credentials_statement() -> Any:
    return select(App.id, App.client_id, App.client_secret_encrypted, App.previous_client_secret_encrypted,
                  App.previous_secret_expires_at, App.status, App.partner_id).where(
        App.client_id == bindparam("client_id"))


def _credentials_with_code_statement() -> Any:
    codes = table_of(AuthorizationCode)
    return _credentials_statement().add_columns(codes.c.id, codes.c.redirect_uri, codes.c.code_challenge).outerjoin(
        codes, (codes.c.app_id == App.id) & (codes.c.code_hash == bindparam("code_hash")))


class ClientRepository(Repository):
    def load_app(self, client_id: str) -> ClientApp | None:
        tx = self.tx
        rows = tx.rows(tx.statement("client_app", _client_app_statement), {"client_id": client_id})
        if not rows:
            return None
        row = rows[0]
        urls = tuple(url for *_, url in rows if url is not None)
        return ClientApp(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], urls,
                         PartnerRef(row[5], row[8]), bool(row[9]))

    def credentials_row(self, client_id: str) -> Any | None:
        """``(app id, client_id, encrypted secret, encrypted previous secret, its expiry, status,
        partner id)`` of a client, for the token endpoint."""
        rows = self.tx.rows(self.tx.statement("client_credentials", _credentials_statement), {"client_id": client_id})
        return rows[0] if rows else None

    def credentials_with_code_row(self, client_id: str, code_hash: str) -> Any | None:
        """``credentials_row``, then ``(id, redirect_uri, code_challenge)`` of the client's code
        with this hash (used or not; NULLs when it has none): the token endpoint checks a code
        against its request before the write that claims it."""
        rows = self.tx.rows(self.tx.statement("client_credentials_with_code", _credentials_with_code_statement),
                            {"client_id": client_id, "code_hash": code_hash})
        return rows[0] if rows else None
