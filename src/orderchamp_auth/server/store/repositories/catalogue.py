"""Reads of the API's data: pages with keyset cursors and batch loads, always per account.

Rows come back as plain dicts keyed by GraphQL field names (``inventoryQuantity``), shaped
once here: money as a two-decimal string, times as ISO 8601, ``id`` as a global ID. The API
layer resolves them with graphql-core's default resolver, without per-field Python code.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from ....protocol.global_ids import encode_global_id
from .. import models as m
from ..database import UTCDateTime
from ..statements import prepared


@dataclass(frozen=True)
class TypeSpec:
    """How one table appears in the API."""

    name: str
    model: type[m.Base]
    columns: dict[str, Any]  # GraphQL field -> column
    keys: tuple[str, ...] = ()  # raw columns kept under "_" for relations (e.g. product_id)
    money: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset()
    _selected: list[Any] = field(default_factory=list, compare=False, repr=False)

    def selected(self) -> list[Any]:
        if not self._selected:
            cols = [self.model.id.label("_id")]  # type: ignore[attr-defined]
            cols += [col.label(name) for name, col in self.columns.items()]
            cols += [getattr(self.model, key).label(f"_{key}") for key in self.keys]
            self._selected.extend(cols)
        return self._selected

    def shape(self, row: Any, keys: list[str] | None = None) -> dict[str, Any]:
        data = dict(zip(keys, row, strict=True)) if keys is not None else dict(row._mapping)
        for name in self.money:
            value = data.get(name)
            if value is not None:
                data[name] = f"{Decimal(value):.2f}"
        for name in self.times:
            value = data.get(name)
            if value is not None:
                data[name] = _iso(value)
        data["id"] = encode_global_id(self.name, data["_id"])
        data["__typename"] = self.name
        return data


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


PRODUCT = TypeSpec("Product", m.Product, {
    "title": m.Product.title, "description": m.Product.description, "brand": m.Product.brand,
    "createdAt": m.Product.created_at, "updatedAt": m.Product.updated_at,
}, times=frozenset({"createdAt", "updatedAt"}))
VARIANT = TypeSpec("ProductVariant", m.ProductVariant, {
    "title": m.ProductVariant.title, "sku": m.ProductVariant.sku, "price": m.ProductVariant.price,
    "inventoryQuantity": m.ProductVariant.inventory_quantity,
    "inventoryPolicy": m.ProductVariant.inventory_policy, "position": m.ProductVariant.position,
}, keys=("product_id",), money=frozenset({"price"}))
IMAGE = TypeSpec("ProductImage", m.ProductImage, {
    "position": m.ProductImage.position, "originalUrl": m.ProductImage.original_url,
}, keys=("product_id",))
CUSTOMER = TypeSpec("Customer", m.Customer, {
    "companyName": m.Customer.company_name, "email": m.Customer.email, "address": m.Customer.address,
    "createdAt": m.Customer.created_at,
}, times=frozenset({"createdAt"}))
ORDER = TypeSpec("Order", m.Order, {
    "number": m.Order.number, "reference": m.Order.reference, "status": m.Order.status,
    "currency": m.Order.currency, "totalPrice": m.Order.total_price, "isConfirmed": m.Order.is_confirmed,
    "isCancelled": m.Order.is_cancelled, "isFulfilled": m.Order.is_fulfilled,
    "confirmedAt": m.Order.confirmed_at, "cancelledAt": m.Order.cancelled_at, "createdAt": m.Order.created_at,
}, keys=("customer_id",), money=frozenset({"totalPrice"}),
    times=frozenset({"confirmedAt", "cancelledAt", "createdAt"}))
ORDER_PRODUCT = TypeSpec("OrderProduct", m.OrderProduct, {
    "sku": m.OrderProduct.sku, "title": m.OrderProduct.title, "quantity": m.OrderProduct.quantity,
    "unitPrice": m.OrderProduct.unit_price,
}, keys=("order_id", "variant_id"), money=frozenset({"unitPrice"}))
INVOICE = TypeSpec("Invoice", m.Invoice, {
    "number": m.Invoice.number, "totalPrice": m.Invoice.total_price, "currency": m.Invoice.currency,
    "createdAt": m.Invoice.created_at,
}, keys=("order_id",), money=frozenset({"totalPrice"}), times=frozenset({"createdAt"}))
INVOICE_ITEM = TypeSpec("InvoiceItem", m.InvoiceItem, {
    "title": m.InvoiceItem.title, "quantity": m.InvoiceItem.quantity, "unitPrice": m.InvoiceItem.unit_price,
}, keys=("invoice_id",), money=frozenset({"unitPrice"}))
SHIPMENT = TypeSpec("Shipment", m.Shipment, {
    "carrier": m.Shipment.carrier, "trackingCode": m.Shipment.tracking_code,
    "trackingUrl": m.Shipment.tracking_url, "status": m.Shipment.status,
    "createdAt": m.Shipment.created_at, "updatedAt": m.Shipment.updated_at,
}, keys=("order_id",), times=frozenset({"createdAt", "updatedAt"}))
SHIPMENT_ITEM = TypeSpec("ShipmentItem", m.ShipmentItem, {
    "quantity": m.ShipmentItem.quantity,
}, keys=("shipment_id", "order_product_id"))

SPECS: dict[str, TypeSpec] = {s.name: s for s in (
    PRODUCT, VARIANT, IMAGE, CUSTOMER, ORDER, ORDER_PRODUCT, INVOICE, INVOICE_ITEM, SHIPMENT, SHIPMENT_ITEM,
)}


# Cursors ----------------------------------------------------------------------------------


class CursorError(ValueError):
    pass


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_cursor_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": _iso(value)}
    return value


def decode_cursor(cursor: str, length: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("The cursor is not valid.") from None
    if not isinstance(values, list) or len(values) != length:
        raise CursorError("The cursor is not valid.")
    out = []
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("t"), str):
            try:
                out.append(dt.datetime.fromisoformat(value["t"].replace("Z", "+00:00")))
            except ValueError:
                raise CursorError("The cursor is not valid.") from None
        elif isinstance(value, (int, str)) and not isinstance(value, bool):
            out.append(value)
        else:
            raise CursorError("The cursor is not valid.")
    return out


@dataclass(frozen=True)
class Ordering:
    """A keyset order: one sort column (or none) and the id as tie-breaker."""

    column: Any | None = None
    descending: bool = False


@dataclass
class Page:
    rows: list[dict[str, Any]]
    keys: list[list[Any]]  # the keyset values of each row, which its cursor encodes
    has_next: bool
    has_previous: bool
    count: Callable[[], int]


def _after(columns: list[Any], values: list[Any], descending: bool) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the (columns..., ascending or descending) order."""
    column, rest = columns[0], columns[1:]
    value, rest_values = values[0], values[1:]
    beyond = column < value if descending else column > value
    if not rest:
        return beyond
    return or_(beyond, and_(column == value, _after(rest, rest_values, descending)))


