"""What every command shares: registering it, opening the platform, printing its result."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from ..errors import ValidationError
from ..settings import Settings
from .options import HelpFormatter

Handler = Callable[[argparse.Namespace, Settings], int]

# The command line's names for the fields that validation errors name.
OPTION_OF_FIELD = {
    "application_url": "--application-url", "redirect_uris": "--redirect-url", "email": "--user-email",
    "password": "--user-password", "scopes": "--scopes", "description": "--description",
    "products": "--products",
}


class CommandError(Exception):
    """A one-line error for the user; exit status 2."""


class Commands:
    """The parser's commands, and groups of them (``account create``)."""

    def __init__(self, subparsers: Any) -> None:
        self._subparsers = subparsers

    def add(self, name: str, description: str, handler: Handler) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = self._subparsers.add_parser(
            name, help=description, description=description, formatter_class=HelpFormatter)
        made.set_defaults(handler=handler)
        return made

    def group(self, name: str, description: str) -> Commands:
        parser = self._subparsers.add_parser(name, help=description, description=description)
        return Commands(parser.add_subparsers(dest="action", required=True, metavar="ACTION"))


def json_option(made: argparse.ArgumentParser) -> None:
    made.add_argument("--json", action="store_true", help="print the result as one JSON object")


def foreign_tables_option(made: argparse.ArgumentParser) -> None:
    made.add_argument("--allow-foreign-tables", action="store_true",
                      help="add orderchamp-auth's tables to a database that already holds other tables")


def open_platform(settings: Settings, args: argparse.Namespace) -> Any:
    """The platform, on a database whose schema is up to date."""
    from ..app import build_platform
    from ..store.migrate import prepare_database

    prepare_database(settings.database_url, allow_foreign_tables=getattr(args, "allow_foreign_tables", False))
    return build_platform(settings)


def emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload))
    else:
        print(text)


def describe_validation_error(exc: ValidationError) -> str:
    """The message and what is wrong with each field, as sentences on one line."""
    parts = [_sentence(exc.message)]
    for field, problem in exc.fields.items():
        parts.append(f"{OPTION_OF_FIELD.get(field, '--' + field.replace('_', '-'))}: {_sentence(problem)}")
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."
