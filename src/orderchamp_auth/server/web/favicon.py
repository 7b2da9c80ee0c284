"""``/favicon.ico``: browsers ask for it at the root whatever a page links (and so do feed readers
and bookmarks), so it answers with the icon rather than a 404 page."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

ICON = Path(__file__).parent / "static" / "favicon.ico"


async def favicon(_request: Request) -> Response:
    return FileResponse(ICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})


routes = [Route("/favicon.ico", favicon, methods=["GET"])]
