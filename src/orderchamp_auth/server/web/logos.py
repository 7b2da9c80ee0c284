"""App logos: PNG, JPEG or WebP up to 1 MB, judged by their content, never by name or declared type.

Every accepted logo is decoded and re-encoded as a square PNG of at most 256x256 pixels, so
what the platform serves is an image it produced itself: no metadata, no polyglot files, no
SVG (which can carry scripts), and one predictable content type.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ValidationError

MAX_LOGO_BYTES = 1024 * 1024
LOGO_SIZE = 256
LOGO_CONTENT_TYPE = "image/png"
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
# A 1 MB file can declare a vast canvas (a decompression bomb): refuse before decoding.
MAX_PIXELS = 4096 * 4096

WRONG_TYPE = "The logo must be a PNG, JPEG or WebP image."


class LogoError(ValidationError):
    title = "The logo was not accepted"

    def __init__(self, message: str) -> None:
        super().__init__(message, fields={"logo": message})


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip().lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in data[:4096].lower()


def normalize_logo(data: bytes) -> bytes:
    """The re-encoded PNG, or ``LogoError`` saying what is wrong with the upload."""
    if not data:
        raise LogoError("The logo file is empty.")
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError(f"The logo is {len(data) // 1024} KB; it can be at most 1 MB (1024 KB).")
    if _looks_like_svg(data):
        raise LogoError(f"SVG logos are not accepted. {WRONG_TYPE}")
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise LogoError("The logo is too large in pixels: use at most 4096x4096.")
            probe.verify()
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            image.load()
            picture = ImageOps.exif_transpose(image).convert("RGBA")
    except LogoError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise LogoError(f"This file is not a PNG, JPEG or WebP image, or it is damaged. {WRONG_TYPE}") from None
    picture.thumbnail((LOGO_SIZE, LOGO_SIZE), Image.Resampling.LANCZOS)
    # Pad to a square on transparency so that every logo sits the same way in the pages.
    side = max(picture.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(picture, ((side - picture.width) // 2, (side - picture.height) // 2))
    out = io.BytesIO()
    square.save(out, "PNG", optimize=True)
    return out.getvalue()
