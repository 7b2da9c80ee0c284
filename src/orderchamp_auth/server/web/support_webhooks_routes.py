"""Support's look-up of any webhook delivery by its webhook id: what was sent where, and each
attempt's answer (the body is the payload: support sees what the app was told)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..store.transaction import Transaction
from .platform import platform_of
from .render import render
from .roles import support_user
from .sessions import CurrentUser
from .units import in_read

_WEBHOOK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _lookup(webhook_id: str) -> Any:
    def work(db: Transaction) -> dict[str, Any]:
        deliveries = db.webhook_deliveries
        delivery = deliveries.by_webhook_id(webhook_id)
        if delivery is None:
            return {"not_found": True}
        return {
            "delivery": delivery, "attempts": deliveries.attempts_of([delivery.id])[delivery.id],
            "app": db.apps.get(delivery.app_id) if delivery.app_id is not None else None,
            "account": db.accounts.get(delivery.account_id),
        }

    return work


@support_user
async def webhook_lookup(request: Request, user: CurrentUser) -> Response:
    given = (request.query_params.get("webhook_id") or "").strip().lower()
    context: dict[str, Any] = {"webhook_id": given}
    if given:
        if _WEBHOOK_ID.fullmatch(given):
            context.update(await in_read(platform_of(request), _lookup(given)))
        else:
            context["invalid"] = True
    return render(request, "support/webhook.html", context, user=user, status_code=400 if "invalid" in context else 200)


routes = [Route("/support/webhooks", webhook_lookup, methods=["GET"])]
