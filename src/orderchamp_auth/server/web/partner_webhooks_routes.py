"""The partner's webhooks of an app: its subscriptions on every account, the delivery log with
each attempt, and the Redeliver and Send a test event buttons."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...protocol.global_ids import parse_row_id
from ..errors import NotFoundError
from ..store.database import utcnow
from ..store.models import Partner
from ..store.repositories.apps import AppRepository
from ..store.repositories.webhooks import DeliveryRepository, SubscriptionRepository
from ..webhooks.subscriptions import redeliver, send_test_event
from . import paths  # noqa: F401 - registers the {name:id} and {name:client_id} path convertors
from .forms import first, read_form
from .platform import Platform, platform_of
from .render import redirect, render
from .roles import partner_member
from .sessions import CurrentUser, check_csrf, flash

LOG_SIZE = 50


def _webhooks_url(partner: Partner, client_id: str) -> str:
    return f"/partners/{partner.id}/apps/{client_id}/webhooks"


def _context(platform: Platform, partner: Partner, client_id: str) -> dict[str, Any]:
    with platform.database.read() as db:
        app = AppRepository(db).get_for_partner(partner.id, client_id)
        if app is None:
            raise NotFoundError("There is no such app in your dashboard.")
        deliveries = DeliveryRepository(db)
        log = deliveries.for_app(app.id, limit=LOG_SIZE)
        return {
            "partner": partner, "app": app,
            "subscriptions": SubscriptionRepository(db).list_for_app(app.id),
            "log": log, "attempts": deliveries.attempts_of([d.id for d, _ in log]),
        }


@partner_member
async def webhooks_page(request: Request, user: CurrentUser, partner: Partner) -> Response:
    context = await run_in_threadpool(_context, platform_of(request), partner, request.path_params["client_id"])
    return render(request, "partner/webhooks.html", context, user=user)


async def _act(request: Request, user: CurrentUser, partner: Partner, field: str, action: Any, done: str) -> Response:
    platform = platform_of(request)
    fields = await read_form(request)
    check_csrf(request, user, first(fields, "csrf_token"))
    client_id = request.path_params["client_id"]
    object_id = parse_row_id(first(fields, field) or "")

    def _run() -> str | None:
        with platform.database.write() as db:
            app = AppRepository(db).get_for_partner(partner.id, client_id)
            if app is None or object_id is None:
                return None
            return action(db, app.id, object_id, utcnow())  # type: ignore[no-any-return]

    webhook_id = await run_in_threadpool(_run)
    if webhook_id is None:
        raise NotFoundError("There is no such webhook of this app.")
    response = redirect(_webhooks_url(partner, client_id))
    flash(request, response, f"{done} (webhook id {webhook_id}).")
    return response


@partner_member
async def test_event(request: Request, user: CurrentUser, partner: Partner) -> Response:
    return await _act(request, user, partner, "subscription_id", send_test_event, "A test event is on its way")


@partner_member
async def redeliver_delivery(request: Request, user: CurrentUser, partner: Partner) -> Response:
    return await _act(request, user, partner, "delivery_id", redeliver, "The delivery is sent again")


routes = [
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/webhooks", webhooks_page, methods=["GET"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/webhooks/test", test_event, methods=["POST"]),
    Route("/partners/{partner_id:id}/apps/{client_id:client_id}/webhooks/redeliver", redeliver_delivery,
          methods=["POST"]),
]
