"""The partner's webhooks of an app: its subscriptions on every account, the delivery log with
each attempt, and the Redeliver and Send a test event buttons."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...protocol.global_ids import parse_row_id
from ..errors import NotFoundError
from ..store.database import utcnow
from ..store.repositories.clients import PartnerRef
from ..store.transaction import Transaction
from ..webhooks.subscriptions import redeliver, send_test_event
from . import paths  # noqa: F401 - registers the {name:id} and {name:client_id} path convertors
from .forms import first, read_form
from .partner_changes_routes import load_partner_app
from .platform import platform_of
from .render import redirect, render
from .roles import partner_member
from .sessions import CurrentUser, check_csrf, flash
from .units import in_read, in_write

LOG_SIZE = 50


def _webhooks_url(partner: PartnerRef, client_id: str) -> str:
    return f"/partners/{partner.id}/apps/{client_id}/webhooks"


@partner_member
async def webhooks_page(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    client_id = request.path_params["client_id"]

    def _load(db: Transaction) -> dict[str, Any]:
        app = load_partner_app(db, partner, client_id)
        deliveries = db.webhook_deliveries
        log = deliveries.for_app(app.id, limit=LOG_SIZE)
        return {
            "partner": partner, "app": app,
            "subscriptions": db.webhook_subscriptions.list_for_app(app.id),
            "log": log, "attempts": deliveries.attempts_of([d.id for d, _ in log]),
        }

    return render(request, "partner/webhooks.html", await in_read(platform_of(request), _load), user=user)


async def _act(request: Request, user: CurrentUser, partner: PartnerRef, field: str, action: Any,
               done: str) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, first(fields, "csrf_token"))
    client_id = request.path_params["client_id"]
    object_id = parse_row_id(first(fields, field) or "")

    def _run(db: Transaction) -> str | None:
        app = load_partner_app(db, partner, client_id)
        if object_id is None:
            return None
        return action(db, app.id, object_id, utcnow())  # type: ignore[no-any-return]

    webhook_id = await in_write(platform_of(request), _run)
    if webhook_id is None:
        raise NotFoundError("There is no such webhook of this app.")
    response = redirect(_webhooks_url(partner, client_id))
    flash(request, response, f"{done} (webhook id {webhook_id}).")
    return response


@partner_member
async def test_event(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    return await _act(request, user, partner, "subscription_id", send_test_event, "A test event is on its way")


@partner_member
async def redeliver_delivery(request: Request, user: CurrentUser, partner: PartnerRef) -> Response:
    return await _act(request, user, partner, "delivery_id", redeliver, "The delivery is sent again")


routes = [
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/webhooks", webhooks_page, methods=["GET"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/webhooks/test", test_event, methods=["POST"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/webhooks/redeliver", redeliver_delivery,
          methods=["POST"]),
]
