"""Who may open which pages, checked on the server for every request.

- account users: the back office of the account their session is on;
- partner members: the dashboard of their own partners only (another partner's pages and
  apps answer 404, so that they cannot even be confirmed to exist);
- support staff (``User.is_support``): the support pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from ..errors import NotFoundError, PermissionDeniedError
from ..store.repositories.clients import PartnerRef
from .render import login_redirect, render
from .sessions import CurrentUser, current_user

Handler = Callable[[Request, CurrentUser], Awaitable[Response]]
PartnerHandler = Callable[[Request, CurrentUser, PartnerRef], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _signed_in(check: Callable[[Request, CurrentUser], Response | None]) -> Callable[[Handler], Endpoint]:
    """A decorator: sign-in required (else the login page), then ``check`` may refuse."""

    def decorate(handler: Handler) -> Endpoint:
        @wraps(handler)
        async def wrapper(request: Request) -> Response:
            user = await current_user(request)
            if user is None:
                return login_redirect(request)
            refusal = check(request, user)
            if refusal is not None:
                return refusal
            return await handler(request, user)

        return wrapper

    return decorate


def _has_account(request: Request, user: CurrentUser) -> Response | None:
    if user.account is None:
        return render(
            request, "error.html",
            {"title": "No account", "message": "Your login is not linked to an Orderchamp account."},
            user=user, status_code=403,
        )
    return None


def _is_support(_request: Request, user: CurrentUser) -> Response | None:
    if not user.is_support:
        raise PermissionDeniedError("These pages are for Orderchamp support staff.")
    return None


def _is_partner(_request: Request, user: CurrentUser) -> Response | None:
    if not user.partners:
        raise PermissionDeniedError(_NOT_A_PARTNER)
    return None


# Pages of the back office need a signed-in user with an account.
account_user = _signed_in(_has_account)
support_user = _signed_in(_is_support)
# Any member of at least one partner (the dashboard's entry page).
partner_user = _signed_in(_is_partner)


_NOT_A_PARTNER = (
    "The partner dashboard is for app developers. If you build apps for Orderchamp, "
    "ask Orderchamp support to add you to your partner organisation."
)


def partner_member(handler: PartnerHandler) -> Endpoint:
    """Pages under ``/partners/{partner_id}``: only for members of that partner. The partner
    comes with the signed-in user (``sessions``), so the check reads nothing more."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        user = await current_user(request)
        if user is None:
            return login_redirect(request)
        if not user.partners:
            raise PermissionDeniedError(_NOT_A_PARTNER)
        partner = user.partner(request.path_params["partner_id"])  # an int: see web.paths
        if partner is None:
            raise NotFoundError("There is no such partner in your dashboard.")
        return await handler(request, user, partner)

    return wrapper
