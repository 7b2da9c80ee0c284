"""Installations and authorization codes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import App, AuthorizationCode, Installation


class InstallationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, installation_id: int) -> Installation | None:
        return self.session.get(Installation, installation_id)

    def get_for(self, account_id: int, app_id: int) -> Installation | None:
        return self.session.scalar(
            select(Installation).where(Installation.account_id == account_id, Installation.app_id == app_id)
        )

    def upsert_for_consent(
        self, *, account_id: int, app_id: int, scopes: str, user_id: int | None, now: dt.datetime
    ) -> Installation:
        installation = self.get_for(account_id, app_id)
        if installation is None:
            installation = Installation(
                account_id=account_id, app_id=app_id, scopes=scopes, installed_by_user_id=user_id, installed_at=now
            )
            self.session.add(installation)
        else:
            if installation.uninstalled_at is not None:
                installation.installed_at = now
                installation.installed_by_user_id = user_id
            installation.uninstalled_at = None
            installation.scopes = scopes
        self.session.flush()
        return installation

    def list_active_for_account(self, account_id: int) -> list[tuple[Installation, App]]:
        rows = self.session.execute(
            select(Installation, App)
            .join(App, App.id == Installation.app_id)
            .where(Installation.account_id == account_id, Installation.uninstalled_at.is_(None))
            .order_by(App.name)
        )
        return [(row[0], row[1]) for row in rows]

    def mark_uninstalled(self, installation: Installation, now: dt.datetime) -> None:
        installation.uninstalled_at = now


class AuthorizationCodeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, **fields: object) -> AuthorizationCode:
        code = AuthorizationCode(**fields)
        self.session.add(code)
        self.session.flush()
        return code

    def claim(self, code_hash: str, now: dt.datetime) -> AuthorizationCode | None:
        """Mark an unused, unexpired code used, atomically; ``None`` when it cannot be claimed.

        One conditional UPDATE: of any number of concurrent exchanges exactly one sees a row.
        """
        row = self.session.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.code_hash == code_hash,
                AuthorizationCode.used_at.is_(None),
                AuthorizationCode.expires_at > now,
            )
            .values(used_at=now)
            .returning(
                AuthorizationCode.id,
                AuthorizationCode.app_id,
                AuthorizationCode.account_id,
                AuthorizationCode.installation_id,
                AuthorizationCode.redirect_uri,
                AuthorizationCode.scopes,
                AuthorizationCode.code_challenge,
            )
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:
            return None
        return AuthorizationCode(
            id=row.id,
            app_id=row.app_id,
            account_id=row.account_id,
            installation_id=row.installation_id,
            redirect_uri=row.redirect_uri,
            scopes=row.scopes,
            code_challenge=row.code_challenge,
        )

    def find_used(self, code_hash: str) -> tuple[int, int] | None:
        """``(code id, app id)`` of a code that was already used, to handle a replay."""
        row = self.session.execute(
            select(AuthorizationCode.id, AuthorizationCode.app_id).where(
                AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_not(None)
            )
        ).first()
        return (row[0], row[1]) if row else None

    def delete_expired(self, before: dt.datetime) -> int:
        from sqlalchemy import delete

        result = self.session.execute(
            delete(AuthorizationCode).where(
                AuthorizationCode.expires_at < before, AuthorizationCode.used_at.is_(None)
            )
        )
        return result.rowcount or 0
