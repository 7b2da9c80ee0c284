"""Web sessions and failed-login records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, literal_column, null, select, union_all, update

from ..models import Account, LoginAttempt, Membership, Partner, PartnerMember, User, WebSession
from ..types import UTCDateTime
from .accounts import AccountSummary
from .base import Repository
from .clients import PartnerRef


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The signed-in user as pages need them (no ORM object: this is read on every page)."""

    id: int
    email: str
    name: str
    is_support: bool
    session_account_id: int | None


def _viewer_statement() -> Any:
    """The user of a live session with the accounts they work for, then with the partners
    they are a member of (``kind`` 0 and 1), each by name: one row per account (one with
    NULLs when there is none), one per partner."""
    def signed_in(*columns: Any) -> Any:
        return select(User.id, User.email, User.name, User.is_support, WebSession.account_id, *columns).join(
            User, User.id == WebSession.user_id).where(
            WebSession.session_hash == bindparam("session_hash"),
            WebSession.expires_at > bindparam("now", type_=UTCDateTime()))

    accounts = signed_in(literal_column("0").label("kind"), Account.name.label("item_name"), Account.id.label("item_id"),
                         Account.type, Account.slug, Account.currency, Account.created_at).outerjoin(
        Membership, Membership.user_id == User.id).outerjoin(Account, Account.id == Membership.account_id)
    partners = signed_in(literal_column("1"), Partner.name, Partner.id, null(), null(), null(), null()).join(
        PartnerMember, PartnerMember.user_id == User.id).join(Partner, Partner.id == PartnerMember.partner_id)
    return union_all(accounts, partners).order_by("kind", "item_name", "item_id")


class WebSessionRepository(Repository):
    # Read on every page and twice per install: on the driver (see ``driver_statements``).

    def find_viewer(self, session_hash: str, now: dt.datetime
                    ) -> tuple[SessionUser, list[AccountSummary], list[PartnerRef]] | None:
        """The signed-in user of a live session, the accounts they work for and the partners
        they are a member of (each by name), in one statement: every page reads them."""
        tx = self.tx
        rows = tx.rows(tx.statement("session_viewer", _viewer_statement), {"session_hash": session_hash, "now": now})
        if not rows:
            return None
        first = rows[0]
        accounts = [AccountSummary(row[7], row[6], row[8], row[9], row[10], row[11])
                    for row in rows if row[5] == 0 and row[7] is not None]
        partners = [PartnerRef(row[7], row[6]) for row in rows if row[5] == 1]
        return SessionUser(first[0], first[1], first[2], bool(first[3]), first[4]), accounts, partners

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
