"""The partner's side of a verified app's change request: what the app page and the edit form
show of it, withdrawing it, and its proposed logo (the live logo URL keeps serving the live one).

Saving the edit form of a verified app submits the request (``partner_routes.update_app_submit``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import NotFoundError
from ..oauth.app_changes import summarize_request, withdraw_changes
from ..store.models import App, AppChangeRequest
from ..store.repositories.clients import PartnerRef
from ..store.transaction import Transaction
from . import paths  # noqa: F401 - registers the {name:id} and {name:client_id} path convertors
from .forms import first, read_form
from .platform import platform_of
from .render import redirect
from .roles import partner_member
from .sessions import CurrentUser, check_csrf, flash
from .units import in_read, in_write


def changes_logo_url(partner: PartnerRef, app: App) -> str:
    return f"/partners/{partner.id}/apps/{app.client_id}/changes/logo"


def change_context(db: Transaction, partner: PartnerRef, app: App) -> dict[str, Any]:
    """The app page's view of the change request: the request and its differences from live."""
    change = db.app_changes.get_for_app(app.id)
    if change is None:
        return {"change": None}
    return {"change": change, "summary": summarize_request(app, change), "change_logo_url": changes_logo_url(partner, app)}


def form_start(db: Transaction, partner: PartnerRef, app: App) -> tuple[dict[str, Any], str | None, AppChangeRequest | None]:
    """What the edit form starts from: a waiting (or rejected) change request, else the live app;
    and the URL of the logo it shows, if any."""
    change = db.app_changes.get_for_app(app.id)
    source: App | AppChangeRequest = change or app
    values = {
        "name": source.name, "description": source.description, "application_url": source.application_url,
        "redirect_uris": list(change.redirect_urls) if change else [r.url for r in app.redirect_uris],
    }
    live_logo = f"/apps/{app.client_id}/logo" if db.apps.has_logo(app.id) else None
    if change is None:
        return values, live_logo, None
    if change.logo_content_type is not None:
        return values, changes_logo_url(partner, app), change
    return values, None if change.removes_logo else live_logo, change


def load_partner_app(db: Transaction, partner: PartnerRef, client_id: str) -> App:
    """One of the partner's apps, or 404: another partner's client_id is simply not found."""
    app = db.apps.get_for_partner(partner.id, client_id)
    if app is None:
        raise NotFoundError("There is no such app in your dashboard.")
    return app


@partner_member
async def withdraw(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    platform = platform_of(request)
    fields = await read_form(request)
    check_csrf(request, user, first(fields, "csrf_token"))
    client_id = request.path_params["client_id"]

    def _withdraw(db: Transaction) -> str:
        app = load_partner_app(db, partner, client_id)
        withdraw_changes(db, app)
        return app.name

    name = await in_write(platform, _withdraw)
    response = redirect(f"/partners/{partner.id}/apps/{client_id}")
    flash(request, response, f"Your changes to {name} were withdrawn. The verified version stays as it is.")
    return response


@partner_member
async def proposed_logo(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    platform = platform_of(request)
    client_id = request.path_params["client_id"]

    found = await in_read(platform, lambda db: db.app_changes.proposed_logo(load_partner_app(db, partner, client_id).id))
    if found is None:
        raise NotFoundError("These changes propose no new logo.")
    return Response(found[1], media_type=found[0], headers={"Cache-Control": "private, no-store"})


routes = [
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/changes/withdraw", withdraw, methods=["POST"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/changes/logo", proposed_logo, methods=["GET"]),
]
