"""Access tokens (private and app) and the revocation counter that keeps caches honest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from ..models import AccessToken, RevocationCounter, TokenKindName
from ..statements import prepared


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a bearer token opens: just enough to authorize an API request."""

    token_id: int
    account_id: int
    scopes: str
    kind: str


def find_active_grant(connection: Connection, token_hash: str) -> TokenGrant | None:
    """The bearer lookup of the API's hot path: one prepared statement on a plain connection."""
    statement = prepared("active_grant", lambda: select(
        AccessToken.id, AccessToken.account_id, AccessToken.scopes, AccessToken.kind,
    ).where(AccessToken.token_hash == bindparam("token_hash"), AccessToken.revoked_at.is_(None)))
    row = connection.execute(statement, {"token_hash": token_hash}).first()
    return TokenGrant(row[0], row[1], row[2], row[3]) if row else None


def read_revocation_version(connection: Connection) -> int:
    statement = prepared("revocation_version", lambda: select(RevocationCounter.version).where(
        RevocationCounter.id == 1))
    return int(connection.execute(statement).scalar() or 0)


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, **fields: object) -> AccessToken:
        token = AccessToken(**fields)
        self.session.add(token)
        self.session.flush()
        return token

    def get_active_by_hash(self, token_hash: str) -> AccessToken | None:
        return self.session.scalar(
            select(AccessToken).where(AccessToken.token_hash == token_hash, AccessToken.revoked_at.is_(None))
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

    def touch_last_used(self, token_ids: list[int], now: dt.datetime) -> None:
        if token_ids:
            self.session.execute(
                update(AccessToken).where(AccessToken.id.in_(token_ids)).values(last_used_at=now)
            )

    # Every revoking method bumps the counter in the same transaction.

    def _revoke_where(self, *conditions: object, now: dt.datetime) -> int:
        result = self.session.execute(
            update(AccessToken)
            .where(AccessToken.revoked_at.is_(None), *conditions)  # type: ignore[arg-type]
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        count = result.rowcount or 0
        if count:
            self.bump_revocation_counter()
        return count

    def revoke(self, token_id: int, now: dt.datetime) -> int:
        return self._revoke_where(AccessToken.id == token_id, now=now)

    def revoke_for_installation(self, installation_id: int, now: dt.datetime) -> int:
        return self._revoke_where(AccessToken.installation_id == installation_id, now=now)

    def revoke_issued_from_code(self, code_id: int, now: dt.datetime) -> int:
        return self._revoke_where(AccessToken.authorization_code_id == code_id, now=now)

    def bump_revocation_counter(self) -> None:
        self.session.execute(
            update(RevocationCounter).where(RevocationCounter.id == 1).values(version=RevocationCounter.version + 1)
        )
