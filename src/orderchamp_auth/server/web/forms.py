"""Reading request input with limits: oversized or malformed input is a 4xx, never a 500.

Every form, JSON body and parsed query string passes through here, and its text is checked
before anything reaches the database: valid UTF-8 only, no lone surrogates (no driver can
encode them), no NUL (PostgreSQL refuses it in text) or other control characters (newlines
only in the fields a caller names as multi-line), and no value longer than a bound.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from ..errors import PlatformError

MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 200
# A form with a file: room for the 1 MB logo, multipart overhead and the text fields.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# Longer than any field a page or the OAuth endpoints accept (their own checks are tighter).
MAX_VALUE_CHARS = 16 * 1024

# Tab is allowed everywhere (a pasted value may hold one); CR and LF only in multi-line fields.
_NOT_SINGLE_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
_NOT_MULTI_LINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# A name safe to repeat in an error message (RFC 6749 error_description is printable ASCII).
_PLAIN_NAME = re.compile("[A-Za-z_][A-Za-z0-9_]{0,63}")
_ASCII_DIGITS = re.compile("[0-9]{1,18}")


class BodyError(PlatformError):
    status = 400
    title = "The request could not be read"


class BodyTooLargeError(BodyError):
    status = 413
    title = "The request is too large"


async def read_body(request: Request, limit: int = MAX_FORM_BYTES, too_large: str | None = None) -> bytes:
    too_large = too_large or f"The body is larger than {limit} bytes."
    declared = request.headers.get("content-length")
    if declared is not None:
        if not _ASCII_DIGITS.fullmatch(declared):
            raise BodyError("Content-Length is not a number.")
        if int(declared) > limit:
            raise BodyTooLargeError(too_large)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def _described(name: str) -> str:
    return name if _PLAIN_NAME.fullmatch(name) else "a field"


def _plainly_clean(strings: list[str], max_value: int) -> bool:
    """A fast accept for the common case (the token endpoint is hot); False means: look closer.

    ``str.isprintable`` is false for every character the patterns above refuse (and for some
    they allow, such as tab or no-break space), and runs in C: one call for all the strings.
    """
    joined = "".join(strings)
    return joined.isprintable() and (len(joined) <= max_value or max(map(len, strings)) <= max_value)


def check_text(
    pairs: list[tuple[str, str]], *, multiline: Collection[str] = (), max_value: int = MAX_VALUE_CHARS
) -> None:
    """Refuse a name or value that could not be stored or shown safely (see the module docstring)."""
    if _plainly_clean([text for pair in pairs for text in pair], max_value):
        return
    for name, value in pairs:
        if _NOT_SINGLE_LINE.search(name) or len(name) > max_value:
            raise BodyError("A field name is too long or holds characters that are not allowed.")
        if len(value) > max_value:
            raise BodyError(f"The value of {_described(name)} is too long.")
        unsafe = _NOT_MULTI_LINE if name in multiline else _NOT_SINGLE_LINE
        if unsafe.search(value):
            raise BodyError(f"The value of {_described(name)} holds control characters or is not valid UTF-8.")


def parse_urlencoded(
    body: bytes, *, multiline: Collection[str] = (), max_value: int = MAX_VALUE_CHARS
) -> list[tuple[str, str]]:
    try:
        # Strict twice over: raw bytes and percent-escapes must both be UTF-8 (no surrogates,
        # no overlong forms), where the default would quietly substitute U+FFFD.
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BodyError("The form is not valid UTF-8 application/x-www-form-urlencoded data.") from None
    check_text(pairs, multiline=multiline, max_value=max_value)
    return pairs


def parse_query_string(request: Request, *, limit: int, max_value: int = MAX_VALUE_CHARS) -> list[tuple[str, str]]:
    raw: bytes = request.scope.get("query_string", b"")
    if len(raw) > limit:
        raise BodyError("The address is too long.")
    return parse_urlencoded(raw, max_value=max_value)


class _RepeatedKeyError(Exception):
    """Not a ValueError, so that it is told apart from malformed JSON."""


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _RepeatedKeyError
    return value


def _repeats_a_key(body: bytes, data: dict[str, str | None], nulls: int) -> bool:
    """Whether the JSON text of ``data`` (a flat object of strings and ``nulls`` nulls) names a key twice.

    Without a backslash every quote delimits a string, so n string members and m null members
    make exactly 4n + 2m quotes, and a repeated member adds at least two. With escapes, the
    standard library's pairs hook counts (slower, and rare: PHP escapes "/" in URLs).
    """
    if b"\\" not in body:
        return body.count(b'"') != 4 * len(data) - 2 * nulls
    try:
        json.loads(body, object_pairs_hook=_object_without_repeats)
    except _RepeatedKeyError:
        return True
    return False


def parse_json_parameters(body: bytes, *, max_value: int) -> dict[str, str | None]:
    """A flat JSON object of strings, no key repeated; ``null`` counts as absent.

    orjson refuses invalid UTF-8 and lone surrogates (escaped or not) while parsing.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BodyError("The body is not valid JSON.") from None
    if type(data) is not dict:
        raise BodyError("The JSON body must be an object.")
    nulls = 0
    for name, value in data.items():
        if value is None:
            nulls += 1
        elif type(value) is not str:
            raise BodyError(f"{_described(name)} must be a string.")
    if _repeats_a_key(body, data, nulls):
        raise BodyError("A key of the JSON body is repeated.")
    strings = [*data, *data.values()] if not nulls else [*data, *(v for v in data.values() if v is not None)]
    if not _plainly_clean(strings, max_value):
        check_text([(name, value) for name, value in data.items() if value is not None], max_value=max_value)
    return data


