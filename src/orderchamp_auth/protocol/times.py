"""How a time is written on the wire (API rows, cursors, webhook headers and payloads)."""

from __future__ import annotations

import datetime as dt


def iso_utc(value: dt.datetime) -> str:
    """UTC, with ``Z``; a naive time is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
