"""What the GraphQL API reads, described once: each type's table, columns and their shaping,
its relations, whether it is a node (and which scope ``node`` needs for it), and each root
field with the way its arguments become filters and sorts.

Both engines are built from this: the plan compiler (``plan.py``) and graphql-core's
resolvers (``resolvers.py``, ``loaders.py``); so is the list of tables whose changes raise an
account's data version (``watched_tables``, which migration 0004's triggers must cover).
Field scopes are not here: they are declared once, in ``schema.graphql`` (``@scope``).

To add a type: describe it in ``TYPES`` (and its SDL); a root field: in ``ROOT_FIELDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from ...protocol.global_ids import global_id_encoder
from ...protocol.scopes import Scope
from ..store.repositories.catalogue import Projection
from .cursors import iso_utc


@dataclass(frozen=True)
class Relation:
    """A field that leads to other objects. ``parent``: the one ``target`` whose id this
    object's ``key`` column holds; ``children``: the ``target`` rows whose ``key`` column
    holds this object's id, in ``order`` then id, as a connection (or a plain list)."""

    field: str
    target: str
    kind: str  # "parent" or "children"
    key: str
    order: tuple[str, ...] = ()
    is_list: bool = False


@dataclass(frozen=True, eq=False)  # one object per type: hashed by identity
class ObjectType:
    name: str
    table: str
    columns: dict[str, str]  # GraphQL field -> column; "id" is always there (the global ID)
    money: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset()
    relations: tuple[Relation, ...] = ()
    node_scope: Scope | None = None  # reachable through ``node`` with this scope

    def relation(self, name: str) -> Relation | None:
        return next((r for r in self.relations if r.field == name), None)

    @property
    def fields(self) -> tuple[str, ...]:
        return ("id", *self.columns)

    @property
    def keys(self) -> tuple[str, ...]:
        """The columns its parent relations follow (``product_id``)."""
        return tuple(r.key for r in self.relations if r.kind == "parent")

    def shape_of(self, name: str) -> Callable[[Any], Any] | None:
        """How a column's value becomes the API's (money, times, global IDs); None: as read."""
        if name == "id":
            return _global_ids(self.name)
        if name in self.money:
            return money
        if name in self.times:
            return iso_utc
        return None

    def projection(self, fields: tuple[str, ...], keys: tuple[str, ...] = ()) -> Projection:
        """The read of ``fields`` (shaped) then ``keys`` (raw), after the row id."""
        return _projection(self, fields, keys)


@cache
def _projection(spec: ObjectType, fields: tuple[str, ...], keys: tuple[str, ...]) -> Projection:
    return Projection(spec.table, tuple("id" if f == "id" else spec.columns[f] for f in fields) + keys,
                      tuple(spec.shape_of(f) for f in fields) + (None,) * len(keys))


@cache
def _global_ids(type_name: str) -> Callable[[Any], str]:
    """One remembering encoder per type, shared by every projection of it."""
    return global_id_encoder(type_name)


def money(value: Any) -> str:
    """Two decimals, straight from the driver's value (SQLite: a float, PostgreSQL: a Decimal).

    SQLAlchemy's own processor would make ``Decimal("%.2f" % value)`` of a float first; the
    digits are the same, so it is skipped (``takes_driver_value``)."""
    if isinstance(value, str):
        value = Decimal(value)
    return f"{value:.2f}"


money.takes_driver_value = True  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Sort:
    column: str | None
    descending: bool = False


@dataclass(frozen=True)
class Filter:
    """An argument that narrows a list: ``op`` on ``column`` when the argument equals ``when``
    (``GIVEN``: whenever it is given, its value bound to the condition)."""

    argument: str
    column: str
    op: str  # as store.repositories.catalogue.Condition
    when: Any = None


GIVEN = object()


@dataclass(frozen=True, eq=False)
class RootField:
    """A field of ``Query``: ``account``, ``node``, ``connection`` (a page of ``type_name``),
    ``single`` (one by ``id``), ``by_texts`` (those whose ``column`` is in ``argument``), or
    ``own``: not the account's catalogue (``webhooks``: the token's app's subscriptions), with a
    resolver of its own (``webhook_mutations.bind_webhooks``); graphql-core answers it."""

    name: str
    kind: str
    type_name: str = ""
    sorts: dict[str, Sort] = field(default_factory=dict)  # the ``sort`` argument's values
    default_sort: str = ""
    filters: tuple[Filter, ...] = ()
    column: str = ""
    argument: str = ""


def _rel(field_: str, target: str, kind: str, key: str, order: tuple[str, ...] = (), is_list: bool = False) -> Relation:
    return Relation(field_, target, kind, key, order, is_list)


