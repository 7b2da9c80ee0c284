"""Reading request bodies with limits: oversized or malformed input is a 4xx, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from ..errors import PlatformError

MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 200
# A form with a file: room for the 1 MB logo, multipart overhead and the text fields.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


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
        if not declared.isdigit():
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


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


async def read_multipart_form(
    request: Request, *, limit: int = MAX_UPLOAD_BYTES, too_large: str | None = None
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

    parser = MultiPartParser(
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
    return fields, files
