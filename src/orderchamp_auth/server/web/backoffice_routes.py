"""The back office of an account: integration overview, installed apps, the API page."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...protocol.errors import ScopeError
from ...protocol.scopes import ScopeSet
from ...protocol.tokens import hash_secret
from ..demo_catalogue import place_test_order
from ..errors import NotFoundError, ValidationError
from ..oauth.authorize import is_installable
from ..oauth.installs import install_start_url
from ..oauth.private_tokens import (
    NewPrivateToken,
    create_private_token,
    revoke_private_token,
    rotate_webhook_secret,
    webhook_secret,
)
from ..oauth.revocation import uninstall
from ..store.database import utcnow
from ..store.transaction import Transaction
from . import paths  # noqa: F401 - registers the {name:id} and {name:client_id} path convertors
from .forms import every, first, read_form
from .platform import platform_of
from .render import login_redirect, redirect, render, safe_next
from .roles import account_user
from .sessions import (
    REVEAL_COOKIE,
    CurrentUser,
    check_csrf,
    clear_reveal,
    current_user,
    flash,
    stash_reveal,
    take_reveal,
)
from .units import in_read, in_write

API_PAGE = "/backoffice/api"


async def _form(request: Request, user: CurrentUser) -> list[tuple[str, str]]:
    fields = await read_form(request)
    check_csrf(request, user, first(fields, "csrf_token"))
    return fields


async def home(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return redirect("/login")
    if user.account is None and user.is_support:
        return redirect("/support")
    if user.account is None and user.partner_ids:
        return redirect("/partners")
    return redirect("/backoffice/integrations")


@account_user
async def integrations(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    assert user.account is not None
    account_id = user.account.id

    def _load(db: Transaction) -> dict[str, Any]:
        installed = db.installations.list_active_for_account(account_id)
        installed_ids = {app.id for _, app in installed}
        apps = db.apps
        available = [a for a in apps.list_installable_for(account_id) if a.id not in installed_ids]
        logos = apps.ids_with_logo([a.id for a in available] + list(installed_ids))
        return {"installed": installed, "available": available, "logos": logos}

    return render(request, "backoffice/integrations.html", await in_read(platform, _load), user=user)


@account_user
async def install(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    await _form(request, user)
    assert user.account is not None
    client_id = request.path_params["client_id"]
    account_id = user.account.id

    def _url(db: Transaction) -> str:
        return install_start_url(db, platform.client_secrets, client_id=client_id, account_id=account_id,
                                 now=utcnow())

    return redirect(await in_read(platform, _url), status_code=303)


@account_user
async def app_page(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    assert user.account is not None
    client_id = request.path_params["client_id"]
    account_id = user.account.id

    def _load(db: Transaction) -> dict[str, Any]:
        app = db.apps.get_by_client_id(client_id)
        if app is None or not (
            is_installable(db, app, account_id) or db.installations.get_for(account_id, app.id)
        ):
            raise NotFoundError("That app does not exist.")
        installation = db.installations.get_for(account_id, app.id)
        if installation is not None and installation.uninstalled_at is not None:
            installation = None
        webhooks = db.webhook_subscriptions.list_for(account_id, app.id) if installation else []
        return {"app": app, "installation": installation, "has_logo": db.apps.has_logo(app.id),
                "webhooks": webhooks}

    return render(request, "backoffice/app.html", await in_read(platform, _load), user=user)


@account_user
async def uninstall_app(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    await _form(request, user)
    assert user.account is not None
    client_id = request.path_params["client_id"]
    account_id = user.account.id

    def _uninstall(db: Transaction) -> str:
        app = db.apps.get_by_client_id(client_id)
        installation = db.installations.get_for(account_id, app.id) if app else None
        if app is None or installation is None or installation.uninstalled_at is not None:
            raise NotFoundError("That app is not installed on this account.")
        uninstall(db, installation, utcnow())
        return app.name

    name = await in_write(platform, _uninstall)
    platform.authenticator.invalidate()
    response = redirect("/backoffice/integrations")
    flash(request, response, f"{name} was uninstalled and its access revoked.")
    return response


async def switch_account(request: Request) -> Response:
    """The header's account switcher: later pages act for the chosen account."""
    platform = platform_of(request)
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    fields = await _form(request, user)
    chosen = next((a for a in user.accounts if str(a.id) == first(fields, "account_id")), None)
    if chosen is None:
        raise NotFoundError("You are not a user of that account.")

    def _switch(db: Transaction) -> None:
        db.sessions.set_account(hash_secret(user.session_id), chosen.id)

    await in_write(platform, _switch)
    target = safe_next(first(fields, "next"))
    # An app page of the old account may not exist for the new one.
    if target.startswith("/backoffice/apps/"):
        target = "/backoffice/integrations"
    response = redirect(target)
    flash(request, response, f"You are now working in {chosen.name}.")
    return response


@account_user
async def api_page(request: Request, user: CurrentUser) -> Response:
    revealed = take_reveal(request, user)
    extra = {"new_token": revealed["token"], "new_token_name": revealed["name"],
             "new_webhook_secret": revealed.get("webhook_secret")} if revealed else None
    response = await _render_api_page(request, user, extra)
    if request.cookies.get(REVEAL_COOKIE):
        clear_reveal(request, response, API_PAGE)
    return response


