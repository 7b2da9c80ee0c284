"""orderchamp-auth: run and administer the platform.

Settings come from the environment or a .env file in the working directory (DATABASE_URL,
ORDERCHAMP_SECRET_KEY, ORDERCHAMP_WEB_URL, ...; see the README). Every command brings the
database schema up to date first. Errors are one line on stderr, with exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from ...protocol.errors import OrderchampAuthError
from ..errors import ValidationError
from ..settings import Settings, SettingsError, load_settings
from . import records, running, webhooks
from .commands import CommandError, Commands, describe_validation_error
from .options import HelpFormatter, OneLineErrorParser

# Each module adds its commands to the parser; a new command is a function in one of them
# (or a new module listed here).
COMMAND_MODULES = (running, records, webhooks)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="orderchamp-auth", description=__doc__, formatter_class=HelpFormatter)
    commands = Commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    for module in COMMAND_MODULES:
        module.register(commands)
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
        from ..store.migrate import DatabaseProblem, describe_failure, is_database_failure

        if isinstance(exc, DatabaseProblem):
            return _fail(str(exc))
        if is_database_failure(exc) and settings is not None:
            # A failure after the start-up checks passed (the server went away, a disk filled up).
            return _fail(describe_failure(settings.database_url, exc))
        raise


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


__all__ = ["CommandError", "build_parser", "main"]