TYPES: dict[str, ObjectType] = {t.name: t for t in (
    ObjectType("Account", "accounts", {"name": "name", "type": "type", "slug": "slug", "currency": "currency",
                                       "createdAt": "created_at"},
               times=frozenset({"createdAt"}), node_scope=Scope.ACCOUNT_READ),
    ObjectType("Product", "products", {"title": "title", "description": "description", "brand": "brand",
                                       "createdAt": "created_at", "updatedAt": "updated_at"},
               times=frozenset({"createdAt", "updatedAt"}), node_scope=Scope.PRODUCTS_READ, relations=(
                   _rel("variants", "ProductVariant", "children", "product_id", ("position",)),
                   _rel("images", "ProductImage", "children", "product_id", ("position",)))),
    ObjectType("ProductVariant", "product_variants", {
        "title": "title", "sku": "sku", "price": "price", "inventoryQuantity": "inventory_quantity",
        "inventoryPolicy": "inventory_policy", "position": "position"},
        money=frozenset({"price"}), node_scope=Scope.PRODUCTS_READ,
        relations=(_rel("product", "Product", "parent", "product_id"),)),
    ObjectType("ProductImage", "product_images", {"position": "position", "originalUrl": "original_url"},
               node_scope=Scope.PRODUCTS_READ),
    ObjectType("Customer", "customers", {"companyName": "company_name", "email": "email", "address": "address",
                                         "createdAt": "created_at"},
               times=frozenset({"createdAt"}), node_scope=Scope.CUSTOMERS_READ),
    ObjectType("Order", "orders", {
        "number": "number", "reference": "reference", "status": "status", "currency": "currency",
        "totalPrice": "total_price", "isConfirmed": "is_confirmed", "isCancelled": "is_cancelled",
        "isFulfilled": "is_fulfilled", "confirmedAt": "confirmed_at", "cancelledAt": "cancelled_at",
        "createdAt": "created_at"},
        money=frozenset({"totalPrice"}), times=frozenset({"confirmedAt", "cancelledAt", "createdAt"}),
        node_scope=Scope.ORDERS_READ, relations=(
            _rel("customer", "Customer", "parent", "customer_id"),
            _rel("products", "OrderProduct", "children", "order_id"),
            _rel("invoices", "Invoice", "children", "order_id"),
            _rel("shipments", "Shipment", "children", "order_id"))),
    ObjectType("OrderProduct", "order_products", {"sku": "sku", "title": "title", "quantity": "quantity",
                                                  "unitPrice": "unit_price"},
               money=frozenset({"unitPrice"}), node_scope=Scope.ORDERS_READ,
               relations=(_rel("variant", "ProductVariant", "parent", "variant_id"),)),
    ObjectType("Invoice", "invoices", {"number": "number", "totalPrice": "total_price", "currency": "currency",
                                       "createdAt": "created_at"},
               money=frozenset({"totalPrice"}), times=frozenset({"createdAt"}), node_scope=Scope.ORDERS_READ,
               relations=(_rel("order", "Order", "parent", "order_id"),
                          _rel("items", "InvoiceItem", "children", "invoice_id"))),
    ObjectType("InvoiceItem", "invoice_items", {"title": "title", "quantity": "quantity", "unitPrice": "unit_price"},
               money=frozenset({"unitPrice"}), node_scope=Scope.ORDERS_READ),
    ObjectType("Shipment", "shipments", {
        "carrier": "carrier", "trackingCode": "tracking_code", "trackingUrl": "tracking_url", "status": "status",
        "createdAt": "created_at", "updatedAt": "updated_at"},
        times=frozenset({"createdAt", "updatedAt"}), node_scope=Scope.FULFILLMENT_READ, relations=(
            _rel("order", "Order", "parent", "order_id"),
            _rel("items", "ShipmentItem", "children", "shipment_id", is_list=True))),
    ObjectType("ShipmentItem", "shipment_items", {"quantity": "quantity"},
               relations=(_rel("orderProduct", "OrderProduct", "parent", "order_product_id"),)),
)}

ORDER_SORTS = {
    "CREATED_AT_ASC": Sort("created_at"), "CREATED_AT_DESC": Sort("created_at", True),
    "NUMBER_ASC": Sort("number"), "NUMBER_DESC": Sort("number", True),
}

ROOT_FIELDS: dict[str, RootField] = {r.name: r for r in (
    RootField("account", "account", "Account"),
    RootField("node", "node"),
    RootField("products", "connection", "Product"),
    RootField("product", "single", "Product"),
    RootField("productVariants", "by_texts", "ProductVariant", column="sku", argument="skus"),
    RootField("orders", "connection", "Order", sorts=ORDER_SORTS, default_sort="CREATED_AT_DESC", filters=(
        Filter("includeCancelled", "is_cancelled", "is_false", when=False),
        Filter("includeUnconfirmed", "is_confirmed", "is_true", when=False),
        Filter("since", "created_at", "at_least", when=GIVEN))),
    RootField("order", "single", "Order"),
    RootField("invoices", "connection", "Invoice"),
    RootField("shipments", "connection", "Shipment"),
    RootField("customers", "connection", "Customer"),
    RootField("customer", "single", "Customer"),
    RootField("webhooks", "own", "WebhookSubscription"),
)}


def watched_tables() -> list[str]:
    """Every table the API reads: a change to any of them must raise the data version that
    the response cache files its entries under (migration 0004's triggers)."""
    return sorted(t.table for t in TYPES.values())
