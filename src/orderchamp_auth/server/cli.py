"""orderchamp-auth: run and administer the platform.

Settings come from the environment or a .env file in the working directory (DATABASE_URL,
ORDERCHAMP_SECRET_KEY, ORDERCHAMP_WEB_URL, ...; see the README). Every command brings the
database schema up to date first. Errors are one line on stderr, with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..protocol.errors import OrderchampAuthError, ScopeError
from ..protocol.scopes import Scope, ScopeSet
from .cli_options import HelpFormatter, OneLineErrorParser, host, port, worker_count
from .errors import ValidationError
from .settings import Settings, SettingsError, load_settings

log = logging.getLogger("orderchamp_auth")

# The command line's names for the fields that validation errors name.
OPTION_OF_FIELD = {
    "application_url": "--application-url", "redirect_uris": "--redirect-url", "email": "--user-email",
    "password": "--user-password", "scopes": "--scopes", "description": "--description",
}


class CommandError(Exception):
    """A one-line error for the user; exit status 2."""


def _platform(settings: Settings, args: argparse.Namespace) -> Any:
    from .app import build_platform
    from .store.migrate import prepare_database

    prepare_database(settings.database_url, allow_foreign_tables=getattr(args, "allow_foreign_tables", False))
    return build_platform(settings)


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload))
    else:
        print(text)


def _account(db: Any, reference: str) -> Any:
    """An account by id or slug."""
    from .store.repositories.accounts import AccountRepository

    accounts = AccountRepository(db)
    reference = reference.strip()
    account = accounts.get(int(reference)) if reference.isdigit() else accounts.get_by_slug(reference)
    if account is None:
        raise ValidationError(f"No account with id or slug {reference!r}.")
    return account


def _partner(db: Any, reference: str) -> Any:
    """A partner by id, name, or the email of one of its users (what the demo prints)."""
    from .store.repositories.accounts import UserRepository
    from .store.repositories.apps import PartnerRepository

    partners = PartnerRepository(db)
    reference = reference.strip()
    if reference.isdigit():
        partner = partners.get(int(reference))
    elif "@" in reference:
        user = UserRepository(db).get_by_email(reference.lower())
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


def _new_or_existing_user(db: Any, email: str, password: str | None) -> Any:
    from .admin import create_user
    from .store.repositories.accounts import UserRepository

    user = UserRepository(db).get_by_email(email.strip().lower())
    if user is not None:
        return user
    if not password:
        raise ValidationError(f"There is no user {email}: give --user-password to create one.")
    return create_user(db, email=email, password=password)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from .store.migrate import prepare_database

    prepare_database(settings.database_url, allow_foreign_tables=args.allow_foreign_tables)
    print(f"database schema is up to date ({settings.database_display})")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import format_demo, format_demo_env, seed_demo

    platform = _platform(settings, args)
    data = seed_demo(settings, platform.database, platform.client_secrets)
    platform.database.dispose()
    if args.env:
        print(format_demo_env(data))
        return 0
    _emit(args, data.to_dict(), format_demo(data))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from . import serving

    settings = replace(settings.with_urls(args.host, args.port),
                       log_format=args.log_format or settings.log_format,
                       metrics_port=args.metrics_port or settings.metrics_port)
    if settings.log_format == "json":
        import logging.config

        from .request_log import json_logging_config

        logging.config.dictConfig(json_logging_config())  # this process's records too, from here on
    if settings.metrics_port == args.port:
        raise CommandError(f"--metrics-port {args.port} is the port the platform listens on; choose another")
    try:
        sock = serving.bind(args.host, args.port)
    except serving.ServeError as exc:
        raise CommandError(str(exc)) from None
    if settings.metrics_port is None:
        return _serve(args, settings, sock)
    from . import metrics

    # Before anything imports prometheus-client: the workers and this process count in files there.
    directory = metrics.make_multiprocess_dir()
    try:
        try:
            server = metrics.start_metrics_server(settings.metrics_port)
        except OSError as exc:
            sock.close()
            raise CommandError(f"cannot serve metrics on 127.0.0.1:{settings.metrics_port}: "
                               f"{exc.strerror or exc}") from None
        # uvicorn re-raises the SIGTERM it stopped on once it is done, under the handler it found:
        # make that an exit that runs the clean-up below rather than an abrupt end.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            return _serve(args, settings, sock)
        finally:
            server.shutdown()
    finally:
        metrics.remove_multiprocess_dir(directory)


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(0)


def _serve(args: argparse.Namespace, settings: Settings, sock: Any) -> int:
    from . import serving

    try:
        platform = _platform(settings, args)
        if args.demo:
            from .demo import format_demo, seed_demo

            print(format_demo(seed_demo(settings, platform.database, platform.client_secrets)), flush=True)
        platform.database.dispose()
    except BaseException:
        sock.close()
        raise
    # The workers build their settings from the environment: hand them what was checked here.
    os.environ.update(
        ORDERCHAMP_WEB_URL=settings.web_url, ORDERCHAMP_API_URL=settings.api_url,
        ORDERCHAMP_SECRET_KEY=",".join(settings.secret_keys), DATABASE_URL=settings.database_url,
        ORDERCHAMP_REQUEST_LOG="1" if args.access_log else "0", ORDERCHAMP_LOG_FORMAT=settings.log_format,
        ORDERCHAMP_METRICS_PORT=str(settings.metrics_port or ""),
        ORDERCHAMP_WEBHOOK_ALLOW_LOOPBACK="1" if args.demo or settings.webhook_allow_loopback else "0",
    )
    workers = f"{args.workers} worker" + ("s" if args.workers > 1 else "")
    ready = (f"serving on {settings.web_url} (API {settings.api_url}/graphql), listening on "
             f"{args.host}:{args.port} with {workers}; database {settings.database_display}")
    if settings.metrics_port is not None:
        ready += f"; metrics on http://127.0.0.1:{settings.metrics_port}/metrics"
    started = serving.run(sock, workers=args.workers, on_ready=lambda: print(ready, flush=True),
                          log_format=settings.log_format)
    return 0 if started else 1


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from .webhooks.commands import cmd_worker as run_worker

    _platform(settings, args).database.dispose()  # the schema is checked (and brought up to date) first
    return run_worker(args, settings)


def cmd_webhook_trigger(args: argparse.Namespace, settings: Settings) -> int:
    from .store.repositories.apps import AppRepository
    from .webhooks.commands import TriggerError, trigger

    platform = _platform(settings, args)
    try:
        with platform.database.write() as db:
            account = _account(db, args.account)
            app = AppRepository(db).get_by_client_id(args.app.strip())
            if app is None:
                raise ValidationError(f"No app with client id {args.app!r}.")
            webhook_ids = trigger(db, app_id=app.id, account_id=account.id, topic=args.topic)
    except TriggerError as exc:
        raise CommandError(str(exc)) from None
    finally:
        platform.database.dispose()
    _emit(args, {"webhookIds": webhook_ids},
          "\n".join(f"queued {args.topic} test event {webhook_id}" for webhook_id in webhook_ids))
    return 0


def cmd_account_create(args: argparse.Namespace, settings: Settings) -> int:
    from .admin import create_account
    from .store.repositories.accounts import UserRepository

    platform = _platform(settings, args)
    with platform.database.write() as db:
        account = create_account(db, name=args.name, type=args.type)
        payload: dict[str, Any] = {"account_id": str(account.id), "slug": account.slug}
        if args.user_email:
            user = _new_or_existing_user(db, args.user_email, args.user_password)
            UserRepository(db).add_to_account(user.id, account.id)
            payload["user_email"] = user.email
    _emit(args, payload, f"account_id: {payload['account_id']}\nslug: {payload['slug']}")
    return 0


def cmd_partner_create(args: argparse.Namespace, settings: Settings) -> int:
    from .store.repositories.apps import PartnerRepository

    platform = _platform(settings, args)
    with platform.database.write() as db:
        partners = PartnerRepository(db)
        name = args.name.strip()
        if not name:
            raise ValidationError("The partner needs a name.")
        if partners.get_by_name(name):
            raise ValidationError(f"A partner named {name!r} exists.")
        partner = partners.create(name)
        if args.user_email:
            partners.add_member(partner.id, _new_or_existing_user(db, args.user_email, args.user_password).id)
        for reference in args.demo_account or []:
            partners.link_demo_account(partner.id, _account(db, reference).id)
        payload = {"partner_id": str(partner.id), "name": partner.name}
    _emit(args, payload, f"partner_id: {payload['partner_id']}")
    return 0


def cmd_app_create(args: argparse.Namespace, settings: Settings) -> int:
    from .oauth.apps import create_app

    platform = _platform(settings, args)
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
    _emit(args, payload, f"client_id: {payload['client_id']}\nclient_secret: {secret}")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from .oauth.private_tokens import create_private_token
    from .store.database import utcnow

    try:
        scopes = ScopeSet.parse(args.scopes)
    except ScopeError as exc:
        raise ValidationError(f"{exc} (the scopes are {', '.join(s.value for s in Scope)})") from None
    platform = _platform(settings, args)
    with platform.database.write() as db:
        account = _account(db, args.account)
        token, value = create_private_token(
            db, account_id=account.id, name=args.name, scopes=scopes, user_id=None, now=utcnow()
        )
        payload = {"token": value, "private_token": value, "token_id": str(token.id),
                   "account_id": str(account.id), "scope": token.scopes, "name": token.name}
    _emit(args, payload, value)
    return 0


def describe_validation_error(exc: ValidationError) -> str:
    """The message and what is wrong with each field, as sentences on one line."""
    parts = [_sentence(exc.message)]
    for field, problem in exc.fields.items():
        parts.append(f"{OPTION_OF_FIELD.get(field, '--' + field.replace('_', '-'))}: {_sentence(problem)}")
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="orderchamp-auth", description=__doc__, formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(group: Any, name: str, description: str, handler: Callable[..., int]) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = group.add_parser(name, help=description, description=description,
                                                         formatter_class=HelpFormatter)
        made.set_defaults(handler=handler)
        return made

    def json_option(made: argparse.ArgumentParser) -> None:
        made.add_argument("--json", action="store_true", help="print the result as one JSON object")

    def foreign_tables_option(made: argparse.ArgumentParser) -> None:
        made.add_argument("--allow-foreign-tables", action="store_true",
                          help="add orderchamp-auth's tables to a database that already holds other tables")

    serve = command(sub, "serve", "run the platform (web pages, OAuth endpoints and the API)", cmd_serve)
    serve.add_argument("--host", type=host, default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=port, default=8000, help="port to listen on, 1 to 65535")
    serve.add_argument("--workers", type=worker_count, default=1, help="worker processes")
    serve.add_argument("--demo", action="store_true", help="seed the demo data first and print its credentials")
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True,
                       help="log one line per request: method, path (never the query string), status, "
                            "duration")
    serve.add_argument("--log-format", choices=["text", "json"],
                       help="text lines, or one JSON object per line with the request id "
                            "(when not given: ORDERCHAMP_LOG_FORMAT, else text)")
    serve.add_argument("--metrics-port", type=port, metavar="PORT",
                       help="serve Prometheus metrics on 127.0.0.1:PORT/metrics "
                            "(when not given: ORDERCHAMP_METRICS_PORT, else no metrics)")
    foreign_tables_option(serve)

    demo = command(sub, "demo", "seed the demo data and print its credentials (the same on every run)", cmd_demo)
    json_option(demo)
    demo.add_argument("--env", action="store_true",
                      help='print NAME=value lines for the shell: eval "$(orderchamp-auth demo --env)"')
    foreign_tables_option(demo)

    command(sub, "worker", "deliver webhooks (serve runs this too, unless ORDERCHAMP_WEBHOOK_WORKER=0)", cmd_worker)
    webhook = sub.add_parser("webhook", help="webhooks", description="webhooks").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    webhook_trigger = command(webhook, "trigger", "queue a test event for an app's webhook subscriptions",
                              cmd_webhook_trigger)
    webhook_trigger.add_argument("--app", required=True, help="the app's client id")
    webhook_trigger.add_argument("--account", required=True, help="the account's id or slug")
    webhook_trigger.add_argument("--topic", required=True, help="the topic, e.g. PRODUCT_UPDATED")
    json_option(webhook_trigger)

    migrate = command(sub, "migrate", "bring the database schema up to date", cmd_migrate)
    foreign_tables_option(migrate)

    account = sub.add_parser("account", help="accounts", description="accounts").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    account_create = command(account, "create", "create an account, and optionally its first user",
                             cmd_account_create)
    account_create.add_argument("--name", required=True, help="the account's name (its slug is made from it)")
    account_create.add_argument("--type", default="SUPPLIER", choices=["SUPPLIER", "RETAILER"], help="account type")
    account_create.add_argument("--user-email", help="a user to add to the account (created if new)")
    account_create.add_argument("--user-password", help="the new user's password")
    json_option(account_create)

    partner = sub.add_parser("partner", help="partners", description="partners").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    partner_create = command(partner, "create", "create a partner, and optionally its first user", cmd_partner_create)
    partner_create.add_argument("--name", required=True, help="the partner's name")
    partner_create.add_argument("--user-email", help="a user to add to the partner (created if new)")
    partner_create.add_argument("--user-password", help="the new user's password")
    partner_create.add_argument("--demo-account", action="append", metavar="ACCOUNT",
                                help="id or slug of an account to link as the partner's demo account (repeatable)")
    json_option(partner_create)

    app = sub.add_parser("app", help="partner apps", description="partner apps").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    app_create = command(app, "create", "create an app and print its credentials", cmd_app_create)
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

    token = sub.add_parser("token", help="private tokens", description="private tokens").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    token_create = command(token, "create", "create a private token and print it (only this once)", cmd_token_create)
    token_create.add_argument("--account", required=True, help="the account's id or slug")
    token_create.add_argument("--scopes", required=True,
                              help="comma-separated, e.g. account_read,products_read; the scopes are "
                                   + ", ".join(s.value for s in Scope))
    token_create.add_argument("--name", default="CLI token", help="a name to recognise the token by")
    json_option(token_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    settings: Settings | None = None
    try:
        settings = load_settings()
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except ValidationError as exc:
        return _fail(describe_validation_error(exc))
    except (SettingsError, CommandError, OrderchampAuthError) as exc:
        return _fail(str(exc))
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        from .store.migrate import DatabaseProblem, describe_failure

        if isinstance(exc, DatabaseProblem):
            return _fail(str(exc))
        if isinstance(exc, SQLAlchemyError) and settings is not None:
            # A failure after the start-up checks passed (the server went away, a disk filled up).
            return _fail(describe_failure(settings.database_url, exc))
        raise


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
