"""The API's webhook subscriptions: the ``webhooks`` connection and ``webhookCreate/Update/Delete``.

Subscriptions belong to the token's app on the token's account (signed with the app's client
secret), or to the private token itself (signed with its webhook signing secret). The hosts of
the addresses are looked up by the endpoint before its write transaction (``addresses_in``,
``webhooks.addresses.check_addresses``); the mutations read what it found.
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, FragmentSpreadNode, GraphQLError, GraphQLSchema, InlineFragmentNode
from graphql.execution.values import get_argument_values
from graphql.language import DocumentNode, FragmentDefinitionNode, OperationDefinitionNode

from ...protocol.global_ids import encode_global_id
from ..store.database import utcnow
from ..store.models import WebhookSubscription
from ..store.repositories.webhooks import Owner
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


def _owner(ctx: RequestContext) -> Owner | None:
    return None if ctx.token_id is None else ctx.source.webhook_subscriptions.owner_of_token(ctx.token_id)


def resolve_webhooks(_parent: Any, info: Any, first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None) -> Any:
    ctx: RequestContext = info.context
    window = child_window({"first": first, "after": after, "last": last, "before": before})
    owner = _owner(ctx)
    rows = [] if owner is None else ctx.source.webhook_subscriptions.rows_of(ctx.account_id, owner, MAX_SUBSCRIPTIONS)
    return connection_from_list([_shape(row) for row in rows], window)


def _owning(ctx: RequestContext) -> Owner:
    owner = _owner(ctx)
    if owner is None:
        raise UserErrors(("topic", "Webhooks need an app's access token or a private token."))
    return owner


def _errors(exc: SubscriptionError) -> UserErrors:
    return UserErrors((exc.field, exc.message))


def webhook_create(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    owner = _owning(ctx)
    if owner.token_id is not None and ctx.source.webhook_subscriptions.signing_secret(owner.token_id) is None:
        # A token made before signing secrets were: nothing could sign its deliveries yet.
        raise UserErrors(("topic", "This token has no webhook signing secret yet: make one with Signing secret "
                                   "on the back office's API page."))
    try:
        made = create_subscription(ctx.source, account_id=ctx.account_id, owner=owner, scopes=ctx.scopes,
                                   topic=data["topic"], address=data.get("address"),
                                   allow_loopback=ctx.allow_loopback_webhooks, looked_up=ctx.webhook_addresses,
                                   now=utcnow())
    except SubscriptionError as exc:
        raise _errors(exc) from None
    return {"webhook": _shape(_as_row(made))}


def _owned_subscription(ctx: RequestContext, data: dict[str, Any]) -> WebhookSubscription:
    owner = _owning(ctx)
    subscription_id = local_id(data["id"], TYPE)
    found = None if subscription_id is None else ctx.source.webhook_subscriptions.get(
        ctx.account_id, owner, subscription_id)
    if found is None:
        raise UserErrors(("id", "No WebhookSubscription with this id."))
    return found


def webhook_update(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    subscription = _owned_subscription(ctx, data)
    try:
        update_subscription(ctx.source, subscription, address=data.get("address"),
                            allow_loopback=ctx.allow_loopback_webhooks, looked_up=ctx.webhook_addresses,
                            now=utcnow())
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


_ADDRESSED = ("webhookCreate", "webhookUpdate")


def addresses_in(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                 variables: dict[str, Any]) -> list[str]:
    """The webhook addresses a mutation operation would subscribe to (stripped, as the
    mutations take them), from literals and the coerced ``variables``: the endpoint looks their
    hosts up before the write transaction. Root fields only, through fragments."""
    mutation_type = schema.mutation_type
    if mutation_type is None:
        return []
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    found: list[str] = []
    seen: set[str] = set()  # fragment names, so that a fragment is walked once

    def walk(selections: Any) -> None:
        for selection in selections:
            if isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set.selections)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    walk(fragments[name].selection_set.selections)
            elif isinstance(selection, FieldNode) and selection.name.value in _ADDRESSED:
                try:
                    values = get_argument_values(mutation_type.fields[selection.name.value], selection, variables)
                except GraphQLError:
                    continue  # graphql-core reports it when it runs the field
                address = (values.get("input") or {}).get("address")
                if isinstance(address, str):
                    found.append(address.strip())

    walk(operation.selection_set.selections)
    return found


def bind_webhooks(schema: GraphQLSchema) -> None:
    schema.type_map["Query"].fields["webhooks"].resolve = resolve_webhooks  # type: ignore[attr-defined]
    mutation_type = schema.mutation_type
    assert mutation_type is not None
    for name, (payload_field, run) in WEBHOOK_MUTATIONS.items():
        mutation_type.fields[name].resolve = mutation_resolver(name, payload_field, run)
