"""Demo data (``orderchamp-auth demo``): idempotent, so ``serve --demo`` can run it every start.

Every run prints the same credentials, so printing them again (``demo --env`` next to a
running ``serve --demo``) never breaks the ones printed before. Tokens are stored only as
hashes and cannot be shown twice, so the demo's private token is derived from the secret key
(an HMAC with a label of its own, like every key in ``keys.py``): each run computes the same
value and stores its hash once. Revoking it in the back office works as for any token; the
next run then derives the next one. The app's client secret is decrypted, as for signing.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field

from ..protocol.scopes import ScopeSet
from ..protocol.tokens import TokenKind, hash_secret
from .admin import create_account, create_user
from .api.webhook_payloads import api_payload
from .demo_catalogue import seed_catalogue
from .errors import PlatformError, ValidationError
from .keys import SecretBox, derive_key
from .oauth.apps import create_app
from .oauth.clients import ClientSecrets
from .oauth.private_tokens import create_private_token
from .settings import SECRET_FILE, Settings
from .store.database import Database, utcnow
from .store.transaction import Transaction

DEMO_PASSWORD = "orderchamp-demo"
SUPPORT_EMAIL = "support@demo.orderchamp.test"
PARTNER_EMAIL = "partner@demo.orderchamp.test"
SUPPLIER_EMAIL = "supplier@demo.orderchamp.test"
ACCOUNT_NAME = "Little Champs"
PARTNER_NAME = "Demo Partner"
APP_NAME = "Demo App"
TOKEN_NAME = "Demo token (all scopes)"
APP_BASE = "http://127.0.0.1:8001"
# How many times the demo token can be revoked before the demo gives up deriving a new one.
TOKEN_GENERATIONS = 64


@dataclass
class DemoData:
    web_url: str
    api_url: str
    users: dict[str, dict[str, str]]
    account_id: str
    account_slug: str
    partner_id: str
    partner_name: str
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
        users = db.users
        accounts = db.accounts
        partners = db.partners

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

        app = db.apps.get_by_name(partner.id, APP_NAME)
        if app is None:
            app, secret = create_app(
                db, client_secrets, partner_id=partner.id, name=APP_NAME,
                application_url=f"{APP_BASE}/install",
                redirect_uris=[f"{APP_BASE}/callback"],
                description="An example app: it shows your account name and products.",
                verified=True,
            )
        else:
            try:
                secret = client_secrets.current_secret(app)
            except ValueError:
                raise PlatformError(
                    "the demo app's client secret was encrypted under another secret key: this "
                    "database was seeded with a different ORDERCHAMP_SECRET_KEY (or the "
                    f"{SECRET_FILE} of another directory); use that key, or another database"
                ) from None

        seed_catalogue(db, account.id, api_payload)

        private_token = _demo_private_token(db, client_secrets.box, settings.secret_keys, account.id, supplier_user)
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
            partner_id=str(partner.id),
            partner_name=partner.name,
            client_id=app.client_id,
            client_secret=secret,
            application_url=app.application_url,
            redirect_urls=[r.url for r in app.redirect_uris],
            private_token=private_token,
            notes=["Every demo run prints the same credentials (the private token is derived from the "
                   "secret key); revoke the token in the back office and the next run prints a new one."],
        )


def demo_token_value(secret_key: str, account_id: int, generation: int) -> str:
    digest = derive_key(secret_key, f"demo-private-token:{account_id}:{generation}")
    return TokenKind.PRIVATE_TOKEN.value + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _demo_private_token(tx: Transaction, box: SecretBox, secret_keys: tuple[str, ...], account_id: int,
                        user_id: int) -> str:
    """The demo token still in use (derived from any configured key, so a key rotation keeps
    it), or else the first generation under the newest key that was never revoked."""
    candidates = [demo_token_value(key, account_id, n) for key in secret_keys for n in range(TOKEN_GENERATIONS)]
    stored = tx.tokens.by_hashes([hash_secret(value) for value in candidates])
    for value in candidates:
        token = stored.get(hash_secret(value))
        if token is not None and token.revoked_at is None and token.account_id == account_id:
            return value
    for value in candidates[:TOKEN_GENERATIONS]:
        if hash_secret(value) not in stored:
            create_private_token(tx, box, account_id=account_id, name=TOKEN_NAME, scopes=ScopeSet.all(),
                                 user_id=user_id, now=utcnow(), value=value)
            return value
    raise ValidationError(f"The demo token was revoked {TOKEN_GENERATIONS} times; create one with `token create`.")


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
        f"  account_id:     {data.account_id} ({ACCOUNT_NAME}, slug {data.account_slug})",
        f"  partner_id:     {data.partner_id} ({data.partner_name})",
        f"  client_id:      {data.client_id}",
        f"  client_secret:  {data.client_secret}",
        f"  application_url: {data.application_url}",
        f"  redirect_urls:  {', '.join(data.redirect_urls)}",
        f"  private_token:  {data.private_token}",
    ]
    return "\n".join(lines)


def format_demo_env(data: DemoData) -> str:
    """``NAME=value`` lines for ``eval "$(orderchamp-auth demo --env)"``: the JSON keys in
    capitals (``PRIVATE_TOKEN`` is ``private_token``); ``TOKEN`` repeats it, for scripts
    written before the names agreed."""
    import shlex

    values = {
        "WEB_URL": data.web_url,
        "API_URL": data.api_url,
        "ACCOUNT_ID": data.account_id,
        "ACCOUNT_SLUG": data.account_slug,
        "PARTNER_ID": data.partner_id,
        "CLIENT_ID": data.client_id,
        "CLIENT_SECRET": data.client_secret,
        "APPLICATION_URL": data.application_url,
        "REDIRECT_URL": data.redirect_urls[0],
        "PRIVATE_TOKEN": data.private_token,
        "TOKEN": data.private_token,
        "SUPPLIER_EMAIL": data.users["supplier"]["email"],
        "PARTNER_EMAIL": data.users["partner"]["email"],
        "SUPPORT_EMAIL": data.users["support"]["email"],
        "PASSWORD": DEMO_PASSWORD,
    }
    return "\n".join(f"{name}={shlex.quote(value)}" for name, value in values.items())
