"""Bring the schema up to date with Alembic (``orderchamp-auth migrate``, and every command at start).

Before touching anything, :func:`prepare_database` checks that the database can be reached and
is ours to migrate, and says in one line what is wrong when it is not: the commands are the
first thing a newcomer runs, and a driver traceback tells them nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from . import urls
from .database import normalize_database_url

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
CONNECT_TIMEOUT = 10  # seconds; an unreachable host must not leave a command hanging
ALLOW_FOREIGN_TABLES_HINT = "--allow-foreign-tables"


class DatabaseProblem(Exception):
    """The database cannot be used; the message names the URL (without its password) and why."""


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would read a "%" in a password as a directive.
    config.set_main_option("sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def is_database_failure(exc: BaseException) -> bool:
    """Whether ``exc`` came from the database (its driver or SQLAlchemy), for callers above the
    store that must tell it apart without importing SQLAlchemy."""
    return isinstance(exc, SQLAlchemyError)


def describe_failure(database_url: str, exc: BaseException) -> str:
    """One line: the URL without its password and the driver's cause, first line only."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    password = urls.password(database_url)
    if password:
        text = text.replace(password, "***")
    return f"cannot use the database {urls.redact(database_url)}: {text}"


def _check_sqlite_file(database_url: str, path: str) -> None:
    if path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    where = urls.redact(database_url)
    if not file.parent.is_dir():
        raise DatabaseProblem(f"cannot use the database {where}: the directory {file.parent} does not exist")
    try:
        # Create it now (an empty file is a new SQLite database), to learn the system's reason.
        os.close(os.open(file, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        raise DatabaseProblem(f"cannot use the database {where}: {exc.strerror} ({file})") from None


def _engine(database_url: str) -> Engine:
    url = normalize_database_url(database_url)
    args = {"connect_timeout": CONNECT_TIMEOUT} if url.startswith("postgresql") else {}
    return create_engine(url, connect_args=args)


# gen_random_uuid() is built in from 13 (webhook deliveries' ids are made by the database)
MIN_POSTGRESQL = 13


def _foreign_tables(engine: Engine) -> tuple[list[str], str | None]:
    """The tables present when there is no record of our migrations (even ones named like
    ours were made by something else), and that record."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            _check_server_version(conn.dialect.server_version_info)
        revision = MigrationContext.configure(conn).get_current_revision()
        tables = set() if revision else set(inspect(conn).get_table_names())
    return sorted(tables - {VERSION_TABLE}), revision


def _check_server_version(version: tuple[int | str, ...] | None) -> None:
    if version and isinstance(version[0], int) and version[0] < MIN_POSTGRESQL:
        shown = ".".join(str(part) for part in version)
        raise DatabaseProblem(f"PostgreSQL {shown} is too old: orderchamp-auth needs PostgreSQL {MIN_POSTGRESQL} "
                              "or newer")


def _known_revisions(database_url: str) -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(alembic_config(database_url)).walk_revisions()}


def prepare_database(database_url: str, *, allow_foreign_tables: bool = False) -> None:
    """Check that the database is reachable and ours, then bring its schema to the newest version.

    A database holding tables but no record of our migrations belongs to something else: we
    add our tables there only when told to (``--allow-foreign-tables``).
    """
    try:
        parsed = urls.parse(database_url)
    except ValueError as exc:
        raise DatabaseProblem(f"DATABASE_URL {exc}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        _check_sqlite_file(database_url, parsed.database)
    engine = _engine(database_url)
    try:
        foreign, revision = _foreign_tables(engine)
    except SQLAlchemyError as exc:
        raise DatabaseProblem(describe_failure(database_url, exc)) from None
    finally:
        engine.dispose()
    where = urls.redact(database_url)
    if foreign and not allow_foreign_tables:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise DatabaseProblem(
            f"the database {where} holds other tables ({shown}) and no record of orderchamp-auth's "
            "migrations; "
            f"point DATABASE_URL at an empty database, or pass {ALLOW_FOREIGN_TABLES_HINT} "
            "to serve, demo or migrate to add orderchamp-auth's tables next to them"
        )
    if revision is not None and revision not in _known_revisions(database_url):
        raise DatabaseProblem(
            f"the database {where} is at schema version {revision}, which this version of "
            "orderchamp-auth does not know (a newer release, or another application's migrations)"
        )
    try:
        upgrade_to_head(database_url)
    except SQLAlchemyError as exc:
        raise DatabaseProblem(describe_failure(database_url, exc)) from None

