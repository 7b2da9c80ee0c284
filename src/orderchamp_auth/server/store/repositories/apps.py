"""Partners, their demo accounts, apps and redirect URLs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import App, AppLogo, AppRedirectUri, AppStatus, Partner, PartnerDemoAccount, PartnerMember


class PartnerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

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

    def partners_of_user(self, user_id: int) -> list[Partner]:
        return list(
            self.session.scalars(
                select(Partner).join(PartnerMember, PartnerMember.partner_id == Partner.id)
                .where(PartnerMember.user_id == user_id).order_by(Partner.name)
            )
        )

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

    def demo_partner_ids(self, account_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(PartnerDemoAccount.partner_id).where(PartnerDemoAccount.account_id == account_id)
            )
        )


class AppRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, app_id: int) -> App | None:
        return self.session.get(App, app_id)

    def get_by_client_id(self, client_id: str) -> App | None:
        return self.session.scalar(select(App).where(App.client_id == client_id))

    def get_by_name(self, partner_id: int, name: str) -> App | None:
        return self.session.scalar(select(App).where(App.partner_id == partner_id, App.name == name))

    def list_for_partner(self, partner_id: int) -> list[App]:
        return list(self.session.scalars(select(App).where(App.partner_id == partner_id).order_by(App.name)))

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

    def get_logo(self, app_id: int) -> AppLogo | None:
        return self.session.get(AppLogo, app_id)

    def has_logo(self, app_id: int) -> bool:
        return self.session.scalar(select(AppLogo.app_id).where(AppLogo.app_id == app_id)) is not None
