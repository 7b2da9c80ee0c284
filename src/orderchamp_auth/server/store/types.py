"""Column types and the clock shared by models, repositories and the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on both backends (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, ``process_bind_param`` and SQLite's DATETIME text in one step (the same
        text: a test compares them): the token endpoint's write binds its clock reading three
        times while it holds the write lock, and the two SQLAlchemy steps cost more than the
        statement's own parameters."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_utc_text

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# The last value ``_sqlite_utc_text`` turned into text, with its text: a unit of work binds one
# clock reading (``utcnow``) in several statements. One entry, replaced as a whole.
_last_text: tuple[dt.datetime | None, str | None] = (None, None)


def _sqlite_utc_text(value: dt.datetime | None) -> str | None:
    global _last_text
    if value is None:
        return None
    last, text = _last_text
    if value is last:
        return text
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    utc = value.astimezone(dt.UTC)
    # SQLAlchemy's format for SQLite's DATETIME
    text = (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
            f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}")
    _last_text = (value, text)  # the value given (not its UTC copy): what the next call is compared with
    return text
