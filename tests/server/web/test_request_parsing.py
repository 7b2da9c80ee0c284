"""The request parsing layer in process: the JSON fast path agrees with a plain reference."""

from __future__ import annotations

import json
import random
import re

import pytest

from orderchamp_auth.server.web.forms import BodyError, check_text, parse_json_parameters, parse_urlencoded
from orderchamp_auth.server.web.paths import INT64_MAX, IdConvertor

FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")


def reference(body: bytes) -> dict | None:
    """What parse_json_parameters must answer, computed the slow and obvious way (None: refused)."""
    def no_repeats(pairs):
        if len({k for k, _ in pairs}) != len(pairs):
            raise KeyError
        return dict(pairs)

    try:
        data = json.loads(body.decode("utf-8"), object_pairs_hook=no_repeats)
    except (KeyError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    for name, value in data.items():
        if FORBIDDEN.search(name) or len(name) > 4096:
            return None
        if value is None:
            continue
        if not isinstance(value, str) or FORBIDDEN.search(value) or len(value) > 4096:
            return None
    return data


def ours(body: bytes) -> dict | None:
    try:
        return parse_json_parameters(body, max_value=4096)
    except BodyError:
        return None


TRICKY = [
    b'{"code": "a", "code": "b"}',
    b'{"code": null, "code": "b"}',
    b'{"code": "a", "code": null}',
    b'{"code": {"x": "y"}, "code": "b"}',
    b'{"code": ["a", "b"], "code": "b"}',
    b'{"code": "a\\"", "code": "b"}',
    b'{"code": "a\\\\", "code": "b"}',
    b'{"code": "a\\\\", "x": "b"}',
    b'{"redirect_uri": "https:\\/\\/a.example\\/cb", "redirect_uri": "x"}',
    b'{"redirect_uri": "https:\\/\\/a.example\\/cb", "code": "x"}',
    b'{"co\\u0064e": "a", "code": "b"}',
    b'{"a": "\\"", "b": "\\""}',
    b'{"a": "\\ud800"}',
    b'{"a": "\\ud83d\\ude00"}',
    b'{"a": "\\u0000"}',
    b'{"a": "\xed\xa0\x80"}',
    b'{"a": "\xc0\xaf"}',
    b'{"a": "tab\\there"}',
    b'{"a": "\\u00a0\\u202e"}',
    b'{}',
    b'{"": ""}',
    b'{"": "", "": ""}',
    b'[]',
    b'"x"',
    b'{"a": 1e400}',
    b'{"a": NaN}',
]


@pytest.mark.parametrize("body", TRICKY)
def test_tricky_json_bodies_are_judged_like_the_reference(body):
    assert ours(body) == reference(body)


def test_generated_flat_json_bodies_with_repeats_and_escapes_are_judged_like_the_reference():
    rng = random.Random(20261201)
    pieces = ["a", "code", '"', "\\", "/", "\u00e9", "\ud800", "\x00", "\t", "\n", " ", "x" * 5]
    for _ in range(3000):
        members = []
        for _ in range(rng.randint(0, 5)):
            key = rng.choice(["code", "client_id", "a", "", "co\\u0064e"])
            kind = rng.random()
            if kind < 0.1:
                value = "null"
            elif kind < 0.15:
                value = rng.choice(["1", "true", "[]", '{"x": "y"}'])
            else:
                text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
                value = json.dumps(text, ensure_ascii=rng.random() < 0.5)
                if rng.random() < 0.3:
                    value = value.replace("/", "\\/")
            members.append(f'"{key}": {value}')
        body = ("{" + ", ".join(members) + "}").encode("utf-8", "surrogatepass")
        assert ours(body) == reference(body), body


@pytest.mark.parametrize(
    "raw", [b"a=%ED%A0%80", b"a=%FF", b"a=%C0%AF", b"a=%E0%80%AF", b"a=\xed\xa0\x80", b"a=%00", b"%00=a", b"a=%0D"]
)
def test_form_text_that_is_not_clean_utf8_is_refused(raw):
    with pytest.raises(BodyError):
        parse_urlencoded(raw)


def test_multi_line_fields_keep_newlines_and_tabs_but_not_other_controls():
    assert parse_urlencoded(b"d=a%0D%0Ab%09c", multiline=("d",)) == [("d", "a\r\nb\tc")]
    with pytest.raises(BodyError):
        parse_urlencoded(b"d=a%0Ab")
    with pytest.raises(BodyError):
        parse_urlencoded(b"d=a%0Bb", multiline=("d",))
    check_text([("name", "caf\u00e9\u00a0\t")])  # no-break space and tab are text


def test_the_id_convertor_matches_exactly_the_decimal_int64_values_without_leading_zeros():
    pattern = re.compile(IdConvertor.regex)
    rng = random.Random(7)
    samples = ["0", "00", "01", str(INT64_MAX), str(INT64_MAX + 1), "9" * 19, "1" + "0" * 18, "1" * 20,
               "\u00b2", "\u0661\u0662", "-1", "+1", "1 "]
    for _ in range(5000):
        samples.append(str(rng.randint(0, 10 ** rng.randint(1, 21))))
        samples.append(str(INT64_MAX + rng.randint(-(10 ** rng.randint(0, 18)), 10 ** rng.randint(0, 18))))
    for text in samples:
        expected = (text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")
                    and int(text) <= INT64_MAX)
        assert bool(pattern.fullmatch(text)) == expected, text