async def _render_api_page(
    request: Request, user: CurrentUser, extra: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    platform = platform_of(request)
    assert user.account is not None
    account_id = user.account.id

    def _load(db: Transaction) -> dict[str, Any]:
        tokens = db.tokens.list_private_for_account(account_id)
        return {"tokens": tokens, "webhook_counts": db.webhook_subscriptions.count_of_tokens([t.id for t in tokens])}

    context = await in_read(platform, _load)
    context.update(extra or {})
    context.setdefault("api_url", platform.settings.api_url)
    return render(request, "backoffice/api.html", context, user=user, status_code=status_code)


@account_user
async def create_token(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    fields = await _form(request, user)
    assert user.account is not None
    account_id, user_id = user.account.id, user.user.id
    name = first(fields, "name")
    try:
        scopes = ScopeSet(every(fields, "scopes"))
    except ScopeError:
        scopes = ScopeSet()

    def _create(db: Transaction) -> NewPrivateToken:
        return create_private_token(db, platform.secret_box, account_id=account_id, name=name, scopes=scopes,
                                    user_id=user_id, now=utcnow())

    try:
        token, value, webhook_secret = await in_write(platform, _create)
    except ValidationError as exc:
        chosen = {s.value for s in scopes}
        return await _render_api_page(
            request, user, {"errors": exc.fields, "name": name, "chosen": chosen}, status_code=400
        )
    # Post/redirect/get: the token rides to the page in a sealed one-time cookie, so reloading
    # the page shows it no more and creates no second token.
    response = redirect("/backoffice/api")
    stash_reveal(request, response, user, API_PAGE,
                 {"token": value, "name": token.name, "webhook_secret": webhook_secret})
    return response


@account_user
async def revoke_token(request: Request, user: CurrentUser) -> Response:
    platform = platform_of(request)
    await _form(request, user)
    assert user.account is not None
    account_id = user.account.id
    token_id = request.path_params["token_id"]

    def _revoke(db: Transaction) -> str:
        return revoke_private_token(db, account_id=account_id, token_id=token_id, now=utcnow()).name

    name = await in_write(platform, _revoke)
    platform.authenticator.invalidate()
    response = redirect("/backoffice/api")
    flash(request, response, f"The token “{name}” was revoked.")
    return response


@account_user
async def test_order(request: Request, user: CurrentUser) -> Response:
    """A test retailer's order in the account's catalogue: ``ORDER_CREATED`` for the account's
    webhook subscribers (an app developer's sandbox)."""
    platform = platform_of(request)
    await _form(request, user)
    assert user.account is not None
    account_id = user.account.id

    response = redirect(API_PAGE)
    try:
        number = (await in_write(platform, lambda db: place_test_order(db, account_id, platform.object_payloads))).number
    except ValidationError as exc:
        flash(request, response, str(exc), kind="error")
        return response
    flash(request, response, f"Test order {number} was placed; subscribers to ORDER_CREATED get it.")
    return response


async def _token_secret(request: Request, user: CurrentUser, *, rotate: bool) -> Response:
    """The token's webhook signing secret on the API page, in answer to a POST only (never in
    a GET page that could be cached or linked), after a rotation or as it is."""
    platform = platform_of(request)
    await _form(request, user)
    assert user.account is not None
    account_id = user.account.id
    token_id = request.path_params["token_id"]
    change = rotate_webhook_secret if rotate else webhook_secret

    def _secret(db: Transaction) -> tuple[Any, str]:
        return change(db, platform.secret_box, account_id=account_id, token_id=token_id, now=utcnow())

    token, secret = await in_write(platform, _secret)
    return await _render_api_page(request, user, {"shown_secret": secret, "shown_secret_token": token,
                                                  "secret_rotated": rotate})


@account_user
async def reveal_token_secret(request: Request, user: CurrentUser) -> Response:
    return await _token_secret(request, user, rotate=False)


@account_user
async def rotate_token_secret(request: Request, user: CurrentUser) -> Response:
    return await _token_secret(request, user, rotate=True)


async def app_logo(request: Request) -> Response:
    platform = platform_of(request)
    client_id = request.path_params["client_id"]

    def _load(db: Transaction) -> tuple[str, bytes] | None:
        app = db.apps.get_by_client_id(client_id)
        logo = db.apps.get_logo(app.id) if app else None
        return (logo.content_type, logo.data) if logo else None

    found = await in_read(platform, _load)
    if found is None:
        raise NotFoundError("This app has no logo.")
    return Response(found[1], media_type=found[0], headers={"Cache-Control": "public, max-age=300"})


routes = [
    Route("/", home, methods=["GET"]),
    Route("/backoffice", home, methods=["GET"]),
    Route("/backoffice/account", switch_account, methods=["POST"]),
    Route("/backoffice/integrations", integrations, methods=["GET"]),
    Route("/backoffice/integrations/{client_id:client_id}/install", install, methods=["POST"]),
    Route("/backoffice/apps/{client_id:client_id}", app_page, methods=["GET"]),
    Route("/backoffice/apps/{client_id:client_id}/uninstall", uninstall_app, methods=["POST"]),
    Route("/backoffice/api", api_page, methods=["GET"]),
    Route("/backoffice/api/tokens", create_token, methods=["POST"]),
    Route("/backoffice/api/test-order", test_order, methods=["POST"]),
    Route("/backoffice/api/tokens/{token_id:id}/revoke", revoke_token, methods=["POST"]),
    Route("/backoffice/api/tokens/{token_id:id}/webhook-secret", reveal_token_secret, methods=["POST"]),
    Route("/backoffice/api/tokens/{token_id:id}/rotate-webhook-secret", rotate_token_secret, methods=["POST"]),
    Route("/apps/{client_id:client_id}/logo", app_logo, methods=["GET"]),
]
