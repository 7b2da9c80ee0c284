"""The API's webhook subscriptions: the ``webhooks`` connection and ``webhookCreate/Update/Delete``.

Subscriptions belong to the token's app on the token's account; private tokens have no app
(and no client secret to sign deliveries with), so they get a user error.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema

from ...protocol.global_ids import encode_global_id
from ..store.database import utcnow
from ..store.models import WebhookSubscription
from ..webhooks.subscriptions import (
    MAX_SUBSCRIPTIONS,
    SubscriptionError,
    create_subscription,
    update_subscription,
)
from .arguments import child_window, local_id
from .connections import connection_from_list
from .context import RequestContext
from .cursors import iso_utc
from .mutations import UserErrors, mutation_resolver

TYPE = "WebhookSubscription"


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": row["id"], "id": encode_global_id(TYPE, row["id"]), "topic": row["topic"], "address": row["address"],
        "createdAt": iso_utc(row["created_at"]), "updatedAt": iso_utc(row["updated_at"]),
        "disabledAt": iso_utc(row["disabled_at"]) if row["disabled_at"] else None,
        "disabledReason": row["disabled_reason"] or None,
    }


def _as_row(subscription: WebhookSubscription) -> dict[str, Any]:
    return {name: getattr(subscription, name) for name in
            ("id", "topic", "address", "created_at", "updated_at", "disabled_at", "disabled_reason")}


def _app_id(ctx: RequestContext) -> int | None:
    return None if ctx.token_id is None else ctx.source.webhook_subscriptions.app_of_token(ctx.token_id)


def resolve_webhooks(_parent: Any, info: Any, first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None) -> Any:
    ctx: RequestContext = info.context
    window = child_window({"first": first, "after": after, "last": last, "before": before})
    app_id = _app_id(ctx)
    rows = [] if app_id is None else ctx.source.webhook_subscriptions.rows_of(ctx.account_id, app_id, MAX_SUBSCRIPTIONS)
    return connection_from_list([_shape(row) for row in rows], window)


def _owning_app(ctx: RequestContext) -> int:
    app_id = _app_id(ctx)
    if app_id is None:
        raise UserErrors(("topic", "Webhooks need an app's access token: a private token has no app to sign for."))
    return app_id


def _errors(exc: SubscriptionError) -> UserErrors:
    return UserErrors((exc.field, exc.message))


def webhook_create(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    app_id = _owning_app(ctx)
    try:
        made = create_subscription(ctx.source, account_id=ctx.account_id, app_id=app_id, scopes=ctx.scopes,
                                   topic=data["topic"], address=data.get("address"),
                                   allow_loopback=ctx.allow_loopback_webhooks, now=utcnow())
    except SubscriptionError as exc:
        raise _errors(exc) from None
    return {"webhook": _shape(_as_row(made))}


def _owned_subscription(ctx: RequestContext, data: dict[str, Any]) -> WebhookSubscription:
    app_id = _owning_app(ctx)
    subscription_id = local_id(data["id"], TYPE)
    found = None if subscription_id is None else ctx.source.webhook_subscriptions.get(
        ctx.account_id, app_id, subscription_id)
    if found is None:
        raise UserErrors(("id", "No WebhookSubscription with this id."))
    return found


def webhook_update(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    subscription = _owned_subscription(ctx, data)
    try:
        update_subscription(ctx.source, subscription, address=data.get("address"),
                            allow_loopback=ctx.allow_loopback_webhooks, now=utcnow())
    except SubscriptionError as exc:
        raise _errors(exc) from None
    return {"webhook": _shape(_as_row(subscription))}


def webhook_delete(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    ctx.source.webhook_subscriptions.remove(_owned_subscription(ctx, data))
    return {"deletedWebhookId": data["id"]}


WEBHOOK_MUTATIONS = {
    "webhookCreate": ("webhook", webhook_create),
    "webhookUpdate": ("webhook", webhook_update),
    "webhookDelete": ("deletedWebhookId", webhook_delete),
}


def bind_webhooks(schema: GraphQLSchema) -> None:
    schema.type_map["Query"].fields["webhooks"].resolve = resolve_webhooks  # type: ignore[attr-defined]
    mutation_type = schema.mutation_type
    assert mutation_type is not None
    for name, (payload_field, run) in WEBHOOK_MUTATIONS.items():
        mutation_type.fields[name].resolve = mutation_resolver(name, payload_field, run)
