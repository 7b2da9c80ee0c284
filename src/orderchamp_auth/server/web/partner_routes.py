"""The partner dashboard: a partner's apps, their details, credentials, review and test installs.

Every page is under ``/partners/{partner_id}`` and only for that partner's members (see
``roles.partner_member``); apps are always looked up through their partner, so another
partner's client_id is simply not found.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...protocol.tokens import hash_secret
from ..errors import NotFoundError, ValidationError
from ..oauth.app_changes import EditResult, LogoChange
from ..oauth.apps import (
    SECRET_ROTATION_GRACE,
    create_app,
    rotate_client_secret,
    submit_for_review,
    update_app,
)
from ..oauth.installs import install_start_url
from ..store.database import utcnow
from ..store.models import App
from ..store.repositories.clients import PartnerRef
from ..store.transaction import Transaction
from . import paths  # noqa: F401 - registers the {name:id} and {name:client_id} path convertors
from .forms import Upload, every, first, read_form, read_multipart_form
from .logos import LOGO_CONTENT_TYPE, LogoError, normalize_logo
from .partner_changes_routes import change_context, form_start, load_partner_app
from .platform import platform_of
from .render import redirect, render
from .roles import partner_member, partner_user
from .sessions import CurrentUser, check_csrf, flash
from .units import in_read, in_write

LOGO_TOO_LARGE = "The upload is too large. A logo can be at most 1 MB: choose a smaller image and try again."
GRACE_HOURS = int(SECRET_ROTATION_GRACE.total_seconds() // 3600)


def _apps_url(partner: PartnerRef) -> str:
    return f"/partners/{partner.id}/apps"


def _app_url(partner: PartnerRef, client_id: str) -> str:
    return f"/partners/{partner.id}/apps/{client_id}"


async def _form(request: Request, user: CurrentUser) -> list[tuple[str, str]]:
    fields = await read_form(request)
    check_csrf(request, user, first(fields, "csrf_token"))
    return fields


@partner_user
async def partners_home(request: Request, user: CurrentUser) -> Response:
    if len(user.partner_ids) == 1:
        return redirect(f"/partners/{user.partner_ids[0]}/apps", status_code=302)
    return render(request, "partner/index.html", {"partners": user.partners}, user=user)


@partner_member
async def partner_root(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    return redirect(_apps_url(partner), status_code=302)


@partner_member
async def apps_list(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    platform = platform_of(request)

    def _load(db: Transaction) -> dict[str, Any]:
        apps = db.apps.list_for_partner(partner.id)
        return {
            "apps": apps,
            "logos": db.apps.ids_with_logo([a.id for a in apps]),
            "changes": db.app_changes.statuses_for([a.id for a in apps]),
            "demo_accounts": db.partners.demo_accounts_of(partner.id),
        }

    return render(request, "partner/apps.html", {"partner": partner, **await in_read(platform, _load)}, user=user)


# Creating and editing ---------------------------------------------------------------------


def _submitted_values(fields: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "name": first(fields, "name"),
        "description": first(fields, "description").replace("\r\n", "\n"),
        "application_url": first(fields, "application_url"),
        "redirect_uris": every(fields, "redirect_uri"),
    }


def _render_form(
    request: Request, user: CurrentUser, partner: PartnerRef, *, app: App | None, values: dict[str, Any],
    logo_url: str | None = None, errors: dict[str, str] | None = None, status_code: int = 200,
) -> Response:
    uris = [u for u in values["redirect_uris"] if u.strip()] or [""]
    return render(
        request, "partner/app_form.html",
        {"partner": partner, "app": app, "values": {**values, "redirect_uris": uris}, "logo_url": logo_url,
         "errors": errors or {}},
        user=user, status_code=status_code,
    )


def _prepare_logo(upload: Upload | None) -> tuple[bytes | None, dict[str, str]]:
    if upload is None:
        return None, {}
    try:
        return normalize_logo(upload.data), {}
    except LogoError as exc:
        return None, exc.fields


@partner_member
async def new_app(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    values = {"name": "", "description": "", "application_url": "", "redirect_uris": [""]}
    return _render_form(request, user, partner, app=None, values=values)


@partner_member
async def create_app_submit(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    platform = platform_of(request)
    fields, files = await read_multipart_form(request, too_large=LOGO_TOO_LARGE, multiline=("description",))
    check_csrf(request, user, first(fields, "csrf_token"))
    values = _submitted_values(fields)
    # The image work runs before the transaction: it holds no lock meanwhile.
    logo, logo_errors = await run_in_threadpool(_prepare_logo, files.get("logo"))

    def _create(db: Transaction) -> App:
        try:
            app, _secret = create_app(db, platform.client_secrets, partner_id=partner.id, **values)
        except ValidationError as exc:
            raise ValidationError(exc.message, fields={**exc.fields, **logo_errors}) from None
        if logo_errors:
            raise ValidationError("The app was not saved.", fields=logo_errors)  # rolls the app back
        if logo is not None:
            db.apps.set_logo(app.id, content_type=LOGO_CONTENT_TYPE, data=logo, now=utcnow())
        return app

    try:
        app = await in_write(platform, _create)
    except ValidationError as exc:
        errors = _with_logo_reminder(exc.fields, files)
        return _render_form(request, user, partner, app=None, values=values, errors=errors, status_code=400)
    response = redirect(_app_url(partner, app.client_id))
    flash(request, response, f"{app.name} was created as a draft. Test it on your demo account, then submit it for review.")
    return response


def _with_logo_reminder(errors: dict[str, str], files: dict[str, Upload]) -> dict[str, str]:
    # A browser cannot refill a file input, so say so when a good logo was sent with bad fields.
    if files.get("logo") is not None and "logo" not in errors:
        return {**errors, "logo": "The logo was fine, but nothing was saved: choose it again."}
    return errors


@partner_member
async def edit_app(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    platform = platform_of(request)
    client_id = request.path_params["client_id"]

    def _load(db: Transaction) -> tuple[App, dict[str, Any], str | None]:
        app = load_partner_app(db, partner, client_id)
        values, logo_url, _change = form_start(db, partner, app)
        return app, values, logo_url

    app, values, logo_url = await in_read(platform, _load)
    return _render_form(request, user, partner, app=app, values=values, logo_url=logo_url)


@partner_member
async def update_app_submit(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    platform = platform_of(request)
    client_id = request.path_params["client_id"]
    fields, files = await read_multipart_form(request, too_large=LOGO_TOO_LARGE, multiline=("description",))
    check_csrf(request, user, first(fields, "csrf_token"))
    values = _submitted_values(fields)
    remove_logo = first(fields, "remove_logo") == "1"
    logo, logo_errors = await run_in_threadpool(_prepare_logo, files.get("logo"))
    if logo_errors:  # checked with the fields, so that every problem is shown at once
        logo_change = LogoChange()
    else:
        logo_change = LogoChange(LOGO_CONTENT_TYPE if logo else None, logo, remove=remove_logo)

    def _update(db: Transaction) -> tuple[App, EditResult]:
        app = load_partner_app(db, partner, client_id)
        try:
            result = update_app(db, app, **values, logo=logo_change, user_id=user.user.id, now=utcnow())
        except ValidationError as exc:
            raise ValidationError(exc.message, fields={**exc.fields, **logo_errors}) from None
        if logo_errors:
            raise ValidationError("The app was not saved.", fields=logo_errors)  # rolls the edit back
        return app, result

    def _unchanged(db: Transaction) -> tuple[App, str | None]:
        app = load_partner_app(db, partner, client_id)
        return app, form_start(db, partner, app)[1]

    try:
        app, result = await in_write(platform, _update)
    except ValidationError as exc:
        # A refused form is shown over what is stored, read afresh: the failed transaction's
        # rollback expired what it had loaded.
        unchanged, logo_url = await in_read(platform, _unchanged)
        return _render_form(
            request, user, partner, app=unchanged, values=values, logo_url=logo_url,
            errors=_with_logo_reminder(exc.fields, files), status_code=400,
        )
    response = redirect(_app_url(partner, app.client_id))
    flash(request, response, _EDIT_MESSAGES[result].format(name=app.name))
    return response


_EDIT_MESSAGES = {
    EditResult.SAVED: "Your changes to {name} were saved.",
    EditResult.HELD_FOR_REVIEW: (
        "Your changes to {name} were submitted for review. Until Orderchamp support approves them, "
        "suppliers see and install the verified version."
    ),
    EditResult.MATCHES_LIVE: "Your edits match the verified version of {name}: nothing is waiting for review.",
}


# The app's page: status, credentials, test installs ---------------------------------------------


def _page_context(db: Transaction, user: CurrentUser, partner: PartnerRef, app: App) -> dict[str, Any]:
    now = utcnow()
    partners = db.partners
    previous_until = app.previous_secret_expires_at
    return {
        "partner": partner,
        "app": app,
        "has_logo": db.apps.has_logo(app.id),
        **change_context(db, partner, app),
        "demo_accounts": partners.demo_accounts_of(partner.id),
        "my_demo_ids": {a.id for a in partners.demo_accounts_of_user(partner.id, user.user.id)},
        "previous_until": previous_until if previous_until and previous_until > now else None,
        "grace_hours": GRACE_HOURS,
    }


@partner_member
async def app_page(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    client_id = request.path_params["client_id"]
    context = await in_read(platform_of(request),
                            lambda db: _page_context(db, user, partner, load_partner_app(db, partner, client_id)))
    return render(request, "partner/app.html", context, user=user)


@partner_member
async def reveal_secret(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    """The secret is shown only in answer to a POST, so it never sits in a cached or linked GET page."""
    platform = platform_of(request)
    await _form(request, user)
    client_id = request.path_params["client_id"]

    def _load(db: Transaction) -> dict[str, Any]:
        app = load_partner_app(db, partner, client_id)
        return {**_page_context(db, user, partner, app), "secret": platform.client_secrets.current_secret(app)}

    return render(request, "partner/app.html", await in_read(platform, _load), user=user)


@partner_member
async def rotate_secret(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    platform = platform_of(request)
    await _form(request, user)
    client_id = request.path_params["client_id"]

    def _rotate(db: Transaction) -> dict[str, Any]:
        app = load_partner_app(db, partner, client_id)
        secret = rotate_client_secret(platform.client_secrets, app, utcnow())
        return {**_page_context(db, user, partner, app), "secret": secret, "rotated": True}

    return render(request, "partner/app.html", await in_write(platform, _rotate), user=user)


@partner_member
async def expire_previous_secret(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    """End the rotation's grace period early, e.g. when the old secret may have leaked."""
    platform = platform_of(request)
    await _form(request, user)
    client_id = request.path_params["client_id"]

    def _expire(db: Transaction) -> bool:
        return platform.client_secrets.expire_previous(load_partner_app(db, partner, client_id), utcnow())

    expired = await in_write(platform, _expire)
    response = redirect(_app_url(partner, client_id))
    if expired:
        flash(request, response, "The previous client secret no longer works. Only the current one does.")
    else:
        flash(request, response, "There was no previous client secret still working: nothing changed.", "info")
    return response


