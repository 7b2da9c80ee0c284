"""Bring the schema up to date with Alembic (``orderchamp-auth migrate``, and ``serve`` at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .database import normalize_database_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would read a "%" in a password as a directive.
    config.set_main_option("sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
