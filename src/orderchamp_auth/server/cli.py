"""``orderchamp-auth``: run and administer the platform (SPEC section 10)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..protocol.errors import OrderchampAuthError, ScopeError
from ..protocol.scopes import ScopeSet
from .errors import ValidationError
from .settings import Settings, SettingsError, load_settings

log = logging.getLogger("orderchamp_auth")


def _platform(settings: Settings) -> Any:
    from .app import build_platform
    from .store.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)
    return build_platform(settings)


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload))
    else:
        print(text)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from .store.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)
    print("database schema is up to date")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import format_demo, format_demo_env, seed_demo

    platform = _platform(settings)
    data = seed_demo(settings, platform.database, platform.client_secrets)
    if args.env:
        print(format_demo_env(data))
        return 0
    _emit(args, data.to_dict(), format_demo(data))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    settings = settings.with_urls(args.host, args.port)
    # Workers re-read the environment: hand them the URLs derived from host and port.
    os.environ.setdefault("ORDERCHAMP_WEB_URL", settings.web_url)
    os.environ.setdefault("ORDERCHAMP_API_URL", settings.api_url)
    os.environ.setdefault("ORDERCHAMP_SECRET_KEY", ",".join(settings.secret_keys))
    os.environ.setdefault("DATABASE_URL", settings.database_url)
    platform = _platform(settings)
    if args.demo:
        from .demo import format_demo, seed_demo

        print(format_demo(seed_demo(settings, platform.database, platform.client_secrets)), flush=True)
    platform.database.dispose()
    print(f"serving {settings.web_url} (API {settings.api_url}/graphql) with {args.workers} worker(s)", flush=True)
    uvicorn.run(
        "orderchamp_auth.server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_level="info" if args.access_log else "warning",
        proxy_headers=False,
        backlog=2048,
    )
    return 0


def cmd_account_create(args: argparse.Namespace, settings: Settings) -> int:
    from .admin import create_account, create_user
    from .store.repositories.accounts import UserRepository

    platform = _platform(settings)
    with platform.database.write() as db:
        account = create_account(db, name=args.name, type=args.type)
        payload: dict[str, Any] = {"account_id": str(account.id), "slug": account.slug}
        if args.user_email:
            users = UserRepository(db)
            user = users.get_by_email(args.user_email)
            if user is None:
                if not args.user_password:
                    raise ValidationError("--user-password is required for a new user.")
                user = create_user(db, email=args.user_email, password=args.user_password)
            users.add_to_account(user.id, account.id)
            payload["user_email"] = user.email
    _emit(args, payload, f"account_id: {payload['account_id']}\nslug: {payload['slug']}")
    return 0


def cmd_partner_create(args: argparse.Namespace, settings: Settings) -> int:
    from .admin import create_user
    from .store.repositories.accounts import AccountRepository, UserRepository
    from .store.repositories.apps import PartnerRepository

    platform = _platform(settings)
    with platform.database.write() as db:
        partners = PartnerRepository(db)
        if partners.get_by_name(args.name.strip()):
            raise ValidationError(f"A partner named {args.name!r} exists.")
        partner = partners.create(args.name.strip())
        if args.user_email:
            user = UserRepository(db).get_by_email(args.user_email)
            if user is None:
                if not args.user_password:
                    raise ValidationError("--user-password is required for a new user.")
                user = create_user(db, email=args.user_email, password=args.user_password)
            partners.add_member(partner.id, user.id)
        for account_id in args.demo_account or []:
            if AccountRepository(db).get(account_id) is None:
                raise ValidationError(f"No account with id {account_id}.")
            partners.link_demo_account(partner.id, account_id)
        payload = {"partner_id": str(partner.id), "name": partner.name}
    _emit(args, payload, f"partner_id: {payload['partner_id']}")
    return 0


def cmd_app_create(args: argparse.Namespace, settings: Settings) -> int:
    from .oauth.apps import create_app
    from .store.repositories.apps import PartnerRepository

    platform = _platform(settings)
    with platform.database.write() as db:
        partners = PartnerRepository(db)
        partner = partners.get(int(args.partner)) if args.partner.isdigit() else partners.get_by_name(args.partner)
        if partner is None:
            raise ValidationError(f"No partner {args.partner!r} (give its id or name).")
        app, secret = create_app(
            db, platform.client_secrets, partner_id=partner.id, name=args.name,
            application_url=args.application_url, redirect_uris=args.redirect_url,
            description=args.description or "", verified=args.verified,
        )
        payload = {
            "client_id": app.client_id,
            "client_secret": secret,
            "name": app.name,
            "status": app.status,
            "application_url": app.application_url,
            "redirect_urls": [r.url for r in app.redirect_uris],
        }
    _emit(args, payload, f"client_id: {payload['client_id']}\nclient_secret: {secret}")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from .oauth.private_tokens import create_private_token
    from .store.database import utcnow
    from .store.repositories.accounts import AccountRepository

    try:
        scopes = ScopeSet.parse(args.scopes)
    except ScopeError as exc:
        raise ValidationError(str(exc)) from None
    platform = _platform(settings)
    with platform.database.write() as db:
        if AccountRepository(db).get(args.account) is None:
            raise ValidationError(f"No account with id {args.account}.")
        token, value = create_private_token(
            db, account_id=args.account, name=args.name, scopes=scopes, user_id=None, now=utcnow()
        )
        payload = {"token": value, "token_id": str(token.id), "account_id": str(args.account),
                   "scope": token.scopes, "name": token.name}
    _emit(args, payload, value)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderchamp-auth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the platform")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="seed demo data first and print it")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(handler=cmd_serve)

    demo = sub.add_parser("demo", help="seed demo data (idempotent) and print it")
    demo.add_argument("--json", action="store_true")
    demo.add_argument("--env", action="store_true", help="print shell variable assignments (for eval)")
    demo.set_defaults(handler=cmd_demo)

    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(handler=cmd_migrate)

    account = sub.add_parser("account", help="accounts").add_subparsers(dest="action", required=True)
    account_create = account.add_parser("create", help="create an account and optionally its first user")
    account_create.add_argument("--name", required=True)
    account_create.add_argument("--type", default="SUPPLIER", choices=["SUPPLIER", "RETAILER"])
    account_create.add_argument("--user-email")
    account_create.add_argument("--user-password")
    account_create.add_argument("--json", action="store_true")
    account_create.set_defaults(handler=cmd_account_create)

    partner = sub.add_parser("partner", help="partners").add_subparsers(dest="action", required=True)
    partner_create = partner.add_parser("create", help="create a partner")
    partner_create.add_argument("--name", required=True)
    partner_create.add_argument("--user-email")
    partner_create.add_argument("--user-password")
    partner_create.add_argument("--demo-account", type=int, action="append", help="account id to link")
    partner_create.add_argument("--json", action="store_true")
    partner_create.set_defaults(handler=cmd_partner_create)

    app = sub.add_parser("app", help="partner apps").add_subparsers(dest="action", required=True)
    app_create = app.add_parser("create", help="create an app and print its credentials")
    app_create.add_argument("--partner", required=True, help="partner id or name")
    app_create.add_argument("--name", required=True)
    app_create.add_argument("--application-url", required=True)
    app_create.add_argument("--redirect-url", action="append", required=True)
    app_create.add_argument("--description")
    app_create.add_argument("--verified", action="store_true")
    app_create.add_argument("--json", action="store_true")
    app_create.set_defaults(handler=cmd_app_create)

    token = sub.add_parser("token", help="private tokens").add_subparsers(dest="action", required=True)
    token_create = token.add_parser("create", help="create a private token and print it once")
    token_create.add_argument("--account", type=int, required=True)
    token_create.add_argument("--scopes", required=True, help="comma-separated, e.g. account_read,products_read")
    token_create.add_argument("--name", default="CLI token")
    token_create.add_argument("--json", action="store_true")
    token_create.set_defaults(handler=cmd_token_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except (ValidationError, SettingsError) as exc:
        details = "; ".join(f"{k}: {v}" for k, v in getattr(exc, "fields", {}).items())
        print(f"error: {exc}" + (f" ({details})" if details else ""), file=sys.stderr)
        return 2
    except OrderchampAuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
