"""RFC 7009 revocation by the app, and uninstall from the back office."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...protocol.tokens import hash_secret
from ..store.models import AccessToken, Installation
from ..store.repositories.grants import InstallationRepository
from ..store.repositories.tokens import TokenRepository
from .clients import ClientCredentials


def revoke_app_token(session: Session, credentials: ClientCredentials, token: str, now: dt.datetime) -> bool:
    """Revoke a token the app holds. Unknown tokens and other apps' tokens change nothing,
    and the caller answers 200 either way (RFC 7009 section 2.2)."""
    row = session.execute(
        select(AccessToken.id)
        .join(Installation, Installation.id == AccessToken.installation_id)
        .where(AccessToken.token_hash == hash_secret(token), Installation.app_id == credentials.app_id)
    ).first()
    if row is None:
        return False
    return TokenRepository(session).revoke(row[0], now) > 0


def uninstall(session: Session, installation: Installation, now: dt.datetime) -> int:
    """Mark the installation uninstalled and revoke every token it issued."""
    InstallationRepository(session).mark_uninstalled(installation, now)
    return TokenRepository(session).revoke_for_installation(installation.id, now)
