"""Web sessions and failed-login records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update

from ..models import LoginAttempt, User, WebSession
from ..types import UTCDateTime
from .base import Repository


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The signed-in user as pages need them (no ORM object: this is read on every page)."""

    id: int
    email: str
    name: str
    is_support: bool
    session_account_id: int | None


class WebSessionRepository(Repository):
    # Read on every page and twice per install: on the driver (see ``driver_statements``).

    def find_user(self, session_hash: str, now: dt.datetime) -> SessionUser | None:
        """The signed-in user of a live session."""
        tx = self.tx
        rows = tx.rows(tx.statement("session_user", lambda: select(
            User.id, User.email, User.name, User.is_support, WebSession.account_id,
        ).join(User, User.id == WebSession.user_id).where(
            WebSession.session_hash == bindparam("session_hash"),
            WebSession.expires_at > bindparam("now", type_=UTCDateTime()),
        )), {"session_hash": session_hash, "now": now})
        if not rows:
            return None
        row = rows[0]
        return SessionUser(row[0], row[1], row[2], bool(row[3]), row[4])

    def create(self, *, session_hash: str, user_id: int, account_id: int | None, expires_at: dt.datetime) -> None:
        self.session.add(
            WebSession(session_hash=session_hash, user_id=user_id, account_id=account_id, expires_at=expires_at)
        )
        self.session.flush()

    def set_account(self, session_hash: str, account_id: int) -> None:
        self.session.execute(
            update(WebSession).where(WebSession.session_hash == session_hash).values(account_id=account_id)
        )

    def delete(self, session_hash: str) -> None:
        self.session.execute(delete(WebSession).where(WebSession.session_hash == session_hash))

    def delete_expired(self, now: dt.datetime) -> None:
        self.session.execute(delete(WebSession).where(WebSession.expires_at <= now))


class LoginFailureRepository(Repository):
    def lock_for(self, email: str, client_address: str) -> None:
        """Make the caller's count-then-record atomic for this email and address.

        SQLite: nothing to do, a write transaction holds the database's write lock. PostgreSQL:
        transaction-level advisory locks, the email's first and then the address's (two key
        spaces), so concurrent attempts for one email or from one address are counted one after
        another, and no two transactions can wait on each other in a cycle."""
        if self.tx.dialect.name != "postgresql":
            return
        for space, key in ((1, email), (2, client_address)):
            self.session.execute(select(func.pg_advisory_xact_lock(space, func.hashtext(key))))

    def record(self, *, email: str, client_address: str, now: dt.datetime) -> None:
        self.session.add(LoginAttempt(email=email, client_address=client_address, created_at=now))
        self.session.flush()

    def count_for_email(self, email: str, since: dt.datetime) -> int:
        return self.session.scalar(
            select(func.count()).select_from(LoginAttempt)
            .where(LoginAttempt.email == email, LoginAttempt.created_at > since)
        ) or 0

    def count_for_address(self, client_address: str, since: dt.datetime) -> int:
        return self.session.scalar(
            select(func.count()).select_from(LoginAttempt)
            .where(LoginAttempt.client_address == client_address, LoginAttempt.created_at > since)
        ) or 0

    def clear_for_email(self, email: str) -> None:
        self.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))

    def delete_older_than(self, before: dt.datetime) -> None:
        self.session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < before))
