"""Generated input: hostile text, numbers and ids, JSON and form bodies that keep what was sent.

Bodies are built as raw bytes so that what no well-behaved client sends still reaches the
server: lone surrogates (escaped in JSON, raw in forms), NUL, repeated keys, wrong types.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)

ODD_STRINGS = [
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "x\udc80y", "²", "١٢", "𝟙𝟚", "٣", "0", "-1", "+1", "1e3",
    "01", "1.5", " 7", "9" * 20, "9223372036854775807", "9223372036854775808", "-9223372036854775809",
    "99999999999999999999999", "0x1f", "null", "true", "[]", "{}", "%00", "%ZZ", "%", "..", "../..", "//evil.example",
    "/\\evil.example", "https://evil.example/callback", "javascript:alert(1)", "<script>alert(1)</script>",
    "' OR '1'='1", "\"; DROP TABLE users; --", "\u202e", "\ufeff", "\r\n", "a" * 300, "é" * 100,
]

# The hand-picked strings are drawn as often as generated text: they are where bugs were.
hostile_text = st.one_of(
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=30),
    st.sampled_from(ODD_STRINGS),
    st.text(st.one_of(st.characters(), SURROGATES), max_size=12),
    st.builds(lambda ch, n: ch * n, st.sampled_from(["x", "\x00", "é", "😀", "9"]), st.sampled_from([2000, 70_000])),
)

big_ints = st.one_of(
    st.integers(min_value=-3, max_value=60),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]),
    st.integers(),
)

json_scalars = st.one_of(st.none(), st.booleans(), big_ints, st.floats(allow_nan=False), hostile_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8,
)


def path_ids(real: list[Any]) -> st.SearchStrategy[str]:
    """Path segments where an integer id belongs: real ids, near misses and odd strings."""
    return st.one_of(
        st.sampled_from([str(r) for r in real]) if real else st.nothing(),
        big_ints.map(str),
        st.sampled_from(["²", "١٢", "𝟙", "1²", "0", "-0", "00000000000000000001", "1e3", " 1", "1 ", "+1",
                         "99999999999999999999999", "9223372036854775808", "%00", "abc", "1.0"]),
    )


def json_body(pairs: list[tuple[str, Any]], *, ascii_only: bool = True) -> bytes:
    """A JSON object written by hand, so keys may repeat and surrogates reach the server."""
    text = "{" + ",".join(f"{json.dumps(k, ensure_ascii=ascii_only)}:{json.dumps(v, ensure_ascii=ascii_only)}"
                          for k, v in pairs) + "}"
    return text.encode("utf-8", "surrogatepass")


def form_body(pairs: list[tuple[str, str]]) -> bytes:
    """application/x-www-form-urlencoded, with lone surrogates encoded as their raw bytes."""
    def enc(value: str) -> str:
        return quote(value.encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs).encode("ascii")


def basic_header(client_id: str, secret: str, *, encode: bool = True) -> bytes:
    def enc(value: str) -> str:
        return quote(value.encode("utf-8", "surrogatepass"), safe="") if encode else value

    raw = f"{enc(client_id)}:{enc(secret)}".encode("utf-8", "surrogatepass")
    return b"Basic " + base64.b64encode(raw)


def cursor(values: list[Any]) -> str:
    """A cursor in the server's format (base64url JSON list) with chosen, often hostile, values."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


HOSTILE_CURSORS = [
    cursor([10**30]), cursor([2**63]), cursor([-1]), cursor(["x"]), cursor([1.5]), cursor([True]), cursor([None]),
    cursor(["2026-01-05T09:00:00", 5]), cursor(["0001-01-01T00:00:00+14:00", 1]), cursor(["9999-12-31T23:59:59-14:00", 1]),
    cursor(["2026-01-05T09:00:00+00:00", 10**30]), cursor([1, 2, 3]), cursor([]), cursor({"a": 1}), cursor("x"),
    cursor(["٣"]), cursor([[1]]), "!!!", "", "=" * 5, base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]
