"""Test helpers: holding what the server's writes need, from outside the server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from orderchamp_auth.protocol.tokens import hash_secret


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


@contextmanager
def held_lock(database_url: str, *, account_id: int, code: str | None = None) -> Iterator[None]:
    """Hold what the server's writes for this account need, until the block ends."""
    if is_sqlite(database_url):
        conn = sqlite3.connect(make_url(database_url).database, isolation_level=None, timeout=0)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import psycopg

    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        # The account row: a new product's foreign key needs it; the installation: the
        # consent answer updates it and a new token's foreign key needs it; the tokens: their
        # last use is recorded; the code: the claim.
        conn.execute("SELECT id FROM accounts WHERE id = %s FOR UPDATE", (account_id,))
        conn.execute("SELECT id FROM installations WHERE account_id = %s FOR UPDATE", (account_id,))
        conn.execute("SELECT id FROM access_tokens WHERE account_id = %s FOR UPDATE", (account_id,))
        if code is not None:
            conn.execute("SELECT id FROM authorization_codes WHERE code_hash = %s FOR UPDATE", (hash_secret(code),))
        try:
            yield
        finally:
            conn.rollback()


def write_lock_is_held(database_url: str) -> bool:
    """SQLite: whether someone holds the database's write lock now."""
    probe = sqlite3.connect(make_url(database_url).database, isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()
