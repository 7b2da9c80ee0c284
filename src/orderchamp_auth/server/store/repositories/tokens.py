"""Access tokens (private and app) and the revocation counter that keeps caches honest.

The database bumps the counter itself, by one per token, whenever a write revokes a token or
deletes a live one (a trigger, migration 0010): no writer can forget it, and the token
endpoint's write spends no statement on it. The counter is the sum of its rows: on PostgreSQL
a transaction bumps its connection's row (migration 0011), so that concurrent revocations do
not wait for each other's commits; SQLite has one row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from ..models import AccessToken, Installation, RevocationCounter, TokenKindName
from ..types import UTCDateTime
from .base import Repository, rowcount, table_of

TOUCH_SLICE = 500


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a bearer token opens: just enough to authorize an API request."""

    token_id: int
    account_id: int
    scopes: str
    kind: str
    # an app's token: its installation (the app on one account), whose rate-limit bucket it uses
    installation_id: int | None = None


# The hot paths' statements (bearer lookups, the token endpoint's writes) run on the driver
# (see ``driver_statements``), where SQLAlchemy's per-statement machinery would cost more than
# the statements.

APP_TOKEN_COLUMNS = ("token_hash", "kind", "display_prefix", "name", "account_id", "installation_id",
                     "authorization_code_id", "created_by_user_id", "scopes", "created_at", "last_used_at",
                     "revoked_at")


def _insert_token_statement() -> Any:
    return insert(table_of(AccessToken)).values({name: bindparam(name) for name in APP_TOKEN_COLUMNS})


def _revoke_installation_statement() -> Any:
    table = table_of(AccessToken)
    return (update(table)
            .where(table.c.installation_id == bindparam("b_installation_id"), table.c.revoked_at.is_(None))
            .values(revoked_at=bindparam("b_now", type_=UTCDateTime()))
            .returning(table.c.token_hash))


def _replace_live_statement() -> Any:
    """PostgreSQL: ``_revoke_installation_statement`` and ``_insert_token_statement`` as one
    statement (the trigger bumps the counter for each token revoked). Its data-modifying CTEs
    see one snapshot, so the revocation never sees the token inserted beside it."""
    revoked = _revoke_installation_statement().cte("revoked")
    table = table_of(AccessToken)
    inserted = (insert(table).values({name: bindparam(name) for name in APP_TOKEN_COLUMNS})
                .returning(table.c.id).cte("inserted"))
    return select(revoked.c.token_hash).add_cte(inserted)


def _active_grant_statement() -> Any:
    return select(AccessToken.id, AccessToken.account_id, AccessToken.scopes, AccessToken.kind,
                  AccessToken.installation_id).where(
        AccessToken.token_hash == bindparam("token_hash"), AccessToken.revoked_at.is_(None))


def _revocation_version_statement() -> Any:
    """The counter: the sum of its rows (see the module's doc)."""
    return select(func.coalesce(func.sum(RevocationCounter.version), 0))


def _live_scopes_statement() -> Any:
    return select(AccessToken.id, AccessToken.scopes).where(
        AccessToken.installation_id == bindparam("installation_id"), AccessToken.revoked_at.is_(None))


