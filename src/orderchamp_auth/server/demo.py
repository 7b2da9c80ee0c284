"""Demo data (``orderchamp-auth demo``): idempotent, so ``serve --demo`` can run it every start.

Secrets cannot be shown twice (they are stored hashed), so each run replaces the demo's
private token with a fresh one and prints that; the app's client secret is decrypted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import select

from ..protocol.scopes import ScopeSet
from .admin import create_account, create_user
from .demo_catalogue import seed_catalogue
from .oauth.apps import create_app
from .oauth.clients import ClientSecrets
from .oauth.private_tokens import create_private_token
from .settings import Settings
from .store.database import Database, utcnow
from .store.models import AccessToken, Membership, TokenKindName
from .store.repositories.accounts import AccountRepository, UserRepository
from .store.repositories.apps import AppRepository, PartnerRepository
from .store.repositories.tokens import TokenRepository

DEMO_PASSWORD = "orderchamp-demo"
SUPPORT_EMAIL = "support@demo.orderchamp.test"
PARTNER_EMAIL = "partner@demo.orderchamp.test"
SUPPLIER_EMAIL = "supplier@demo.orderchamp.test"
ACCOUNT_NAME = "Little Champs"
PARTNER_NAME = "Demo Partner"
APP_NAME = "Demo App"
TOKEN_NAME = "Demo token (all scopes)"
APP_BASE = "http://127.0.0.1:8001"


@dataclass
class DemoData:
    web_url: str
    api_url: str
    users: dict[str, dict[str, str]]
    account_id: str
    account_slug: str
    client_id: str
    client_secret: str
    application_url: str
    redirect_urls: list[str]
    private_token: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def seed_demo(settings: Settings, database: Database, client_secrets: ClientSecrets) -> DemoData:
    with database.write() as db:
        users = UserRepository(db)
        accounts = AccountRepository(db)
        partners = PartnerRepository(db)

        def user(email: str, *, support: bool = False, name: str = "") -> int:
            found = users.get_by_email(email)
            if found is None:
                found = create_user(db, email=email, password=DEMO_PASSWORD, name=name, is_support=support)
            return found.id

        user(SUPPORT_EMAIL, support=True, name="Sam Support")
        partner_user = user(PARTNER_EMAIL, name="Pat Partner")
        supplier_user = user(SUPPLIER_EMAIL, name="Sue Supplier")

        account = accounts.get_by_slug("little-champs")
        if account is None:
            account = create_account(db, name=ACCOUNT_NAME, type="SUPPLIER")
        users.add_to_account(supplier_user, account.id)
        # The partner's own demo account, as support would link it (SPEC section 6).
        users.add_to_account(partner_user, account.id)

        partner = partners.get_by_name(PARTNER_NAME) or partners.create(PARTNER_NAME)
        partners.add_member(partner.id, partner_user)
        partners.link_demo_account(partner.id, account.id)

        app = AppRepository(db).get_by_name(partner.id, APP_NAME)
        if app is None:
            app, secret = create_app(
                db, client_secrets, partner_id=partner.id, name=APP_NAME,
                application_url=f"{APP_BASE}/install",
                redirect_uris=[f"{APP_BASE}/callback"],
                description="An example app: it shows your account name and products.",
                verified=True,
            )
        else:
            secret = client_secrets.current_secret(app)

        seed_catalogue(db, account.id)

        tokens = TokenRepository(db)
        now = utcnow()
        for old in db.scalars(
            select(AccessToken).where(
                AccessToken.account_id == account.id,
                AccessToken.kind == TokenKindName.PRIVATE.value,
                AccessToken.name == TOKEN_NAME,
                AccessToken.revoked_at.is_(None),
            )
        ):
            tokens.revoke(old.id, now)
        _, private_token = create_private_token(
            db, account_id=account.id, name=TOKEN_NAME, scopes=ScopeSet.all(), user_id=supplier_user, now=now
        )
        assert db.scalar(select(Membership.id).where(Membership.user_id == supplier_user)) is not None
        return DemoData(
            web_url=settings.web_url,
            api_url=settings.api_url,
            users={
                "support": {"email": SUPPORT_EMAIL, "password": DEMO_PASSWORD},
                "partner": {"email": PARTNER_EMAIL, "password": DEMO_PASSWORD},
                "supplier": {"email": SUPPLIER_EMAIL, "password": DEMO_PASSWORD},
            },
            account_id=str(account.id),
            account_slug=account.slug,
            client_id=app.client_id,
            client_secret=secret,
            application_url=app.application_url,
            redirect_urls=[r.url for r in app.redirect_uris],
            private_token=private_token,
            notes=["Each demo run replaces the demo private token; earlier ones are revoked."],
        )


def format_demo(data: DemoData) -> str:
    lines = [
        "Orderchamp demo data",
        f"  web:            {data.web_url}",
        f"  API:            {data.api_url}/graphql",
        f"  password (all): {DEMO_PASSWORD}",
    ]
    for role, creds in data.users.items():
        lines.append(f"  {role + ' user:':15} {creds['email']}")
    lines += [
        f"  account_id:     {data.account_id} ({ACCOUNT_NAME})",
        f"  client_id:      {data.client_id}",
        f"  client_secret:  {data.client_secret}",
        f"  application_url {data.application_url}",
        f"  redirect_urls:  {', '.join(data.redirect_urls)}",
        f"  private token:  {data.private_token}",
    ]
    return "\n".join(lines)


def format_demo_env(data: DemoData) -> str:
    """``NAME=value`` lines for ``eval "$(orderchamp-auth demo --env)"``."""
    import shlex

    values = {
        "WEB_URL": data.web_url,
        "API_URL": data.api_url,
        "ACCOUNT_ID": data.account_id,
        "CLIENT_ID": data.client_id,
        "CLIENT_SECRET": data.client_secret,
        "APPLICATION_URL": data.application_url,
        "REDIRECT_URL": data.redirect_urls[0],
        "TOKEN": data.private_token,
        "SUPPLIER_EMAIL": data.users["supplier"]["email"],
        "PARTNER_EMAIL": data.users["partner"]["email"],
        "SUPPORT_EMAIL": data.users["support"]["email"],
        "PASSWORD": DEMO_PASSWORD,
    }
    return "\n".join(f"{name}={shlex.quote(value)}" for name, value in values.items())
