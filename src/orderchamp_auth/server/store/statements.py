"""Statements built once and reused with new parameters.

Constructing a SQLAlchemy statement costs more than running a primary-key lookup on SQLite,
so the hot paths (token endpoint, API) keep theirs, with every value a bound parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

_CACHE: dict[Hashable, Any] = {}


def prepared(key: Hashable, build: Callable[[], Any]) -> Any:
    statement = _CACHE.get(key)
    if statement is None:
        statement = _CACHE[key] = build()
    return statement
