"""Commands that create records: ``account create``, ``partner create``, ``app create``,
``token create``, ``order create``. Each runs in one write transaction (with the webhook events
of what it made)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ...protocol.errors import ScopeError
from ...protocol.scopes import Scope, ScopeSet
from ..errors import ValidationError
from ..settings import Settings
from .commands import Commands, emit, json_option, open_platform

if TYPE_CHECKING:  # the store loads SQLAlchemy: only the commands that use it import it
    from ..store.transaction import Transaction


def register(commands: Commands) -> None:
    account = commands.group("account", "accounts")
    account_create = account.add("create", "create an account, and optionally its first user", cmd_account_create)
    account_create.add_argument("--name", required=True, help="the account's name (its slug is made from it)")
    account_create.add_argument("--type", default="SUPPLIER", choices=["SUPPLIER", "RETAILER"], help="account type")
    account_create.add_argument("--user-email", help="a user to add to the account (created if new)")
    account_create.add_argument("--user-password", help="the new user's password")
    json_option(account_create)

    partner = commands.group("partner", "partners")
    partner_create = partner.add("create", "create a partner, and optionally its first user", cmd_partner_create)
    partner_create.add_argument("--name", required=True, help="the partner's name")
    partner_create.add_argument("--user-email", help="a user to add to the partner (created if new)")
    partner_create.add_argument("--user-password", help="the new user's password")
    partner_create.add_argument("--demo-account", action="append", metavar="ACCOUNT",
                                help="id or slug of an account to link as the partner's demo account (repeatable)")
    json_option(partner_create)

    app = commands.group("app", "partner apps")
    app_create = app.add("create", "create an app and print its credentials", cmd_app_create)
    app_create.add_argument("--partner", required=True,
                            help="the partner: its id, its name, or the email of one of its users")
    app_create.add_argument("--name", required=True, help="the app's name, shown on the consent page")
    app_create.add_argument("--application-url", required=True, help="where the back office sends users to install")
    app_create.add_argument("--redirect-url", action="append", required=True,
                            help="an allowed OAuth redirect URL (repeatable)")
    app_create.add_argument("--description", default="", help="what the app does, shown to users")
    app_create.add_argument("--verified", action="store_true",
                            help="mark the app verified (reviewed), so any account can install it")
    json_option(app_create)

    token = commands.group("token", "private tokens")
    token_create = token.add("create", "create a private token and print it (only this once)", cmd_token_create)
    token_create.add_argument("--account", required=True, help="the account's id or slug")
    token_create.add_argument("--scopes", required=True,
                              help="comma-separated, e.g. account_read,products_read; the scopes are "
                                   + ", ".join(s.value for s in Scope))
    token_create.add_argument("--name", default="CLI token", help="a name to recognise the token by")
    json_option(token_create)

    order = commands.group("order", "orders (for the sandbox)")
    order_create = order.add("create", "place a test retailer's order in an account's catalogue (ORDER_CREATED)",
                             cmd_order_create)
    order_create.add_argument("--account", required=True, help="the account's id or slug")
    order_create.add_argument("--products", type=int, default=3,
                              help="how many of the account's products to order, one of each (1 to 20)")
    json_option(order_create)


def account_by_reference(db: Transaction, reference: str) -> Any:
    """An account by id or slug."""
    accounts = db.accounts
    reference = reference.strip()
    account = accounts.get(int(reference)) if reference.isdigit() else accounts.get_by_slug(reference)
    if account is None:
        raise ValidationError(f"No account with id or slug {reference!r}.")
    return account


def _partner(db: Transaction, reference: str) -> Any:
    """A partner by id, name, or the email of one of its users (what the demo prints)."""
    partners = db.partners
    reference = reference.strip()
    partner: Any
    if reference.isdigit():
        partner = partners.get(int(reference))
    elif "@" in reference:
        user = db.users.get_by_email(reference.lower())
        found = partners.partners_of_user(user.id) if user else []
        if len(found) > 1:
            names = ", ".join(f"{p.id} ({p.name})" for p in found)
            raise ValidationError(f"{reference} belongs to several partners: {names}; give the partner's id.")
        partner = found[0] if found else None
    else:
        partner = partners.get_by_name(reference)
    if partner is None:
        raise ValidationError(f"No partner {reference!r} (give its id, its name or the email of one of its users).")
    return partner


def _new_or_existing_user(db: Transaction, email: str, password: str | None) -> Any:
    from ..admin import create_user

    user = db.users.get_by_email(email.strip().lower())
    if user is not None:
        return user
    if not password:
        raise ValidationError(f"There is no user {email}: give --user-password to create one.")
    return create_user(db, email=email, password=password)


def cmd_account_create(args: argparse.Namespace, settings: Settings) -> int:
    from ..admin import create_account

    platform = open_platform(settings, args)
    with platform.database.write() as db:
        account = create_account(db, name=args.name, type=args.type)
        payload: dict[str, Any] = {"account_id": str(account.id), "slug": account.slug}
        if args.user_email:
            user = _new_or_existing_user(db, args.user_email, args.user_password)
            db.users.add_to_account(user.id, account.id)
            payload["user_email"] = user.email
    emit(args, payload, f"account_id: {payload['account_id']}\nslug: {payload['slug']}")
    return 0


def cmd_partner_create(args: argparse.Namespace, settings: Settings) -> int:
    platform = open_platform(settings, args)
    with platform.database.write() as db:
        partners = db.partners
        name = args.name.strip()
        if not name:
            raise ValidationError("The partner needs a name.")
        if partners.get_by_name(name):
            raise ValidationError(f"A partner named {name!r} exists.")
        partner = partners.create(name)
        if args.user_email:
            partners.add_member(partner.id, _new_or_existing_user(db, args.user_email, args.user_password).id)
        for reference in args.demo_account or []:
            partners.link_demo_account(partner.id, account_by_reference(db, reference).id)
        payload = {"partner_id": str(partner.id), "name": partner.name}
    emit(args, payload, f"partner_id: {payload['partner_id']}")
    return 0


def cmd_app_create(args: argparse.Namespace, settings: Settings) -> int:
    from ..oauth.apps import create_app

    platform = open_platform(settings, args)
    with platform.database.write() as db:
        partner = _partner(db, args.partner)
        app, secret = create_app(
            db, platform.client_secrets, partner_id=partner.id, name=args.name,
            application_url=args.application_url, redirect_uris=args.redirect_url,
            description=args.description, verified=args.verified,
        )
        payload = {
            "client_id": app.client_id,
            "client_secret": secret,
            "name": app.name,
            "status": app.status,
            "partner_id": str(partner.id),
            "application_url": app.application_url,
            "redirect_urls": [r.url for r in app.redirect_uris],
        }
    emit(args, payload, f"client_id: {payload['client_id']}\nclient_secret: {secret}")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from ..oauth.private_tokens import create_private_token
    from ..store.database import utcnow

    try:
        scopes = ScopeSet.parse(args.scopes)
    except ScopeError as exc:
        raise ValidationError(f"{exc} (the scopes are {', '.join(s.value for s in Scope)})") from None
    platform = open_platform(settings, args)
    with platform.database.write() as db:
        account = account_by_reference(db, args.account)
        token, value, webhook_secret = create_private_token(
            db, platform.secret_box, account_id=account.id, name=args.name, scopes=scopes, user_id=None,
            now=utcnow()
        )
        payload = {"token": value, "private_token": value, "token_id": str(token.id),
                   "account_id": str(account.id), "scope": token.scopes, "name": token.name,
                   "webhook_secret": webhook_secret}
    # The token alone on stdout, as before signing secrets (``TOKEN=$(orderchamp-auth token
    # create ...)``); the secret, shown this once too, beside it on stderr (all of it: --json).
    emit(args, payload, value)
    if not getattr(args, "json", False):
        print(f"webhook_secret: {webhook_secret} (signs this token's webhook deliveries; shown once)",
              file=sys.stderr)
    return 0


def cmd_order_create(args: argparse.Namespace, settings: Settings) -> int:
    from ...protocol.global_ids import encode_global_id
    from ..api.webhook_payloads import api_payload
    from ..demo_catalogue import place_test_order

    platform = open_platform(settings, args)
    try:
        with platform.database.write() as db:
            account = account_by_reference(db, args.account)
            account_id, slug = account.id, account.slug
            order_id = place_test_order(db, account_id, api_payload, products=args.products).order_id
    finally:
        platform.database.dispose()
    global_id = encode_global_id("Order", order_id)
    emit(args, {"order_id": str(order_id), "id": global_id, "account_id": str(account_id)},
         f"order {global_id} placed in {slug}")
    return 0
