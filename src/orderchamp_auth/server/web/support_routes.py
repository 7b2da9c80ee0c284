"""Support pages: the review queue, partners (members and demo accounts) and the accounts list.

Only for support staff (``roles.support_user``); everything else answers 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..admin import check_email
from ..errors import NotFoundError, ValidationError
from ..oauth.app_changes import review_fingerprint
from ..oauth.apps import reject_app, verify_app
from ..oauth.revocation import unlink_and_uninstall
from ..store.database import utcnow
from ..store.models import App, AppStatus, Partner, User
from ..store.repositories.apps import PartnerRepository
from ..store.transaction import Transaction
from . import paths  # noqa: F401 - registers the {name:id} and {name:client_id} path convertors
from .forms import first, read_form
from .platform import Platform, platform_of
from .render import redirect, render
from .roles import support_user
from .sessions import CurrentUser, check_csrf, flash
from .units import in_read, in_write

MAX_PARTNER_NAME = 200


async def _form(request: Request, user: CurrentUser, *, multiline: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    fields = await read_form(request, multiline=multiline)
    check_csrf(request, user, first(fields, "csrf_token"))
    return fields


@support_user
async def support_home(request: Request, user: CurrentUser) -> Response:
    return redirect("/support/review", status_code=302)


# Review ---------------------------------------------------------------------------------------


@support_user
async def review_queue(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)

    def _load(db: Transaction) -> dict[str, Any]:
        apps = db.apps
        queue = apps.list_by_status(AppStatus.SUBMITTED)
        changes = db.app_changes.list_submitted()  # edits of verified apps
        logos = apps.ids_with_logo([a.id for a in queue] + [c.app_id for c in changes])
        return {"queue": queue, "changes": changes, "logos": logos}

    return render(request, "support/review.html", await in_read(platform, _load), user=user)


def _review_context(db: Transaction, client_id: str) -> dict[str, Any]:
    app = db.apps.get_by_client_id(client_id)
    if app is None:
        raise NotFoundError("There is no app with this client_id.")
    return {"app": app, "has_logo": db.apps.has_logo(app.id), "reviewed": review_fingerprint(db, app),
            "change": db.app_changes.get_for_app(app.id)}


async def _render_review(
    request: Request, user: CurrentUser, extra: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    client_id = request.path_params["client_id"]
    context = await in_read(platform_of(request), lambda db: _review_context(db, client_id))
    context.update(extra or {})
    return render(request, "support/app.html", context, user=user, status_code=status_code)


@support_user
async def review_app(request: Request, user: CurrentUser) -> Response:
    return await _render_review(request, user)


async def _decide(platform: Platform, client_id: str, decide: Callable[[Transaction, App, dt.datetime], None]) -> App:
    def _apply(db: Transaction) -> App:
        app = db.apps.get_by_client_id(client_id)
        if app is None:
            raise NotFoundError("There is no app with this client_id.")
        decide(db, app, utcnow())
        return app

    return await in_write(platform, _apply)


@support_user
async def verify(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    reviewed = first(await _form(request, user), "reviewed")
    app = await _decide(
        platform, request.path_params["client_id"],
        lambda db, a, now: verify_app(db, a, reviewed=reviewed, now=now),
    )
    response = redirect("/support/review")
    flash(request, response, f"{app.name} is verified: every account can install it now.")
    return response


@support_user
async def reject(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    fields = await _form(request, user, multiline=("reason",))
    reason = first(fields, "reason").replace("\r\n", "\n")
    try:
        app = await _decide(
            platform, request.path_params["client_id"], lambda _db, a, now: reject_app(a, reason, now)
        )
    except ValidationError as exc:
        if not exc.fields:
            raise
        return await _render_review(request, user, {"errors": exc.fields, "reason": reason}, status_code=400)
    response = redirect("/support/review")
    flash(request, response, f"{app.name} was rejected. The partner sees your reason on the app's page.")
    return response


# Partners ---------------------------------------------------------------------------------


async def _render_partners(
    request: Request, user: CurrentUser, extra: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    platform = platform_of(request)

    def _load(db: Transaction) -> dict[str, Any]:
        partners = db.partners
        return {"partners": partners.list_all(), "counts": partners.counts()}

    context = await in_read(platform, _load)
    context.update(extra or {})
    return render(request, "support/partners.html", context, user=user, status_code=status_code)


@support_user
async def partners_page(request: Request, user: CurrentUser) -> Response:
    return await _render_partners(request, user)


@support_user
async def create_partner(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    fields = await _form(request, user)
    name = " ".join(first(fields, "name").split())

    def _create(db: Transaction) -> Partner:
        partners = db.partners
        if partners.get_by_name(name) is not None:
            raise ValidationError("The partner was not created.", fields={"name": "A partner with this name exists."})
        return partners.create(name)

    try:
        if not name:
            raise ValidationError("The partner was not created.", fields={"name": "Give the partner a name."})
        if len(name) > MAX_PARTNER_NAME:
            raise ValidationError(
                "The partner was not created.", fields={"name": f"At most {MAX_PARTNER_NAME} characters."}
            )
        partner = await in_write(platform, _create)
    except ValidationError as exc:
        return await _render_partners(request, user, {"errors": exc.fields, "name": name}, status_code=400)
    response = redirect(f"/support/partners/{partner.id}")
    flash(request, response, f"Partner {partner.name} was created. Add its team members and link a demo account.")
    return response


def _partner_context(db: Transaction, partner_id: int) -> dict[str, Any]:
    partners = db.partners
    partner = partners.get(partner_id)
    if partner is None:
        raise NotFoundError("There is no such partner.")
    return {
        "partner": partner,
        "members": partners.members_of(partner_id),
        "demo_accounts": partners.demo_accounts_of(partner_id),
        "apps": db.apps.list_for_partner(partner_id),
    }


async def _render_partner(
    request: Request, user: CurrentUser, extra: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    partner_id = request.path_params["partner_id"]
    context = await in_read(platform_of(request), lambda db: _partner_context(db, partner_id))
    context.update(extra or {})
    return render(request, "support/partner.html", context, user=user, status_code=status_code)


@support_user
async def partner_page(request: Request, user: CurrentUser) -> Response:
    return await _render_partner(request, user)


def _user_by_email(db: Transaction, email: str, field: str) -> User:
    try:
        email = check_email(email)
    except ValidationError:
        raise ValidationError("Nothing was changed.", fields={field: "Enter the email address of a user."}) from None
    found = db.users.get_by_email(email)
    if found is None:
        raise ValidationError("Nothing was changed.", fields={field: f"No user has the email address {email}."})
    return found


PartnerChange = Callable[[Transaction, PartnerRepository, int, list[tuple[str, str]]], str]


async def _partner_change(request: Request, user: CurrentUser, change: PartnerChange, field: str) -> Response:
    """Run one change to a partner from a form; re-render the partner page on a validation error."""
    platform = platform_of(request)
    fields = await _form(request, user)
    partner_id = request.path_params["partner_id"]

    def _apply(db: Transaction) -> str:
        partners = db.partners
        if partners.get(partner_id) is None:
            raise NotFoundError("There is no such partner.")
        return change(db, partners, partner_id, fields)

    try:
        message = await in_write(platform, _apply)
    except ValidationError as exc:
        if not exc.fields:
            raise
        return await _render_partner(
            request, user, {"errors": exc.fields, field: first(fields, field)}, status_code=400
        )
    response = redirect(f"/support/partners/{partner_id}")
    flash(request, response, message)
    return response


def _add_member(db: Transaction, partners: PartnerRepository, partner_id: int, fields: list[tuple[str, str]]) -> str:
    member = _user_by_email(db, first(fields, "member_email"), "member_email")
    partners.add_member(partner_id, member.id)
    return f"{member.email} can now use the partner dashboard."


def _link_demo(db: Transaction, partners: PartnerRepository, partner_id: int, fields: list[tuple[str, str]]) -> str:
    owner = _user_by_email(db, first(fields, "demo_email"), "demo_email")
    accounts = db.users.accounts_of(owner.id)
    if not accounts:
        raise ValidationError(
            "Nothing was changed.", fields={"demo_email": f"{owner.email} is not a user of any account."}
        )
    for account in accounts:
        partners.link_demo_account(partner_id, account.id)
    return f"Linked as demo account: {', '.join(a.name for a in accounts)}."


@support_user
async def add_member(request: Request, user: CurrentUser) -> Response:
    return await _partner_change(request, user, _add_member, "member_email")


@support_user
async def link_demo_accounts(request: Request, user: CurrentUser) -> Response:
    return await _partner_change(request, user, _link_demo, "demo_email")


@support_user
async def remove_member(request: Request, user: CurrentUser) -> Response:
    member_id = request.path_params["user_id"]

    def _remove(db: Transaction, partners: PartnerRepository, partner_id: int, _fields: list[tuple[str, str]]) -> str:
        if not partners.remove_member(partner_id, member_id):
            raise NotFoundError("That user is not a member of this partner.")
        return "The member was removed."

    return await _partner_change(request, user, _remove, "member_email")


@support_user
async def unlink_demo_account(request: Request, user: CurrentUser) -> Response:
    account_id = request.path_params["account_id"]

    def _unlink(db: Transaction, partners: PartnerRepository, partner_id: int, _fields: list[tuple[str, str]]) -> str:
        if unlink_and_uninstall(db, partner_id, account_id, utcnow()) is None:
            raise NotFoundError("That account is not a demo account of this partner.")
        return ("The demo account was unlinked. The partner's unverified apps were uninstalled there "
                "and can no longer be installed.")

    response = await _partner_change(request, user, _unlink, "demo_email")
    platform_of(request).authenticator.invalidate()
    return response


# Accounts ---------------------------------------------------------------------------------


@support_user
async def accounts_page(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)

    def _load(db: Transaction) -> dict[str, Any]:
        accounts = db.accounts.list_all()
        return {
            "accounts": accounts,
            "emails": db.users.emails_by_account([a.id for a in accounts]),
            "demo_of": db.partners.demo_partner_names_by_account(),
        }

    return render(request, "support/accounts.html", await in_read(platform, _load), user=user)


routes = [
    Route("/support", support_home, methods=["GET"]),
    Route("/support/review", review_queue, methods=["GET"]),
    Route("/support/apps/{client_id:client_id}", review_app, methods=["GET"]),
    Route("/support/apps/{client_id:client_id}/verify", verify, methods=["POST"]),
    Route("/support/apps/{client_id:client_id}/reject", reject, methods=["POST"]),
    Route("/support/partners", partners_page, methods=["GET"]),
    Route("/support/partners", create_partner, methods=["POST"]),
    Route("/support/partners/{partner_id:id}", partner_page, methods=["GET"]),
    Route("/support/partners/{partner_id:id}/members", add_member, methods=["POST"]),
    Route("/support/partners/{partner_id:id}/members/{user_id:id}/remove", remove_member, methods=["POST"]),
    Route("/support/partners/{partner_id:id}/demo-accounts", link_demo_accounts, methods=["POST"]),
    Route("/support/partners/{partner_id:id}/demo-accounts/{account_id:id}/unlink", unlink_demo_account, methods=["POST"]),
    Route("/support/accounts", accounts_page, methods=["GET"]),
]