@partner_member
async def submit_app(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    platform = platform_of(request)
    await _form(request, user)
    client_id = request.path_params["client_id"]

    def _submit(db: Transaction) -> str:
        app = load_partner_app(db, partner, client_id)
        submit_for_review(app, utcnow())
        return app.name

    name = await in_write(platform, _submit)
    response = redirect(_app_url(partner, client_id))
    flash(request, response, f"{name} was submitted for review. Orderchamp support will verify it or tell you what to change.")
    return response


@partner_member
async def test_install(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    """Start an install on one of the partner's demo accounts that this user belongs to."""
    platform = platform_of(request)
    fields = await _form(request, user)
    client_id = request.path_params["client_id"]
    chosen = first(fields, "account_id")

    def _start(db: Transaction) -> str:
        app = load_partner_app(db, partner, client_id)
        demo = next(
            (a for a in db.partners.demo_accounts_of_user(partner.id, user.user.id) if str(a.id) == chosen),
            None,
        )
        if demo is None:
            raise NotFoundError("Choose one of your partner's demo accounts that you are a user of.")
        # The consent page then preselects the demo account.
        db.sessions.set_account(hash_secret(user.session_id), demo.id)
        return install_start_url(
            db, platform.client_secrets, client_id=app.client_id, account_id=demo.id, now=utcnow()
        )

    return redirect(await in_write(platform, _start), status_code=303)


routes = [
    Route("/partners", partners_home, methods=["GET"]),
    Route("/partners/{partner_id:id}", partner_root, methods=["GET"]),
    Route("/partners/{partner_id:id}/apps", apps_list, methods=["GET"]),
    Route("/partners/{partner_id:id}/apps", create_app_submit, methods=["POST"]),
    Route("/partners/{partner_id:id}/apps/new", new_app, methods=["GET"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}", app_page, methods=["GET"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/edit", edit_app, methods=["GET"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/edit", update_app_submit, methods=["POST"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/secret", reveal_secret, methods=["POST"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/rotate-secret", rotate_secret, methods=["POST"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/expire-previous-secret", expire_previous_secret,
          methods=["POST"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/submit", submit_app, methods=["POST"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/test-install", test_install, methods=["POST"]),
]
