"""Support's review of a verified app's change request: the differences from the live app,
approving (applied to the live app in the same transaction) and rejecting with a reason.

Only for support staff; the forms carry the fingerprint of the request shown, so a request the
partner replaced meanwhile is never decided unseen.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import NotFoundError, ValidationError
from ..oauth.app_changes import approve_changes, change_fingerprint, reject_changes, summarize_request
from ..store.database import utcnow
from ..store.transaction import Transaction
from . import paths  # noqa: F401 - registers the {name:id} and {name:client_id} path convertors
from .forms import first, read_form
from .platform import platform_of
from .render import redirect, render
from .roles import support_user
from .sessions import CurrentUser, check_csrf, flash
from .units import in_read, in_write


def _changes_url(client_id: str) -> str:
    return f"/support/apps/{client_id}/changes"


def _context(db: Transaction, client_id: str) -> dict[str, Any]:
    app = db.apps.get_by_client_id(client_id)
    change = db.app_changes.get_with_logo(app.id) if app is not None else None
    if app is None or change is None:
        raise NotFoundError("This app has no changes waiting for review.")
    return {
        "app": app, "change": change, "summary": summarize_request(app, change),
        "reviewed": change_fingerprint(change), "has_logo": db.apps.has_logo(app.id),
        "change_logo_url": f"{_changes_url(client_id)}/logo",
    }


async def _render(request: Request, user: CurrentUser, extra: dict[str, Any] | None = None,
                  status_code: int = 200) -> Response:
    client_id = request.path_params["client_id"]
    context = await in_read(platform_of(request), lambda db: _context(db, client_id))
    context.update(extra or {})
    return render(request, "support/changes.html", context, user=user, status_code=status_code)


@support_user
async def review_changes(request: Request, user: CurrentUser) -> Response:
    return await _render(request, user)


def _decide_changes(db: Transaction, client_id: str, fields: list[tuple[str, str]], approve: bool) -> str:
    """Returns the app's name as support knew it (an approval may change it)."""
    app = db.apps.get_by_client_id(client_id)
    if app is None:
        raise NotFoundError("There is no app with this client_id.")
    name, reviewed = app.name, first(fields, "reviewed")
    if approve:
        approve_changes(db, app, reviewed=reviewed, now=utcnow())
    else:
        reason = first(fields, "reason").replace("\r\n", "\n")
        reject_changes(db, app, reviewed=reviewed, reason=reason, now=utcnow())
    return name


async def _decide(request: Request, user: CurrentUser, *, approve: bool) -> Response:
    platform = platform_of(request)
    fields = await read_form(request)
    check_csrf(request, user, first(fields, "csrf_token"))
    client_id = request.path_params["client_id"]
    try:
        name = await in_write(platform, lambda db: _decide_changes(db, client_id, fields, approve))
    except ValidationError as exc:
        if not exc.fields:
            raise
        extra = {"errors": exc.fields, "reason": first(fields, "reason")}
        return await _render(request, user, extra, status_code=400)
    response = redirect("/support/review")
    if approve:
        flash(request, response, f"The changes to {name} are approved and live.")
    else:
        flash(request, response, f"The changes to {name} were rejected. The verified version stays live; "
                                 "the partner sees your reason on the app's page.")
    return response


@support_user
async def approve(request: Request, user: CurrentUser) -> Response:
    return await _decide(request, user, approve=True)


@support_user
async def reject(request: Request, user: CurrentUser) -> Response:
    return await _decide(request, user, approve=False)


@support_user
async def proposed_logo(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    client_id = request.path_params["client_id"]

    def _load(db: Transaction) -> tuple[str, bytes] | None:
        app = db.apps.get_by_client_id(client_id)
        return db.app_changes.proposed_logo(app.id) if app is not None else None

    found = await in_read(platform, _load)
    if found is None:
        raise NotFoundError("These changes propose no new logo.")
    return Response(found[1], media_type=found[0], headers={"Cache-Control": "private, no-store"})


routes = [
    Route("/support/apps/{client_id:client_id}/changes", review_changes, methods=["GET"]),
    Route("/support/apps/{client_id:client_id}/changes/approve", approve, methods=["POST"]),
    Route("/support/apps/{client_id:client_id}/changes/reject", reject, methods=["POST"]),
    Route("/support/apps/{client_id:client_id}/changes/logo", proposed_logo, methods=["GET"]),
]
