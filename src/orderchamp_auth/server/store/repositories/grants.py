"""Installations and authorization codes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..models import App, AppStatus, AuthorizationCode, Installation, PartnerDemoAccount
from ..types import UTCDateTime
from .base import Repository, table_of


def _claim_statement() -> Any:
    """Mark an unused, unexpired code of this app used — only while its grant still stands.

    One conditional UPDATE: of any number of concurrent exchanges exactly one gets the row.
    The grant stands while the installation is live with the scopes of this code (a code from
    before a re-consent that changed them is refused: it would issue what the user no longer
    sees), and the app may still be installed on the account (verified, or a draft whose
    partner still has the account linked as a demo account).

    On PostgreSQL the installation row is locked (FOR NO KEY UPDATE; SQLite's writers are
    serialised anyway), so exchanges, consents and uninstalls of one installation run one
    after another: the revocation of the installation's other tokens that follows the claim
    then sees every token committed before it, and a concurrent uninstall either comes first
    (nothing is claimed) or revokes the token issued here.
    """
    codes, installations = table_of(AuthorizationCode), table_of(Installation)
    apps, demos = table_of(App), table_of(PartnerDemoAccount)
    live_grant = (
        select(installations.c.id)
        .where(installations.c.id == codes.c.installation_id, installations.c.uninstalled_at.is_(None),
               installations.c.scopes == codes.c.scopes)
        .with_for_update(key_share=True)
        .exists()
    )
    demo_link = (select(demos.c.id)
                 .where(demos.c.partner_id == apps.c.partner_id, demos.c.account_id == codes.c.account_id)
                 .correlate_except(demos).exists())
    installable = select(apps.c.id).where(
        apps.c.id == codes.c.app_id, or_(apps.c.status == AppStatus.VERIFIED.value, demo_link)
    ).exists()
    return (
        update(codes)
        .where(
            codes.c.code_hash == bindparam("b_code_hash"),
            codes.c.app_id == bindparam("b_app_id"),
            codes.c.used_at.is_(None),
            codes.c.expires_at > bindparam("b_now", type_=UTCDateTime()),
            live_grant,
            installable,
        )
        .values(used_at=bindparam("b_now", type_=UTCDateTime()))
        .returning(codes.c.id, codes.c.account_id, codes.c.installation_id, codes.c.redirect_uri,
                   codes.c.scopes, codes.c.code_challenge, codes.c.scope_delimiter)
    )


CODE_COLUMNS = ("code_hash", "app_id", "account_id", "installation_id", "user_id", "redirect_uri", "scopes",
                "scope_delimiter", "code_challenge", "created_at", "expires_at", "used_at")


def _insert_code_statement() -> Any:
    return insert(table_of(AuthorizationCode)).values({name: bindparam(name) for name in CODE_COLUMNS})


def _consent_values(account_id: int, app_id: int, scopes: str, user_id: int | None, now: dt.datetime) -> dict[str, Any]:
    return {"b_account_id": account_id, "b_app_id": app_id, "b_scopes": scopes, "b_user_id": user_id, "b_now": now}


def _upsert_installation_statement(dialect: str) -> Any:
    table = table_of(Installation)
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


def _consent_with_code_statement() -> Any:
    """PostgreSQL: the upsert and the insert of a code of its installation, as one statement;
    the installation's id."""
    codes = table_of(AuthorizationCode)
    consented = _upsert_installation_statement("postgresql").cte("consented")
    from_consent = {"app_id": "b_app_id", "account_id": "b_account_id", "user_id": "b_user_id",
                    "scopes": "b_scopes", "created_at": "b_now"}
    columns = [name for name in CODE_COLUMNS if name != "used_at"]
    values = [consented.c.id if name == "installation_id"
              else bindparam(from_consent.get(name, name), type_=codes.c[name].type) for name in columns]
    code = insert(codes).from_select(columns, select(*values).select_from(consented)).returning(codes.c.id).cte("code")
    return select(consented.c.id).add_cte(code)


@dataclass(frozen=True, slots=True)
class Consented:
    """A recorded consent: its installation, and ``(token id, scopes)`` of the installation's
    live tokens (one, normally)."""

    installation_id: int
    live_tokens: tuple[tuple[int, str], ...]


