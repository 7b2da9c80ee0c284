"""Keyset cursors: the bytes they have always had, and only those taken back."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from orderchamp_auth.server.api.cursors import CursorError, decode_cursor, encode_cursor

MOMENTS = [dt.datetime(2026, 1, 20, 10, 0, tzinfo=dt.UTC), dt.datetime(1, 1, 1, tzinfo=dt.UTC),
           dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
           dt.datetime(2026, 1, 20, 11, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("row_id", [1, 2**63 - 1])
def test_a_cursor_is_unpadded_urlsafe_base64_of_compact_json_and_round_trips(moment, row_id):
    cursor = encode_cursor([moment, row_id])
    utc = moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    expected = json.dumps([{"t": utc}, row_id], separators=(",", ":"))
    assert base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode() == expected
    assert "=" not in cursor
    assert decode_cursor(cursor, ("time", "id")) == [moment, row_id]


@pytest.mark.parametrize(("values", "kinds"), [
    ([2**31], ("int",)), ([-(2**31) - 1], ("int",)), ([2**63], ("big",)), ([0], ("id",)), ([2**63], ("id",)),
    ([True], ("id",)), ([1.0], ("id",)), (["1"], ("id",)), ([None], ("id",)), ([1, 2], ("id",)), ([], ("id",)),
])
def test_values_that_do_not_fit_their_column_are_refused(values, kinds):
    with pytest.raises(CursorError):
        decode_cursor(base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()
                      .rstrip("="), kinds)
