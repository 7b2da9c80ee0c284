"""Accounts, users and the memberships between them."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update

from ..models import Account, Membership, User
from .base import Repository


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """An account as lists and the page header show it (no ORM object)."""

    id: int
    name: str
    type: str
    slug: str
    currency: str
    created_at: dt.datetime


def slugify(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "account"


class AccountRepository(Repository):
    def get(self, account_id: int) -> Account | None:
        return self.session.get(Account, account_id)

    def get_by_slug(self, slug: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.slug == slug))

    def list_all(self, *, limit: int = 500) -> list[Account]:
        return list(self.session.scalars(select(Account).order_by(Account.name).limit(limit)))

    def unique_slug(self, name: str) -> str:
        base = slugify(name)
        taken = set(
            self.session.scalars(select(Account.slug).where(Account.slug.like(f"{base}%")))
        )
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def create(self, *, name: str, type: str, currency: str = "EUR") -> Account:
        account = Account(name=name, slug=self.unique_slug(name), type=type, currency=currency)
        self.session.add(account)
        self.session.flush()
        return account


class UserRepository(Repository):
    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def get_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(User.email == email.strip().lower()))

    def create(self, *, email: str, password_hash: str, name: str = "", is_support: bool = False) -> User:
        user = User(email=email.strip().lower(), password_hash=password_hash, name=name, is_support=is_support)
        self.session.add(user)
        self.session.flush()
        return user

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self.session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))

    def add_to_account(self, user_id: int, account_id: int) -> None:
        exists = self.session.scalar(
            select(Membership.id).where(Membership.user_id == user_id, Membership.account_id == account_id)
        )
        if exists is None:
            self.session.add(Membership(user_id=user_id, account_id=account_id))
            self.session.flush()

    def accounts_of(self, user_id: int) -> list[AccountSummary]:
        """The accounts the user works for, by name. Read on every page (the session's user):
        on the driver (see ``driver_statements``)."""
        tx = self.tx
        return [AccountSummary(*row) for row in tx.rows(tx.statement("accounts_of_user", lambda: select(
            Account.id, Account.name, Account.type, Account.slug, Account.currency, Account.created_at,
        ).join(Membership, Membership.account_id == Account.id).where(
            Membership.user_id == bindparam("user_id")).order_by(Account.name, Account.id)), {"user_id": user_id})]

    def emails_by_account(self, account_ids: list[int]) -> dict[int, list[str]]:
        """The users of each account, for lists that show who is behind an account."""
        found: dict[int, list[str]] = {}
        if not account_ids:
            return found
        rows = self.session.execute(
            select(Membership.account_id, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.account_id.in_(account_ids))
            .order_by(User.email)
        )
        for account_id, email in rows:
            found.setdefault(account_id, []).append(email)
        return found

    def is_member(self, user_id: int, account_id: int) -> bool:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(Membership)
                .where(Membership.user_id == user_id, Membership.account_id == account_id)
            )
            or 0
        ) > 0
