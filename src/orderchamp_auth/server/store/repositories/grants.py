"""Installations and authorization codes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, case, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..database import UTCDateTime
from ..models import App, AuthorizationCode, Installation
from ..statements import prepared


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
    ) -> int:
        """Record consent: a new installation, or the existing one re-activated with the new
        scopes. One INSERT .. ON CONFLICT, so two consents at once cannot collide."""
        table = Installation.__table__
        dialect = self.session.get_bind().dialect.name
        key = ("upsert_installation", dialect)

        def build() -> object:
            insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
            statement = insert(table).values(
                account_id=bindparam("b_account_id"), app_id=bindparam("b_app_id"), scopes=bindparam("b_scopes"),
                installed_by_user_id=bindparam("b_user_id"),
                installed_at=bindparam("b_now", type_=UTCDateTime()), uninstalled_at=None,
            )
            was_uninstalled = table.c.uninstalled_at.is_not(None)
            return statement.on_conflict_do_update(
                index_elements=[table.c.account_id, table.c.app_id],
                set_={
                    "scopes": statement.excluded.scopes,
                    "uninstalled_at": None,
                    "installed_at": case((was_uninstalled, statement.excluded.installed_at), else_=table.c.installed_at),
                    "installed_by_user_id": case(
                        (was_uninstalled, statement.excluded.installed_by_user_id),
                        else_=table.c.installed_by_user_id,
                    ),
                },
            ).returning(table.c.id)

        return int(self.session.connection().execute(prepared(key, build), {
            "b_account_id": account_id, "b_app_id": app_id, "b_scopes": scopes, "b_user_id": user_id, "b_now": now,
        }).scalar_one())

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

    def insert(self, **fields: object) -> None:
        statement = prepared("insert_code", lambda: insert(AuthorizationCode.__table__))
        self.session.connection().execute(statement, {"used_at": None, **fields})

    def find_used(self, code_hash: str) -> tuple[int, int] | None:
        """``(code id, app id)`` of a code that was already used, to handle a replay."""
        row = self.session.execute(
            select(AuthorizationCode.id, AuthorizationCode.app_id).where(
                AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_not(None)
            )
        ).first()
        return (row[0], row[1]) if row else None
