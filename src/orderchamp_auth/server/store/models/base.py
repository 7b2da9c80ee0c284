"""The declarative base, the naming convention, the id type and the enums every table uses."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Integer,
    MetaData,
    Numeric,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..types import UTCDateTime, utcnow

# Named constraints so that Alembic migrations diff cleanly on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BigInteger ids that are still INTEGER PRIMARY KEY (rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


# Prices: exact decimals with two places.
Money = Numeric(12, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AccountType(str, enum.Enum):
    SUPPLIER = "SUPPLIER"
    RETAILER = "RETAILER"


class AppStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"


class TokenKindName(str, enum.Enum):
    PRIVATE = "private"
    APP = "app"


def _created() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)