class InstallationRepository(Repository):
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
        dialect = self.tx.dialect.name
        rows = self.tx.rows(self.tx.statement("upsert_installation", lambda: _upsert_installation_statement(dialect)),
                            _consent_values(account_id, app_id, scopes, user_id, now))
        return int(rows[0][0])

    def consent_with_code(self, *, account_id: int, app_id: int, scopes: str, user_id: int, now: dt.datetime,
                          code: dict[str, Any]) -> Consented:
        """``upsert_for_consent``, then a code of the installation (``code`` has every column of
        ``CODE_COLUMNS`` but those of the consent and ``used_at``); with the live tokens of
        the installation, which the new grant may no longer cover. On PostgreSQL the upsert
        and the insert are one statement (a round trip each would cost more than the
        statements); the tokens are read by the next, after the upsert took the installation's
        lock: a statement reads with the snapshot it began with, which may be older than the
        token an exchange it waited for committed."""
        tx = self.tx
        if tx.dialect.name == "postgresql":
            rows = tx.rows(tx.statement("consent_with_code", _consent_with_code_statement),
                           {**_consent_values(account_id, app_id, scopes, user_id, now), **code})
            installation_id = int(rows[0][0])
        else:
            installation_id = self.upsert_for_consent(account_id=account_id, app_id=app_id, scopes=scopes,
                                                      user_id=user_id, now=now)
            AuthorizationCodeRepository(tx).insert(app_id=app_id, account_id=account_id,
                                                   installation_id=installation_id, user_id=user_id, scopes=scopes,
                                                   created_at=now, **code)
        return Consented(installation_id, tuple(tx.tokens.live_scopes_of_installation(installation_id)))

    def list_active_for_account(self, account_id: int) -> list[tuple[Installation, App]]:
        rows = self.session.execute(
            select(Installation, App)
            .join(App, App.id == Installation.app_id)
            .where(Installation.account_id == account_id, Installation.uninstalled_at.is_(None))
            .order_by(App.name)
        )
        return [(row[0], row[1]) for row in rows]

    def list_live_unverified_of_partner(self, partner_id: int, account_id: int) -> list[Installation]:
        """Live installations on the account of the partner's apps that are not verified:
        those only a demo-account link makes installable."""
        return list(self.session.scalars(
            select(Installation).join(App, App.id == Installation.app_id).where(
                Installation.account_id == account_id, Installation.uninstalled_at.is_(None),
                App.partner_id == partner_id, App.status != AppStatus.VERIFIED.value,
            )
        ))

    def mark_uninstalled(self, installation: Installation, now: dt.datetime) -> None:
        installation.uninstalled_at = now
        self.session.flush()


class AuthorizationCodeRepository(Repository):
    def claim(self, code_hash: str, app_id: int, now: dt.datetime) -> Any | None:
        """The token endpoint's claim: ``(id, account_id, installation_id, redirect_uri, scopes,
        code_challenge, scope_delimiter)`` of the code it marked used, or ``None``."""
        claimed = self.tx.rows(self.tx.statement("claim_code", _claim_statement),
                               {"b_code_hash": code_hash, "b_app_id": app_id, "b_now": now})
        return claimed[0] if claimed else None

    def insert(self, **fields: object) -> None:
        """A new code; ``fields`` has every column of ``CODE_COLUMNS`` but ``used_at``."""
        self.tx.execute(self.tx.statement("insert_code", _insert_code_statement), {"used_at": None, **fields})

    def expire_outstanding_for_installation(self, installation_id: int, now: dt.datetime) -> None:
        """End the unused codes of an installation, so that none can be exchanged even if it
        is installed again within their lifetime."""
        self.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.installation_id == installation_id, AuthorizationCode.used_at.is_(None),
                   AuthorizationCode.expires_at > now)
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )

    def find_used(self, code_hash: str) -> tuple[int, int] | None:
        """``(code id, app id)`` of a code that was already used, to handle a replay."""
        row = self.session.execute(
            select(AuthorizationCode.id, AuthorizationCode.app_id).where(
                AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_not(None)
            )
        ).first()
        return (row[0], row[1]) if row else None
