"""Rendering pages: one place that builds the response, its cookies and its headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...protocol.scopes import RESOURCE_DESCRIPTIONS, Scope, ScopeSet
from .sessions import FLASH_COOKIE, CurrentUser, LazyCsrfToken, attach_presession, delete_cookie, pop_flash

TEMPLATES = Path(__file__).with_name("templates")


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(all_scopes=list(Scope), resource_descriptions=RESOURCE_DESCRIPTIONS, ScopeSet=ScopeSet)
    env.filters["scopeset"] = lambda text: ScopeSet.parse(text)
    env.filters["datetime"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else "never"
    env.filters["date"] = lambda d: d.strftime("%d %b %Y").lstrip("0") if d else "never"
    env.filters["origin"] = _origin
    return env


def _origin(url: str) -> str:
    """The home of an app: its application URL without path or query (that URL starts installs)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    user: CurrentUser | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    platform = request.app.state.platform
    ctx: dict[str, Any] = {
        "request": request,
        "user": user,
        "csrf_token": LazyCsrfToken(request, user),
        "flash": pop_flash(request),
        "web_url": platform.settings.web_url,
    }
    ctx.update(context or {})
    html = platform.templates.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    attach_presession(request, response)
    if request.scope.get("oc_flash_consumed"):
        delete_cookie(platform, response, FLASH_COOKIE)
    return response


def redirect(url: str, status_code: int = 303) -> RedirectResponse:
    response = RedirectResponse(url, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(target, safe='')}", status_code=303)


def safe_next(target: str | None) -> str:
    """Only same-origin paths: ``/x`` but not ``//host`` or ``/\\host`` (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or target.startswith("/\\"):
        return "/backoffice"
    if any(ord(c) < 32 for c in target):
        return "/backoffice"
    return target
