"""Partners, their demo accounts, apps and redirect URLs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, delete, func, select

from ..models import (
    Account,
    App,
    AppLogo,
    AppRedirectUri,
    AppStatus,
    Installation,
    Membership,
    Partner,
    PartnerDemoAccount,
    PartnerMember,
    User,
)
from .base import Repository
from .clients import PartnerRef


class PartnerRepository(Repository):
    def get(self, partner_id: int) -> Partner | None:
        return self.session.get(Partner, partner_id)

    def get_by_name(self, name: str) -> Partner | None:
        return self.session.scalar(select(Partner).where(Partner.name == name))

    def list_all(self) -> list[Partner]:
        return list(self.session.scalars(select(Partner).order_by(Partner.name)))

    def create(self, name: str) -> Partner:
        partner = Partner(name=name)
        self.session.add(partner)
        self.session.flush()
        return partner

    def add_member(self, partner_id: int, user_id: int) -> None:
        exists = self.session.scalar(
            select(PartnerMember.id).where(PartnerMember.partner_id == partner_id, PartnerMember.user_id == user_id)
        )
        if exists is None:
            self.session.add(PartnerMember(partner_id=partner_id, user_id=user_id))
            self.session.flush()

    def is_member(self, partner_id: int, user_id: int) -> bool:
        return self.session.scalar(
            select(PartnerMember.id).where(PartnerMember.partner_id == partner_id, PartnerMember.user_id == user_id)
        ) is not None

    def members_of(self, partner_id: int) -> list[User]:
        return list(
            self.session.scalars(
                select(User).join(PartnerMember, PartnerMember.user_id == User.id)
                .where(PartnerMember.partner_id == partner_id).order_by(User.email)
            )
        )

    def remove_member(self, partner_id: int, user_id: int) -> bool:
        member = self.session.scalar(
            select(PartnerMember).where(PartnerMember.partner_id == partner_id, PartnerMember.user_id == user_id)
        )
        if member is None:
            return False
        self.session.delete(member)
        self.session.flush()
        return True

    def partners_of_user(self, user_id: int) -> list[PartnerRef]:
        """The partners the user is a member of, by name. Read on every page (the session's
        user): on the driver (see ``driver_statements``)."""
        tx = self.tx
        return [PartnerRef(row[0], row[1]) for row in tx.rows(tx.statement("partners_of_user", lambda: select(
            Partner.id, Partner.name).join(PartnerMember, PartnerMember.partner_id == Partner.id).where(
            PartnerMember.user_id == bindparam("user_id")).order_by(Partner.name, Partner.id)), {"user_id": user_id})]

    def link_demo_account(self, partner_id: int, account_id: int) -> None:
        exists = self.session.scalar(
            select(PartnerDemoAccount.id).where(
                PartnerDemoAccount.partner_id == partner_id, PartnerDemoAccount.account_id == account_id
            )
        )
        if exists is None:
            self.session.add(PartnerDemoAccount(partner_id=partner_id, account_id=account_id))
            self.session.flush()

    def is_demo_account_of(self, partner_id: int, account_id: int) -> bool:
        return self.session.scalar(
            select(PartnerDemoAccount.id).where(
                PartnerDemoAccount.partner_id == partner_id, PartnerDemoAccount.account_id == account_id
            )
        ) is not None

    def unlink_demo_account(self, partner_id: int, account_id: int) -> bool:
        link = self.session.scalar(
            select(PartnerDemoAccount).where(
                PartnerDemoAccount.partner_id == partner_id, PartnerDemoAccount.account_id == account_id
            )
        )
        if link is None:
            return False
        self.session.delete(link)
        self.session.flush()
        return True

    def demo_accounts_of(self, partner_id: int) -> list[Account]:
        return list(
            self.session.scalars(
                select(Account).join(PartnerDemoAccount, PartnerDemoAccount.account_id == Account.id)
                .where(PartnerDemoAccount.partner_id == partner_id).order_by(Account.name)
            )
        )

    def demo_accounts_of_user(self, partner_id: int, user_id: int) -> list[Account]:
        """The partner's demo accounts this user belongs to: where they can test-install."""
        return list(
            self.session.scalars(
                select(Account)
                .join(PartnerDemoAccount, PartnerDemoAccount.account_id == Account.id)
                .join(Membership, Membership.account_id == Account.id)
                .where(PartnerDemoAccount.partner_id == partner_id, Membership.user_id == user_id)
                .order_by(Account.name)
            )
        )

    def counts(self) -> dict[int, tuple[int, int, int]]:
        """``partner id -> (members, demo accounts, apps)`` for the support list, in three queries."""
        def per_partner(column: Any) -> dict[int, int]:
            return {partner_id: count for partner_id, count in self.session.execute(
                select(column, func.count()).group_by(column))}

        members = per_partner(PartnerMember.partner_id)
        demos = per_partner(PartnerDemoAccount.partner_id)
        apps = per_partner(App.partner_id)
        ids = set(members) | set(demos) | set(apps)
        return {i: (members.get(i, 0), demos.get(i, 0), apps.get(i, 0)) for i in ids}

    def demo_partner_names_by_account(self) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        rows = self.session.execute(
            select(PartnerDemoAccount.account_id, Partner.name)
            .join(Partner, Partner.id == PartnerDemoAccount.partner_id)
            .order_by(Partner.name)
        )
        for account_id, name in rows:
            found.setdefault(account_id, []).append(name)
        return found