def parse_parameters(body: bytes, content_type: str, *, max_value: int) -> dict[str, str | None]:
    """The parameters of an OAuth request: a flat JSON object of strings, or a form, none repeated."""
    if content_type == "application/json":
        return parse_json_parameters(body, max_value=max_value)
    if content_type in ("application/x-www-form-urlencoded", ""):
        pairs = parse_urlencoded(body, max_value=max_value)
        params: dict[str, str | None] = dict(pairs)
        if len(params) != len(pairs):
            names = [name for name, _ in pairs]
            repeated = sorted({_described(name) for name in names if names.count(name) > 1})
            raise BodyError(f"Parameters must not repeat: {', '.join(repeated)}.")
        return params
    raise BodyError("Send the request as application/json or application/x-www-form-urlencoded.")


async def read_form(request: Request, *, multiline: Collection[str] = ()) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BodyError("Forms must be sent as application/x-www-form-urlencoded.")
    return parse_urlencoded(await read_body(request), multiline=multiline)


def first(fields: list[tuple[str, str]], name: str, default: str = "") -> str:
    for key, value in fields:
        if key == name:
            return value
    return default


def every(fields: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in fields if key == name]


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


class _Utf8MultiPartParser(MultiPartParser):
    """Text parts must be UTF-8: Starlette would fall back to Latin-1 and keep mojibake."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            try:
                part.data.decode("utf-8")
            except UnicodeDecodeError:
                raise MultiPartException("a field is not valid UTF-8") from None
        super().on_part_end()


async def read_multipart_form(
    request: Request, *, limit: int = MAX_UPLOAD_BYTES, too_large: str | None = None,
    multiline: Collection[str] = (),
) -> tuple[list[tuple[str, str]], dict[str, Upload]]:
    """Text fields and uploaded files of a ``multipart/form-data`` form, read within ``limit``.

    The body is read (and bounded) first and only then parsed, so an oversized upload is
    refused before any of it reaches the parser or a temporary file.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise BodyError("This form must be sent as multipart/form-data.")
    body = await read_body(request, limit, too_large)

    async def whole() -> AsyncIterator[bytes]:
        yield body

    parser = _Utf8MultiPartParser(
        request.headers, whole(), max_files=4, max_fields=MAX_FIELDS, max_part_size=MAX_FORM_BYTES  # type: ignore[arg-type]
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BodyError(f"The form could not be read: {exc.message}") from None
    fields: list[tuple[str, str]] = []
    files: dict[str, Upload] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                # Browsers send an empty part, without a file name, for a file input left empty.
                if value.filename or data:
                    files[name] = Upload(value.filename or "", value.content_type or "", data)
            else:
                fields.append((name, value))
    finally:
        await form.close()
    check_text(fields, multiline=multiline)
    return fields, files
