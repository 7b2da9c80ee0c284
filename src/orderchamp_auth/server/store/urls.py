"""Database URLs as the operator typed them: which kinds we serve, and how to show one safely."""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SCHEMES = ("sqlite", "postgresql", "postgres")
EXAMPLES = "sqlite:///path/to/file.sqlite3 or postgresql://user:password@host:5432/database"
_CREDENTIALS = re.compile(r"(://[^/@:]*):[^/]*@")


def redact(url: str) -> str:
    """The URL with its password replaced by ``***``, also when it does not parse (the text
    up to the last ``@`` of the host part, so an unescaped ``@`` in a password hides it too)."""
    return _CREDENTIALS.sub(r"\1:***@", url, count=1)


def parse(url: str) -> URL:
    """The parsed URL, or ``ValueError`` saying (in words, without the password) what is wrong."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"{redact(url)} is not a database URL (use {EXAMPLES})") from None
    except ValueError:
        raise ValueError(f"{redact(url)} has a port that is not a number") from None
    scheme = parsed.drivername.partition("+")[0]
    if scheme not in SCHEMES:
        raise ValueError(f"{redact(url)}: unknown database kind {scheme!r} (use {EXAMPLES})")
    if scheme == "sqlite" and not parsed.database:
        raise ValueError(f"{redact(url)} names no file (use sqlite:///path/to/file.sqlite3)")
    return parsed


def password(url: str) -> str | None:
    try:
        return make_url(url).password
    except (ArgumentError, ValueError):
        return None
