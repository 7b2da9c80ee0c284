"""Keyset cursors and times on the wire: opaque to clients, taken back only exactly as written.

A cursor is unpadded URL-safe base64 of a JSON list of a page's keyset values (a time as
``{"t": ISO 8601}``, integers as they are). The values go into a read's bound parameters, so
each must fit its column: a row id in 1..2**63 - 1, an integer in its column's range, a time
with an offset that stays in years 1 to 9999 once in UTC. A value outside them would fail in
the driver (SQLite's 64-bit integers, a naive or far time), with its text in the response.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

from ...protocol.global_ids import MAX_ROW_ID
from ...protocol.times import iso_utc  # how the API writes a time, in rows and cursors alike


class CursorError(ValueError):
    pass


MAX_CURSOR_LENGTH = 200  # a cursor holds at most a time and an id (~75 characters)
_INT_RANGES = {"id": (1, MAX_ROW_ID), "big": (-(2**63), 2**63 - 1), "int": (-(2**31), 2**31 - 1)}


def encode_cursor(values: Sequence[Any]) -> str:
    # The JSON is written by hand: json.dumps with separators builds an encoder per call, and
    # a page of edges encodes a cursor per row. The bytes are json.dumps's (a time is digits
    # and ``-:.TZ``, nothing to escape), so cursors keep working across the change.
    parts = []
    for value in values:
        if type(value) is int:
            parts.append(str(value))
        elif isinstance(value, dt.datetime):
            parts.append('{"t":"' + iso_utc(value) + '"}')
        else:
            parts.append(json.dumps(value))
    raw = "[" + ",".join(parts) + "]"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# ISO 8601's extended form with an offset; datetime.fromisoformat alone takes more (week dates,
# no offset, trailing NULs).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)", re.ASCII)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An ISO 8601 date-time with an explicit offset that both databases can store (years 1
    to 9999 once in UTC), as an aware UTC datetime; ``None`` for anything else."""
    if not isinstance(value, str) or len(value) > 64 or not _TIMESTAMP.fullmatch(value):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return None if moment.tzinfo is None else moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def decode_cursor(cursor: Any, kinds: Sequence[str]) -> list[Any]:
    """The keyset values of a cursor this server wrote, one per kind: ``"time"`` (a column of
    UTC times), ``"id"`` (a row id), ``"int"``/``"big"`` (a 32/64-bit integer column).

    Only what ``encode_cursor`` writes is taken (the values are encoded again and compared),
    and each value must fit its column, so no cursor can make a read fail in the driver."""
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_LENGTH or not cursor.isascii():
        raise CursorError("The cursor is not valid.")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("The cursor is not valid.") from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise CursorError("The cursor is not valid.")
    out: list[Any] = []
    for value, kind in zip(values, kinds, strict=True):
        if kind == "time":
            moment = parse_timestamp(value.get("t")) if isinstance(value, dict) else None
            if moment is None:
                raise CursorError("The cursor is not valid.")
            out.append(moment)
        else:
            low, high = _INT_RANGES[kind]
            if type(value) is not int or not low <= value <= high:
                raise CursorError("The cursor is not valid.")
            out.append(value)
    if encode_cursor(out) != cursor:
        raise CursorError("The cursor is not valid.")
    return out


def decode_id_cursor(cursor: Any) -> int:
    """The row id of a cursor of an id-ordered list (``CursorError`` if it is not one)."""
    (row_id,) = decode_cursor(cursor, ("id",))
    return row_id  # type: ignore[no-any-return]
