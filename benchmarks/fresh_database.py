"""The fresh database a benchmark runs on: a SQLite file in a temp dir, or, when ``DATABASE_URL``
names a PostgreSQL server, a database made there for the run (and dropped after), so that both
backends are measured the same way. Shared by the benchmark scripts."""

from __future__ import annotations

import secrets
import urllib.parse


class BenchDatabase:
    """A benchmark's database (see the module): ``url`` to use, ``drop()`` once done.
    ``server_url`` is ``DATABASE_URL``; SQLite's file goes in ``tmp``."""

    def __init__(self, tmp: str, server_url: str | None) -> None:
        self.admin_url: str | None = None
        self.name = ""
        if server_url and server_url.startswith(("postgresql://", "postgres://")):
            parts = urllib.parse.urlsplit(server_url)
            self.name = f"oc_bench_{secrets.token_hex(4)}"
            self.admin_url = server_url
            self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))
            self._admin(f'CREATE DATABASE "{self.name}"')
        else:
            self.url = f"sqlite:///{tmp}/bench.sqlite3"

    def _admin(self, statement: str) -> None:
        import psycopg  # the server's own driver, installed with it

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)

    def drop(self) -> None:
        if self.admin_url and self.name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.name = ""