def _scoped(spec: TypeSpec) -> Any:
    return select(*spec.selected()).where(spec.model.account_id == bindparam("account_id"))  # type: ignore[attr-defined]


class CatalogueRepository:
    """Reads (and, given a session, the objects mutations change) of one account.

    Takes an ORM ``Session`` (mutations) or a plain ``Connection`` (read-only requests).
    Reads are Core selects either way: the ORM's result machinery would cost more than
    the queries themselves."""

    def __init__(self, source: Session | Connection, account_id: int) -> None:
        self.source = source
        self.account_id = account_id

    @property
    def session(self) -> Session:
        if not isinstance(self.source, Session):
            raise TypeError("this operation needs an ORM session (a mutation)")
        return self.source

    def _connection(self) -> Connection:
        return self.source.connection() if isinstance(self.source, Session) else self.source

    def _rows(self, statement: Any) -> Any:
        return self._connection().execute(statement)

    def _base(self, spec: TypeSpec) -> Any:
        return select(*spec.selected()).where(spec.model.account_id == self.account_id)  # type: ignore[attr-defined]

    def _cached(self, key: tuple[Any, ...], build: Callable[[], Any], **params: Any) -> Any:
        """Run a statement built once per shape; only its parameters change per request.

        Building a SQLAlchemy statement costs more than running it on SQLite, so the hot
        lookups keep theirs (with ``account_id`` always a bound parameter)."""
        statement = prepared(("catalogue", *key), build)
        return self._rows_with(statement, {"account_id": self.account_id, **params})

    def _rows_with(self, statement: Any, params: dict[str, Any]) -> Any:
        return self._connection().execute(statement, params)

    def page(
        self,
        spec: TypeSpec,
        *,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        ordering: Ordering = Ordering(),
        filters: Sequence[tuple[str, ColumnElement[bool]]] = (),
        params: dict[str, Any] | None = None,
    ) -> Page:
        """One page in keyset order. ``filters`` are named conditions whose values are bound
        parameters (given in ``params``), so each shape of statement is built only once."""
        model_id = spec.model.id  # type: ignore[attr-defined]
        key_columns = [ordering.column, model_id] if ordering.column is not None else [model_id]
        desc = ordering.descending
        backwards = last is not None
        limit = last if backwards else first
        assert limit is not None
        values: dict[str, Any] = dict(params or {}, limit=limit + 1)
        if after is not None:
            values.update({f"after_{i}": v for i, v in enumerate(self._cursor(after, key_columns))})
        if before is not None:
            values.update({f"before_{i}": v for i, v in enumerate(self._cursor(before, key_columns))})
        filter_names = tuple(name for name, _ in filters)
        shape = ("page", spec.name, str(ordering.column), desc, backwards, after is not None,
                 before is not None, filter_names)

        def build() -> Any:
            query = _scoped(spec).where(*(condition for _, condition in filters))
            if ordering.column is not None:
                query = query.add_columns(ordering.column.label("_sort"))
            if after is not None:
                bound = [bindparam(f"after_{i}") for i in range(len(key_columns))]
                query = query.where(_after(key_columns, bound, desc))
            if before is not None:
                bound = [bindparam(f"before_{i}") for i in range(len(key_columns))]
                query = query.where(_after(key_columns, bound, not desc))
            scan_desc = desc != backwards
            order_by = [c.desc() if scan_desc else c.asc() for c in key_columns]
            return query.order_by(*order_by).limit(bindparam("limit"))

        result = self._cached(shape, build, **values)
        names = list(result.keys())
        rows = list(result)
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        shaped, keys = [], []
        id_index = names.index("_id")
        sort_index = names.index("_sort") if ordering.column is not None else None
        for row in rows:
            shaped.append(spec.shape(row, names))
            keys.append([row[sort_index], row[id_index]] if sort_index is not None else [row[id_index]])
        # Relay: in the direction of travel "more" is exact; the other side is exact when a
        # cursor was given (something lies beyond it), and false at the start.
        has_next = more if not backwards else before is not None
        has_previous = more if backwards else after is not None

        def count() -> int:
            statement = self._cached(
                ("count", spec.name, filter_names),
                lambda: select(func.count()).select_from(spec.model).where(
                    spec.model.account_id == bindparam("account_id"),  # type: ignore[attr-defined]
                    *(condition for _, condition in filters),
                ),
                **(params or {}),
            )
            return int(statement.scalar() or 0)

        return Page(shaped, keys, has_next, has_previous, count)

    @staticmethod
    def _cursor(cursor: str, columns: list[Any]) -> list[Any]:
        """Decode a cursor and check each value has the type of its column."""
        values = decode_cursor(cursor, len(columns))
        for value, column in zip(values, columns, strict=True):
            expected = dt.datetime if isinstance(column.type, UTCDateTime) else int
            if not isinstance(value, expected) or isinstance(value, bool):
                raise CursorError("The cursor is not valid.")
        return values

    def by_ids(self, spec: TypeSpec, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        model_id = spec.model.id  # type: ignore[attr-defined]
        result = self._cached(("by_ids", spec.name), lambda: _scoped(spec).where(
            model_id.in_(bindparam("ids", expanding=True))), ids=wanted)
        keys = list(result.keys())
        return {row[0]: spec.shape(row, keys) for row in result}

    def children(self, spec: TypeSpec, parent_key: str, parent_ids: Iterable[int],
                 order: Sequence[Any] = ()) -> dict[int, list[dict[str, Any]]]:
        wanted = sorted(set(parent_ids))
        grouped: dict[int, list[dict[str, Any]]] = {pid: [] for pid in wanted}
        if not wanted:
            return grouped
        column = getattr(spec.model, parent_key)
        model_id = spec.model.id  # type: ignore[attr-defined]
        result = self._cached(("children", spec.name, parent_key), lambda: _scoped(spec).where(
            column.in_(bindparam("ids", expanding=True))).order_by(*order, model_id), ids=wanted)
        keys = list(result.keys())
        parent_index = keys.index(f"_{parent_key}")
        for row in result:
            grouped[row[parent_index]].append(spec.shape(row, keys))
        return grouped

    def variants_by_sku(self, skus: Sequence[str]) -> list[dict[str, Any]]:
        if not skus:
            return []
        rows = self._rows(
            self._base(VARIANT).where(m.ProductVariant.sku.in_(list(skus))).order_by(m.ProductVariant.id)
        )
        return [VARIANT.shape(row) for row in rows]

    def account(self) -> dict[str, Any] | None:
        row = self._cached(("account",), lambda: select(
            m.Account.id, m.Account.name, m.Account.type, m.Account.slug, m.Account.currency, m.Account.created_at,
        ).where(m.Account.id == bindparam("account_id"))).first()
        if row is None:
            return None
        return {
            "__typename": "Account", "_id": row[0], "id": encode_global_id("Account", row[0]), "name": row[1],
            "type": row[2], "slug": row[3], "currency": row[4], "createdAt": _iso(row[5]),
        }

    def get_model(self, model: type[m.Base], object_id: int) -> Any:
        """An ORM object of this account, for mutations; ``None`` for other accounts' ids."""
        obj = self.session.get(model, object_id)
        if obj is None or getattr(obj, "account_id", None) != self.account_id:
            return None
        return obj
