"""Which webhook event each API mutation records, about which object.

``record`` runs in the mutation's savepoint, after the change and before the savepoint commits:
a mutation that fails or rolls back records nothing. The object is found before the change
where the change may remove it (a variant's product, for a deleted variant).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..store import models as m
from ..webhooks.outbox import record_event
from .arguments import local_id
from .context import RequestContext
from .executor import Kept
from .loaders import Shaped
from .webhook_payloads import object_payload

# (ctx, input, result or None before the change) -> the local id of the object the event is about
Subject = Callable[[RequestContext, dict[str, Any], dict[str, Any] | None], int | None]


def _input(name: str, type_name: str) -> Subject:
    return lambda _ctx, data, _result: local_id(data[name], type_name)


def _result(key: str) -> Subject:
    def subject(_ctx: RequestContext, _data: dict[str, Any], result: dict[str, Any] | None) -> int | None:
        shaped = None if result is None else result.get(key)
        return shaped.object_id if isinstance(shaped, Shaped) else None

    return subject


def _product_of(model: type[m.ProductVariant] | type[m.ProductImage], type_name: str) -> Subject:
    def subject(ctx: RequestContext, data: dict[str, Any], _result: dict[str, Any] | None) -> int | None:
        object_id = local_id(data["id"], type_name)
        row = None if object_id is None else ctx.writes.get(model, object_id)
        return None if row is None else row.product_id

    return subject


def _order_of_shipment(ctx: RequestContext, data: dict[str, Any], _result: dict[str, Any] | None) -> int | None:
    shipment_id = local_id(data["id"], "Shipment")
    row = None if shipment_id is None else ctx.writes.get(m.Shipment, shipment_id)
    return None if row is None else row.order_id


def _account(_ctx: RequestContext, _data: dict[str, Any], _result: dict[str, Any] | None) -> int | None:
    return None


Event = tuple[str, Subject, bool]  # (topic, subject, whether the subject is found before the change)

# mutation -> its events
EVENTS: dict[str, tuple[Event, ...]] = {
    "accountUpdate": (("ACCOUNT_UPDATED", _account, False),),
    "productCreate": (("PRODUCT_CREATED", _result("product"), False),),
    "productUpdate": (("PRODUCT_UPDATED", _input("id", "Product"), False),),
    "productDelete": (("PRODUCT_DELETED", _input("id", "Product"), True),),
    # Variants and images (a variant's inventory too) are part of their product.
    "productVariantCreate": (("PRODUCT_UPDATED", _input("productId", "Product"), False),),
    "productVariantUpdate": (("PRODUCT_UPDATED", _product_of(m.ProductVariant, "ProductVariant"), True),),
    "productVariantDelete": (("PRODUCT_UPDATED", _product_of(m.ProductVariant, "ProductVariant"), True),),
    "productImageCreate": (("PRODUCT_UPDATED", _input("productId", "Product"), False),),
    "productImageUpdate": (("PRODUCT_UPDATED", _product_of(m.ProductImage, "ProductImage"), True),),
    "productImageDelete": (("PRODUCT_UPDATED", _product_of(m.ProductImage, "ProductImage"), True),),
    "orderConfirm": (("ORDER_CONFIRMED", _input("id", "Order"), False),),
    "orderCancel": (("ORDER_CANCELLED", _input("id", "Order"), False),),
    # A shipment is part of its order (its shipments, and its fulfilment once all is shipped):
    # the order is updated too. Confirming and cancelling have topics of their own.
    "shipmentCreate": (("SHIPMENT_CREATED", _result("shipment"), False),
                       ("ORDER_UPDATED", _input("orderId", "Order"), False)),
    "shipmentUpdate": (("SHIPMENT_UPDATED", _input("id", "Shipment"), False),
                       ("ORDER_UPDATED", _order_of_shipment, False)),
    "customerCreate": (("CUSTOMER_CREATED", _result("customer"), False),),
}


def _events_of(name: str) -> tuple[Event, ...]:
    return EVENTS.get(name, ())


def subject_before(name: str, ctx: RequestContext, data: dict[str, Any]) -> tuple[int | None, ...]:
    return tuple(subject(ctx, data, None) if found_before else None for _, subject, found_before in _events_of(name))


def record(name: str, info: Any, ctx: RequestContext, data: dict[str, Any], result: dict[str, Any],
           before: tuple[int | None, ...], kept: Kept | None = None) -> None:
    """Record the mutation's events, if it has any (the one call of every API mutation). The
    rows their payloads read (only when someone subscribed) are added to ``kept``: the
    mutation's result is shaped from them when they hold it, rather than read again."""
    events = _events_of(name)
    if events:
        ctx.writes.flush()  # the payload's read and the subscriber lookup run on the driver: they see it
    for (topic, subject, found_before), object_before in zip(events, before, strict=True):
        object_id = object_before if found_before else subject(ctx, data, result)
        if object_id is None and topic != "ACCOUNT_UPDATED":
            continue
        record_event(ctx.source, ctx.account_id, topic, _payload(info, ctx, topic, object_id, kept))


def _payload(info: Any, ctx: RequestContext, topic: str, object_id: int | None,
             kept: Kept | None) -> Callable[[], dict[str, Any]]:
    return lambda: object_payload(info.schema, ctx.source, ctx.account_id, topic, object_id, kept)
