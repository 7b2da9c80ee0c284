"""Where an app keeps the token of each account that installed it.

The tokens are stored as given, not hashed: unlike the platform, which only has to recognise
a token, an app has to send it, so it must keep it usable. Protect the store accordingly
(file permissions, disk or column encryption) and never log what comes out of it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from orderchamp_auth.protocol.scopes import ScopeSet

from ._models import AccessToken


@dataclass(frozen=True)
class Installation:
    """An account that installed the app, with the token it granted."""

    account_id: str
    access_token: str = field(repr=False)
    scopes: ScopeSet
    token_type: str = "bearer"
    installed_at: float = 0.0

    @classmethod
    def from_token(
        cls, token: AccessToken, *, account_id: str, installed_at: float | None = None
    ) -> Installation:
        return cls(
            account_id=account_id,
            access_token=token.access_token,
            scopes=token.scopes,
            token_type=token.token_type,
            installed_at=time.time() if installed_at is None else installed_at,
        )


class TokenStore(Protocol):
    """One installation per account; saving again (a reinstall) replaces it."""

    def save(self, installation: Installation) -> None: ...

    def get(self, account_id: str) -> Installation | None: ...

    def delete(self, account_id: str) -> None: ...


class InMemoryTokenStore:
    """Tokens in a dict: for tests and demos; everything is lost when the process ends."""

    def __init__(self) -> None:
        self._installations: dict[str, Installation] = {}
        self._lock = threading.Lock()

    def save(self, installation: Installation) -> None:
        with self._lock:
            self._installations[installation.account_id] = installation

    def get(self, account_id: str) -> Installation | None:
        with self._lock:
            return self._installations.get(account_id)

    def delete(self, account_id: str) -> None:
        with self._lock:
            self._installations.pop(account_id, None)

    def __len__(self) -> int:
        return len(self._installations)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS orderchamp_installations (
    account_id   TEXT PRIMARY KEY,
    access_token TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    token_type   TEXT NOT NULL,
    installed_at REAL NOT NULL
)
"""


class SQLiteTokenStore:
    """Tokens in a SQLite file (standard library ``sqlite3``).

    A new file is created readable by its owner only. Tokens are stored in clear, because the
    app must send them; keep the file off shared disks and out of backups you do not trust.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        if self.path != ":memory:" and not Path(self.path).exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def save(self, installation: Installation) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO orderchamp_installations (account_id, access_token, scopes, token_type, installed_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (account_id) DO UPDATE SET access_token = excluded.access_token,"
                " scopes = excluded.scopes, token_type = excluded.token_type, installed_at = excluded.installed_at",
                (
                    installation.account_id,
                    installation.access_token,
                    installation.scopes.to_string(),
                    installation.token_type,
                    installation.installed_at,
                ),
            )

    def get(self, account_id: str) -> Installation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT account_id, access_token, scopes, token_type, installed_at"
                " FROM orderchamp_installations WHERE account_id = ?",
                (account_id,),
            ).fetchone()
        if row is None:
            return None
        return Installation(
            account_id=row[0],
            access_token=row[1],
            scopes=ScopeSet.parse(row[2]),
            token_type=row[3],
            installed_at=row[4],
        )

    def delete(self, account_id: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM orderchamp_installations WHERE account_id = ?", (account_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
