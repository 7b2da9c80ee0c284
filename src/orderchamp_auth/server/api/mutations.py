"""Mutations. Each runs in its own savepoint: on user errors (or any failure) nothing it
wrote remains, and the payload carries ``userErrors { field message }``."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLSchema

from ...protocol.urls import check_app_url
from ..store import models as m
from ..store.database import utcnow
from . import webhook_events
from .arguments import local_id
from .context import RequestContext
from .description import TYPES
from .executor import Kept
from .loaders import Shaped, as_dicts, full_projection

MAX_MONEY = Decimal("9999999999.99")
_CURRENCY = re.compile(r"[A-Z]{3}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class UserErrors(Exception):
    def __init__(self, *errors: tuple[str, str]) -> None:
        super().__init__("user errors")
        self.errors = [{"field": ["input", name], "message": message} for name, message in errors]


def _text(data: dict[str, Any], name: str, *, required: bool = False, max_length: int = 255) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise UserErrors((name, f"{name} is required."))
        return None
    value = value.strip()
    if "\x00" in value:
        raise UserErrors((name, f"{name} cannot contain NUL characters."))  # PostgreSQL text cannot hold one
    if required and not value:
        raise UserErrors((name, f"{name} must not be blank."))
    if len(value) > max_length:
        raise UserErrors((name, f"{name} can be at most {max_length} characters."))
    return value


def _money(data: dict[str, Any], name: str) -> Decimal | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UserErrors((name, f"{name} must be a decimal string such as \"4.50\"."))
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise UserErrors((name, f"{name} must be a decimal string such as \"4.50\".")) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_MONEY:
        raise UserErrors((name, f"{name} must be between 0 and {MAX_MONEY}."))
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise UserErrors((name, f"{name} can have at most two decimals."))
    return amount.quantize(Decimal("0.01"))


def _int(data: dict[str, Any], name: str, *, low: int = 0, high: int = 1_000_000_000) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if not low <= value <= high:
        raise UserErrors((name, f"{name} must be between {low} and {high}."))
    return int(value)


def _owned(ctx: RequestContext, model: type[m.Base], global_id: str, type_name: str, field: str = "id") -> Any:
    object_id = local_id(global_id, type_name)
    obj = None if object_id is None else ctx.writes.get(model, object_id)
    if obj is None:
        raise UserErrors((field, f"No {type_name} with this id."))
    return obj


def _shaped(ctx: RequestContext, wanted: Shaped, kept: Kept) -> dict[str, Any] | None:
    """The object as the API shows it after the change (flushed by ``mutation_resolver``): from
    the rows a webhook payload of the mutation read just before, when they hold it in this
    shape, else read now."""
    spec = TYPES[wanted.type_name]
    projection = full_projection(spec)
    rows = [row for row in kept.get(projection, ()) if wanted.object_id in (None, row[0])][:1]
    if not rows:
        if wanted.object_id is None:
            rows = ctx.catalogue.account(projection)
        else:
            rows = ctx.catalogue.by_ids(projection, [wanted.object_id])
    shaped = as_dicts(spec, rows)
    return shaped[0] if shaped else None


def mutation_resolver(name: str, payload_field: str, run: Callable[[RequestContext, dict[str, Any]], dict[str, Any]]) -> Any:
    def resolve(_parent: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        ctx: RequestContext = info.context
        savepoint = ctx.writes.savepoint()
        try:
            before = webhook_events.subject_before(name, ctx, input)
            result = run(ctx, input)
            ctx.writes.flush()
            kept: Kept = {}
            webhook_events.record(name, info, ctx, input, result, before, kept)
            result = {key: _shaped(ctx, value, kept) if isinstance(value, Shaped) else value
                      for key, value in result.items()}
        except UserErrors as exc:
            savepoint.rollback()
            return {payload_field: None, "userErrors": exc.errors}
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        ctx.loaders.clear()
        return {**result, "userErrors": []}

    return resolve


def account_update(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    account = ctx.writes.account()
    name = _text(data, "name", max_length=200)
    if name is not None:
        if not name:
            raise UserErrors(("name", "name must not be blank."))
        account.name = name
    currency = data.get("currency")
    if currency is not None:
        if not _CURRENCY.fullmatch(currency):
            raise UserErrors(("currency", "currency must be a three-letter ISO 4217 code such as EUR."))
        account.currency = currency
    account.updated_at = utcnow()
    ctx.writes.flush()
    return {"account": Shaped("Account")}


def _product_fields(product: m.Product, data: dict[str, Any], *, creating: bool) -> None:
    title = _text(data, "title", required=creating)
    if title is not None:
        if not title:
            raise UserErrors(("title", "title must not be blank."))
        product.title = title
    for name in ("description", "brand"):
        value = _text(data, name, max_length=10_000 if name == "description" else 255)
        if value is not None:
            setattr(product, name, value)


def product_create(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    product = m.Product(account_id=ctx.account_id, title="", description="", brand="")
    _product_fields(product, data, creating=True)
    ctx.writes.add(product)
    return {"product": Shaped("Product", product.id)}


def product_update(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    product = _owned(ctx, m.Product, data["id"], "Product")
    _product_fields(product, data, creating=False)
    product.updated_at = utcnow()
    return {"product": Shaped("Product", product.id)}


def product_delete(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    product = _owned(ctx, m.Product, data["id"], "Product")
    ctx.writes.remove_product(product)
    return {"deletedProductId": data["id"]}


def _variant_fields(variant: m.ProductVariant, data: dict[str, Any]) -> None:
    for name, attr, length in (("title", "title", 255), ("sku", "sku", 100)):
        value = _text(data, name, max_length=length)
        if value is not None:
            setattr(variant, attr, value)
    price = _money(data, "price")
    if price is not None:
        variant.price = price
    quantity = _int(data, "inventoryQuantity", low=-1_000_000, high=1_000_000_000)
    if quantity is not None:
        variant.inventory_quantity = quantity
    if data.get("inventoryPolicy") is not None:
        variant.inventory_policy = data["inventoryPolicy"]
    position = _int(data, "position", low=1, high=10_000)
    if position is not None:
        variant.position = position


def variant_create(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    product = _owned(ctx, m.Product, data["productId"], "Product", "productId")
    if _money(data, "price") is None:
        raise UserErrors(("price", "price is required."))
    variant = m.ProductVariant(account_id=ctx.account_id, product_id=product.id, title="", sku="",
                               inventory_quantity=0, inventory_policy="DENY",
                               position=ctx.writes.next_variant_position(product.id))
    _variant_fields(variant, data)
    ctx.writes.add(variant)
    return {"productVariant": Shaped("ProductVariant", variant.id)}


def variant_update(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    variant = _owned(ctx, m.ProductVariant, data["id"], "ProductVariant")
    _variant_fields(variant, data)
    variant.updated_at = utcnow()
    return {"productVariant": Shaped("ProductVariant", variant.id)}


def variant_delete(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    ctx.writes.remove(_owned(ctx, m.ProductVariant, data["id"], "ProductVariant"))
    return {"deletedProductVariantId": data["id"]}


def _image_url(data: dict[str, Any]) -> str | None:
    url = data.get("originalUrl")
    if url is None:
        return None
    problem = check_app_url(url.strip(), "originalUrl")
    if problem:
        raise UserErrors(("originalUrl", problem))
    return url.strip()


def image_create(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    product = _owned(ctx, m.Product, data["productId"], "Product", "productId")
    url = _image_url(data)
    position = _int(data, "position", low=1, high=10_000) or ctx.writes.next_image_position(product.id)
    image = m.ProductImage(account_id=ctx.account_id, product_id=product.id, original_url=url, position=position)
    ctx.writes.add(image)
    return {"productImage": Shaped("ProductImage", image.id)}


def image_update(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    image = _owned(ctx, m.ProductImage, data["id"], "ProductImage")
    url = _image_url(data)
    if url is not None:
        image.original_url = url
    position = _int(data, "position", low=1, high=10_000)
    if position is not None:
        image.position = position
    return {"productImage": Shaped("ProductImage", image.id)}


def image_delete(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    ctx.writes.remove(_owned(ctx, m.ProductImage, data["id"], "ProductImage"))
    return {"deletedProductImageId": data["id"]}


def order_confirm(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    order = _owned(ctx, m.Order, data["id"], "Order")
    if order.is_cancelled:
        raise UserErrors(("id", "A cancelled order cannot be confirmed."))
    if order.is_confirmed:
        raise UserErrors(("id", "The order is already confirmed."))
    now = utcnow()
    order.is_confirmed, order.confirmed_at, order.status, order.updated_at = True, now, "CONFIRMED", now
    return {"order": Shaped("Order", order.id)}


def order_cancel(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    order = _owned(ctx, m.Order, data["id"], "Order")
    if order.is_cancelled:
        raise UserErrors(("id", "The order is already cancelled."))
    if order.is_fulfilled:
        raise UserErrors(("id", "A fulfilled order cannot be cancelled."))
    now = utcnow()
    order.is_cancelled, order.cancelled_at, order.status, order.updated_at = True, now, "CANCELLED", now
    return {"order": Shaped("Order", order.id)}


def _shipment_fields(shipment: m.Shipment, data: dict[str, Any]) -> None:
    carrier = _text(data, "carrier", max_length=100)
    if carrier is not None:
        if not carrier:
            raise UserErrors(("carrier", "carrier must not be blank."))
        shipment.carrier = carrier
    code = _text(data, "trackingCode", max_length=200)
    if code is not None:
        shipment.tracking_code = code
    url = data.get("trackingUrl")
    if url is not None and url.strip():
        problem = check_app_url(url.strip(), "trackingUrl")
        if problem:
            raise UserErrors(("trackingUrl", problem))
        shipment.tracking_url = url.strip()
    if data.get("status") is not None:
        shipment.status = data["status"]


def _mark_fulfilled_if_complete(ctx: RequestContext, order: m.Order) -> None:
    ordered = ctx.writes.ordered_quantities(order.id)
    shipped = ctx.writes.shipped_quantities(order.id)
    if ordered and all(shipped.get(op, 0) >= qty for op, qty in ordered.items()):
        order.is_fulfilled, order.status, order.updated_at = True, "FULFILLED", utcnow()


def shipment_create(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    order = _owned(ctx, m.Order, data["orderId"], "Order", "orderId")
    if order.is_cancelled:
        raise UserErrors(("orderId", "A cancelled order cannot be shipped."))
    if not order.is_confirmed:
        raise UserErrors(("orderId", "Confirm the order before shipping it."))
    shipment = m.Shipment(account_id=ctx.account_id, order_id=order.id, carrier="", tracking_code="",
                          tracking_url="", status="PENDING")
    if _text(data, "carrier", required=True) is None:
        raise UserErrors(("carrier", "carrier is required."))
    _shipment_fields(shipment, data)
    ordered = ctx.writes.ordered_quantities(order.id)
    items = data.get("items")
    wanted: list[tuple[int, int]] = []
    if items is None:
        wanted = list(ordered.items())
    else:
        if not items:
            raise UserErrors(("items", "A shipment needs at least one item."))
        for item in items:
            op_id = local_id(item["orderProductId"], "OrderProduct")
            if op_id is None or op_id not in ordered:
                raise UserErrors(("items", "Every item must be an order product of this order."))
            if any(op_id == seen for seen, _ in wanted):
                # Two items of one order product would together ship more than was ordered.
                raise UserErrors(("items", "Give each order product once."))
            if not 1 <= item["quantity"] <= ordered[op_id]:
                raise UserErrors(("items", "An item's quantity must be between 1 and the quantity ordered."))
            wanted.append((op_id, item["quantity"]))
    ctx.writes.add(shipment)
    for op_id, quantity in wanted:
        ctx.writes.add(m.ShipmentItem(account_id=ctx.account_id, shipment_id=shipment.id,
                                       order_product_id=op_id, quantity=quantity))
    ctx.writes.flush()
    _mark_fulfilled_if_complete(ctx, order)
    return {"shipment": Shaped("Shipment", shipment.id)}


def shipment_update(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    shipment = _owned(ctx, m.Shipment, data["id"], "Shipment")
    _shipment_fields(shipment, data)
    shipment.updated_at = utcnow()
    ctx.writes.flush()
    order = ctx.writes.get(m.Order, shipment.order_id)
    assert order is not None
    _mark_fulfilled_if_complete(ctx, order)
    return {"shipment": Shaped("Shipment", shipment.id)}


def customer_create(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    name = _text(data, "companyName", required=True)
    email = _text(data, "email", max_length=320) or ""
    if email and not _EMAIL.fullmatch(email):
        raise UserErrors(("email", "email is not an email address."))
    address = _text(data, "address", max_length=2000) or ""
    customer = m.Customer(account_id=ctx.account_id, company_name=name, email=email, address=address)
    ctx.writes.add(customer)
    return {"customer": Shaped("Customer", customer.id)}


MUTATIONS: dict[str, tuple[str, Callable[[RequestContext, dict[str, Any]], dict[str, Any]]]] = {
    "accountUpdate": ("account", account_update),
    "productCreate": ("product", product_create),
    "productUpdate": ("product", product_update),
    "productDelete": ("deletedProductId", product_delete),
    "productVariantCreate": ("productVariant", variant_create),
    "productVariantUpdate": ("productVariant", variant_update),
    "productVariantDelete": ("deletedProductVariantId", variant_delete),
    "productImageCreate": ("productImage", image_create),
    "productImageUpdate": ("productImage", image_update),
    "productImageDelete": ("deletedProductImageId", image_delete),
    "orderConfirm": ("order", order_confirm),
    "orderCancel": ("order", order_cancel),
    "shipmentCreate": ("shipment", shipment_create),
    "shipmentUpdate": ("shipment", shipment_update),
    "customerCreate": ("customer", customer_create),
}


def bind_mutations(schema: GraphQLSchema) -> None:
    mutation_type = schema.mutation_type
    assert mutation_type is not None
    for name, (payload_field, run) in MUTATIONS.items():
        mutation_type.fields[name].resolve = mutation_resolver(name, payload_field, run)