class TokenRepository(Repository):
    def find_active_grant(self, token_hash: str) -> TokenGrant | None:
        """The bearer lookup of the API's hot path."""
        rows = self.tx.rows(self.tx.statement("active_grant", _active_grant_statement), {"token_hash": token_hash})
        if not rows:
            return None
        row = rows[0]
        return TokenGrant(row[0], row[1], row[2], row[3], row[4])

    def revocation_version(self) -> int:
        rows = self.tx.rows(self.tx.statement("revocation_version", _revocation_version_statement))
        return int(rows[0][0]) if rows else 0

    def insert_app_token(self, values: dict[str, Any]) -> None:
        """Insert one app token; ``values`` has every column of ``APP_TOKEN_COLUMNS``."""
        self.tx.execute(self.tx.statement("insert_app_token", _insert_token_statement), values)

    def revoke_live_of_installation(self, installation_id: int, now: dt.datetime) -> tuple[str, ...]:
        """Revoke the installation's live tokens; their hashes (the counter moved by one each)."""
        revoked = self.tx.rows(self.tx.statement("revoke_installation_tokens", _revoke_installation_statement),
                               {"b_installation_id": installation_id, "b_now": now})
        return tuple(row[0] for row in revoked)

    def replace_live_of_installation(self, installation_id: int, now: dt.datetime,
                                     values: dict[str, Any]) -> tuple[tuple[str, ...], int | None]:
        """``revoke_live_of_installation``, then ``insert_app_token(values)``: the revoked
        tokens' hashes, and the counter's version with their bumps in it when it is known.
        On PostgreSQL one statement (a round trip each would cost more than the statements),
        whose snapshot cannot see the trigger's bumps: no version then, so this worker's bearer
        cache refreshes on its next lookup rather than trust a guess."""
        tx = self.tx
        if tx.dialect.name != "postgresql":
            revoked = self.revoke_live_of_installation(installation_id, now)
            self.insert_app_token(values)
            # Read apart, and only when it moved: a RETURNING on the INSERT costs SQLite a
            # temporary table, more than this statement (benchmarks/README.md, session 9).
            return revoked, (self.revocation_version() if revoked else None)
        rows = tx.rows(tx.statement("replace_installation_tokens", _replace_live_statement),
                       {**values, "b_installation_id": installation_id, "b_now": now})
        return tuple(row[0] for row in rows), None

    def create(self, **fields: object) -> AccessToken:
        token = AccessToken(**fields)
        self.session.add(token)
        self.session.flush()
        return token

    def get_active_by_hash(self, token_hash: str) -> AccessToken | None:
        return self.session.scalar(
            select(AccessToken).where(AccessToken.token_hash == token_hash, AccessToken.revoked_at.is_(None))
        )

    def get_app_token(self, token_hash: str, app_id: int) -> AccessToken | None:
        """A token that this app's installations issued (revoked ones too); other apps' and
        private tokens are not found."""
        return self.session.scalar(
            select(AccessToken)
            .join(Installation, Installation.id == AccessToken.installation_id)
            .where(AccessToken.token_hash == token_hash, Installation.app_id == app_id)
        )

    def by_hashes(self, token_hashes: list[str]) -> dict[str, AccessToken]:
        """The tokens (revoked ones too) stored under any of these hashes, by hash."""
        found = self.session.scalars(select(AccessToken).where(AccessToken.token_hash.in_(token_hashes)))
        return {token.token_hash: token for token in found}

    def list_private_for_account(self, account_id: int) -> list[AccessToken]:
        return list(
            self.session.scalars(
                select(AccessToken)
                .where(
                    AccessToken.account_id == account_id,
                    AccessToken.kind == TokenKindName.PRIVATE.value,
                    AccessToken.revoked_at.is_(None),
                )
                .order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
            )
        )

    def get_private(self, account_id: int, token_id: int) -> AccessToken | None:
        return self.session.scalar(
            select(AccessToken).where(
                AccessToken.id == token_id,
                AccessToken.account_id == account_id,
                AccessToken.kind == TokenKindName.PRIVATE.value,
            )
        )

    def live_scopes_of_installation(self, installation_id: int) -> list[tuple[int, str]]:
        """``(token id, scopes)`` of the installation's live tokens (one, normally)."""
        # On the driver: every consent runs it (the install flow is a hot path).
        rows = self.tx.rows(self.tx.statement("live_scopes_of_installation", _live_scopes_statement),
                            {"installation_id": installation_id})
        return [(row[0], row[1]) for row in rows]

    def touch_last_used(self, token_ids: list[int], now: dt.datetime) -> None:
        # in slices: a worker's minute of uses can name more tokens than a statement may bind
        for start in range(0, len(token_ids), TOUCH_SLICE):
            self.session.execute(
                update(AccessToken).where(AccessToken.id.in_(token_ids[start:start + TOUCH_SLICE]))
                .values(last_used_at=now)
            )

    # The database bumps the revocation counter for each token these revoke (see the module's doc).

    def _revoke_where(self, *conditions: object, now: dt.datetime) -> int:
        result = self.session.execute(
            update(AccessToken)
            .where(AccessToken.revoked_at.is_(None), *conditions)  # type: ignore[arg-type]
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    def revoke(self, token_id: int, now: dt.datetime) -> int:
        return self._revoke_where(AccessToken.id == token_id, now=now)

    def revoke_ids(self, token_ids: list[int], now: dt.datetime) -> int:
        return self._revoke_where(AccessToken.id.in_(token_ids), now=now) if token_ids else 0

    def revoke_for_installation(self, installation_id: int, now: dt.datetime) -> int:
        return self._revoke_where(AccessToken.installation_id == installation_id, now=now)

    def revoke_issued_from_code(self, code_id: int, now: dt.datetime) -> int:
        return self._revoke_where(AccessToken.authorization_code_id == code_id, now=now)

