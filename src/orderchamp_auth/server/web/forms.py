"""Reading request bodies with limits: oversized or malformed input is a 4xx, never a 500."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from ..errors import PlatformError

MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 200


class BodyError(PlatformError):
    status = 400
    title = "The request could not be read"


class BodyTooLargeError(BodyError):
    status = 413
    title = "The request is too large"


async def read_body(request: Request, limit: int = MAX_FORM_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BodyError("Content-Length is not a number.")
        if int(declared) > limit:
            raise BodyTooLargeError(f"The body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"The body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_urlencoded(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise BodyError("The form is not valid UTF-8 application/x-www-form-urlencoded data.") from None


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise BodyError("The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise BodyError("The JSON body must be an object.")
    return value


async def read_form(request: Request) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BodyError("Forms must be sent as application/x-www-form-urlencoded.")
    return parse_urlencoded(await read_body(request))


def first(fields: list[tuple[str, str]], name: str, default: str = "") -> str:
    for key, value in fields:
        if key == name:
            return value
    return default


def every(fields: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in fields if key == name]
