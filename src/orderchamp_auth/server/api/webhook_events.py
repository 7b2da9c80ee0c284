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
from .webhook_payloads import object_payload

# (ctx, input, result or None before the change) -> the local id of the object the event is about
Subject = Callable[[RequestContext, dict[str, Any], dict[str, Any] | None], int | None]


def _input(name: str, type_name: str) -> Subject:
    return lambda _ctx, data, _result: local_id(data[name], type_name)


def _result(key: str, type_name: str) -> Subject:
    def subject(_ctx: RequestContext, _data: dict[str, Any], result: dict[str, Any] | None) -> int | None:
        return None if result is None or not result.get(key) else local_id(result[key]["id"], type_name)

    return subject


def _product_of(model: type[m.ProductVariant] | type[m.ProductImage], type_name: str) -> Subject:
    def subject(ctx: RequestContext, data: dict[str, Any], _result: dict[str, Any] | None) -> int | None:
        object_id = local_id(data["id"], type_name)
        row = None if object_id is None else ctx.writes.get(model, object_id)
        return None if row is None else row.product_id

    return subject


def _account(_ctx: RequestContext, _data: dict[str, Any], _result: dict[str, Any] | None) -> int | None:
    return None


# mutation -> (topic, subject, whether the subject is found before the change)
EVENTS: dict[str, tuple[str, Subject, bool]] = {
    "accountUpdate": ("ACCOUNT_UPDATED", _account, False),
    "productCreate": ("PRODUCT_CREATED", _result("product", "Product"), False),
    "productUpdate": ("PRODUCT_UPDATED", _input("id", "Product"), False),
    "productDelete": ("PRODUCT_DELETED", _input("id", "Product"), True),
    # Variants and images (a variant's inventory too) are part of their product.
    "productVariantCreate": ("PRODUCT_UPDATED", _input("productId", "Product"), False),
    "productVariantUpdate": ("PRODUCT_UPDATED", _product_of(m.ProductVariant, "ProductVariant"), True),
    "productVariantDelete": ("PRODUCT_UPDATED", _product_of(m.ProductVariant, "ProductVariant"), True),
    "productImageCreate": ("PRODUCT_UPDATED", _input("productId", "Product"), False),
    "productImageUpdate": ("PRODUCT_UPDATED", _product_of(m.ProductImage, "ProductImage"), True),
    "productImageDelete": ("PRODUCT_UPDATED", _product_of(m.ProductImage, "ProductImage"), True),
    "orderConfirm": ("ORDER_CONFIRMED", _input("id", "Order"), False),
    "orderCancel": ("ORDER_CANCELLED", _input("id", "Order"), False),
    "shipmentCreate": ("SHIPMENT_CREATED", _result("shipment", "Shipment"), False),
    "shipmentUpdate": ("SHIPMENT_UPDATED", _input("id", "Shipment"), False),
    "customerCreate": ("CUSTOMER_CREATED", _result("customer", "Customer"), False),
}


def subject_before(name: str, ctx: RequestContext, data: dict[str, Any]) -> int | None:
    event = EVENTS.get(name)
    return event[1](ctx, data, None) if event is not None and event[2] else None


def record(name: str, info: Any, ctx: RequestContext, data: dict[str, Any], result: dict[str, Any],
           before: int | None) -> None:
    """Record the mutation's event, if it has one (the one call of every API mutation)."""
    event = EVENTS.get(name)
    if event is None:
        return
    topic, subject, found_before = event
    object_id = before if found_before else subject(ctx, data, result)
    if object_id is None and topic != "ACCOUNT_UPDATED":
        return
    ctx.writes.flush()  # the payload's read and the subscriber lookup run on the driver: they see it
    record_event(ctx.source, ctx.account_id, topic,
                 lambda: object_payload(info.schema, ctx.source, ctx.account_id, topic, object_id))