class AppRepository(Repository):
    def get(self, app_id: int) -> App | None:
        return self.session.get(App, app_id)

    def get_by_client_id(self, client_id: str) -> App | None:
        return self.session.scalar(select(App).where(App.client_id == client_id))

    def get_by_name(self, partner_id: int, name: str) -> App | None:
        return self.session.scalar(select(App).where(App.partner_id == partner_id, App.name == name))

    def client_id_of_installation(self, installation_id: int) -> str | None:
        return self.session.scalar(select(App.client_id).join(Installation, Installation.app_id == App.id)
                                   .where(Installation.id == installation_id))

    def list_for_partner(self, partner_id: int) -> list[App]:
        return list(self.session.scalars(select(App).where(App.partner_id == partner_id).order_by(App.name)))

    def get_for_partner(self, partner_id: int, client_id: str) -> App | None:
        """An app only through its own partner: another partner's client_id finds nothing."""
        return self.session.scalar(select(App).where(App.partner_id == partner_id, App.client_id == client_id))

    def list_by_status(self, status: AppStatus) -> list[App]:
        return list(
            self.session.scalars(select(App).where(App.status == status.value).order_by(App.updated_at, App.id))
        )

    def list_installable_for(self, account_id: int) -> list[App]:
        """Verified apps, plus draft apps of partners that have this account as a demo account."""
        demo_partners = select(PartnerDemoAccount.partner_id).where(PartnerDemoAccount.account_id == account_id)
        return list(
            self.session.scalars(
                select(App)
                .where((App.status == AppStatus.VERIFIED.value) | App.partner_id.in_(demo_partners))
                .order_by(App.name)
            )
        )

    def create(
        self,
        *,
        partner_id: int,
        name: str,
        client_id: str,
        client_secret_encrypted: str,
        application_url: str,
        redirect_uris: list[str],
        description: str = "",
        status: AppStatus = AppStatus.DRAFT,
    ) -> App:
        app = App(
            partner_id=partner_id,
            name=name,
            client_id=client_id,
            client_secret_encrypted=client_secret_encrypted,
            application_url=application_url,
            description=description,
            status=status.value,
            redirect_uris=[AppRedirectUri(url=u, position=i) for i, u in enumerate(redirect_uris)],
        )
        self.session.add(app)
        self.session.flush()
        return app

    def replace_redirect_uris(self, app: App, urls: list[str]) -> None:
        """Keep the rows whose URL stays, drop the others, add the new ones, in the given order.

        Rows are reused rather than recreated: the unit of work inserts before it deletes,
        so recreating a kept URL would trip the (app_id, url) unique constraint.
        """
        existing = {row.url: row for row in app.redirect_uris}
        rows = []
        for position, url in enumerate(urls):
            row = existing.pop(url, None) or AppRedirectUri(url=url)
            row.position = position
            rows.append(row)
        app.redirect_uris = rows
        self.session.flush()

    def get_logo(self, app_id: int) -> AppLogo | None:
        return self.session.get(AppLogo, app_id)

    def has_logo(self, app_id: int) -> bool:
        return self.session.scalar(select(AppLogo.app_id).where(AppLogo.app_id == app_id)) is not None

    def ids_with_logo(self, app_ids: list[int]) -> set[int]:
        if not app_ids:
            return set()
        return set(self.session.scalars(select(AppLogo.app_id).where(AppLogo.app_id.in_(app_ids))))

    def set_logo(self, app_id: int, *, content_type: str, data: bytes, now: dt.datetime) -> None:
        logo = self.session.get(AppLogo, app_id)
        if logo is None:
            self.session.add(AppLogo(app_id=app_id, content_type=content_type, data=data, updated_at=now))
        else:
            logo.content_type, logo.data, logo.updated_at = content_type, data, now
        self.session.flush()

    def delete_logo(self, app_id: int) -> None:
        self.session.execute(delete(AppLogo).where(AppLogo.app_id == app_id))
