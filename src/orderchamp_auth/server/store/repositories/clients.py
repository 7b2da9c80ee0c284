"""The app as the authorization endpoint sees it: one prepared query, no ORM objects.

``/oauth/authorize`` runs twice per install (the consent page, then its answer), so it reads
just what it needs — the app's identity, status, signing secret and redirect URLs — in two
prepared statements instead of loading ORM objects with their relationships.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from ..models import App, AppLogo, AppRedirectUri, Partner
from ..statements import prepared


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


def load_client_app(connection: Connection, client_id: str) -> ClientApp | None:
    app_statement = prepared("client_app", lambda: select(
        App.id, App.client_id, App.name, App.description, App.status, App.partner_id, App.application_url,
        App.client_secret_encrypted, Partner.name,
        select(AppLogo.app_id).where(AppLogo.app_id == App.id).exists().label("has_logo"),
    ).join(Partner, Partner.id == App.partner_id).where(App.client_id == bindparam("client_id")))
    row = connection.execute(app_statement, {"client_id": client_id}).first()
    if row is None:
        return None
    urls_statement = prepared("client_app_redirect_urls", lambda: select(AppRedirectUri.url).where(
        AppRedirectUri.app_id == bindparam("app_id")).order_by(AppRedirectUri.position, AppRedirectUri.id))
    urls = tuple(connection.execute(urls_statement, {"app_id": row[0]}).scalars())
    return ClientApp(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], urls, PartnerRef(row[5], row[8]),
                     bool(row[9]))
