"""Reads of the API's data: pages with keyset cursors and batch loads, always per account.

Rows come back as plain dicts keyed by GraphQL field names (``inventoryQuantity``), shaped
once here: money as a two-decimal string, times as ISO 8601, ``id`` as a global ID. The API
layer resolves them with graphql-core's default resolver, without per-field Python code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from ....protocol.global_ids import global_id_encoder
from .. import models as m
from ..driver_statements import id_in, text_in
from .cursors import cursor_kind, decode_cursor, iso_utc

if TYPE_CHECKING:
    from ..transaction import Transaction


@dataclass(frozen=True)
class TypeSpec:
    """How one table appears in the API."""

    name: str
    model: type[m.Base]
    columns: dict[str, Any]  # GraphQL field -> column
    keys: tuple[str, ...] = ()  # raw columns kept under "_" for relations (e.g. product_id)
    money: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset()

    @property
    def fields(self) -> tuple[str, ...]:
        """Every GraphQL field a row can carry, ``id`` (the global ID) first."""
        return ("id", *self.columns)

    def select(self, fields: Sequence[str] | None = None, keys: Sequence[str] | None = None) -> list[Any]:
        """The columns of a projection, in the row layout every read here returns:
        ``_id``, then ``fields`` (all by default), then each relation key as ``_key``."""
        model_id = self.model.id  # type: ignore[attr-defined]
        cols = [model_id.label("_id")]
        for name in self.fields if fields is None else fields:
            cols.append((model_id if name == "id" else self.columns[name]).label(name))
        cols += [getattr(self.model, key).label(f"_{key}") for key in (self.keys if keys is None else keys)]
        return cols

    def shaping(self) -> dict[str, Callable[[Any], Any]]:
        """Per field, how a column's value becomes the API's (money, times, global IDs)."""
        shaping: dict[str, Callable[[Any], Any]] = {"id": _global_ids(self.name)}
        shaping.update({name: _money for name in self.money})
        shaping.update({name: iso_utc for name in self.times})
        return shaping


@cache
def _global_ids(type_name: str) -> Callable[[Any], str]:
    """One remembering encoder per type, shared by every projection of it."""
    return global_id_encoder(type_name)


def _money(value: Any) -> str:
    """Two decimals, straight from the driver's value (SQLite: a float, PostgreSQL: a Decimal).

    SQLAlchemy's own processor would make ``Decimal("%.2f" % value)`` of a float first; the
    digits are the same, so it is skipped (``takes_driver_value``)."""
    if isinstance(value, str):
        value = Decimal(value)
    return f"{value:.2f}"


_money.takes_driver_value = True  # type: ignore[attr-defined]


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

ACCOUNT = TypeSpec("Account", m.Account, {
    "name": m.Account.name, "type": m.Account.type, "slug": m.Account.slug, "currency": m.Account.currency,
    "createdAt": m.Account.created_at,
}, times=frozenset({"createdAt"}))

SPECS: dict[str, TypeSpec] = {s.name: s for s in (
    PRODUCT, VARIANT, IMAGE, CUSTOMER, ORDER, ORDER_PRODUCT, INVOICE, INVOICE_ITEM, SHIPMENT, SHIPMENT_ITEM,
)}


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


@dataclass
class RowPage:
    rows: Rows
    keys: list[list[Any]]
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


def _scoped(spec: TypeSpec, fields: Sequence[str] | None, keys: Sequence[str] | None) -> Any:
    return select(*spec.select(fields, keys)).where(
        spec.model.account_id == bindparam("account_id"))  # type: ignore[attr-defined]


@dataclass
class Rows:
    """Rows of one projection, in ``TypeSpec.select``'s layout, values already shaped."""

    columns: tuple[str, ...]
    rows: list[Any]

    def dicts(self, type_name: str) -> list[dict[str, Any]]:
        columns = self.columns
        return [{**dict(zip(columns, row, strict=True)), "__typename": type_name} for row in self.rows]


class CatalogueRepository:
    """Reads (and, given a session, the objects mutations change) of one account.

    Runs in one ``Transaction`` (mutations use its ORM session). Reads run on the driver (``driver_statements``), each statement compiled once per shape and
    projection: ``fields``/``keys`` name the columns a caller needs, all of them by default.
    The ``*_rows`` methods return ``Rows``; the others dicts keyed by field name."""

    def __init__(self, tx: Transaction, account_id: int) -> None:
        self.tx = tx
        self.account_id = account_id

    @property
    def session(self) -> Session:
        return self.tx.session

    def _read(self, spec: TypeSpec | None, key: tuple[Any, ...], build: Callable[[Dialect], Any],
              json_lists: Sequence[str] = (), **params: Any) -> Rows:
        """Run the statement of this shape (built and compiled once per database)."""
        tx = self.tx
        dialect = tx.dialect
        read = tx.statement(("catalogue", *key), lambda: build(dialect), json_lists,
                            spec.shaping if spec else None)
        return Rows(read.columns, tx.rows(read, {"account_id": self.account_id, **params}))

    def page_rows(
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
        fields: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
    ) -> RowPage:
        """One page in keyset order. ``filters`` are named conditions whose values are bound
        parameters (given in ``params``), so each shape of statement is built only once."""
        model_id = spec.model.id  # type: ignore[attr-defined]
        key_columns = [ordering.column, model_id] if ordering.column is not None else [model_id]
        desc = ordering.descending
        backwards = last is not None
        limit = last if backwards else first
        assert limit is not None
        values: dict[str, Any] = dict(params or {}, limit=limit + 1)
        kinds = [cursor_kind(column, model_id) for column in key_columns]
        if after is not None:
            values.update({f"after_{i}": v for i, v in enumerate(decode_cursor(after, kinds))})
        if before is not None:
            values.update({f"before_{i}": v for i, v in enumerate(decode_cursor(before, kinds))})
        filter_names = tuple(name for name, _ in filters)
        fields = None if fields is None else tuple(fields)
        keys = None if keys is None else tuple(keys)
        shape = ("page", spec.name, str(ordering.column), desc, backwards, after is not None,
                 before is not None, filter_names, fields, keys)

        def build(_dialect: Dialect) -> Any:
            query = _scoped(spec, fields, keys).where(*(condition for _, condition in filters))
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

        found = self._read(spec, shape, build, **values)
        rows = found.rows
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        if ordering.column is not None:
            sort_index = len(found.columns) - 1
            page_keys = [[row[sort_index], row[0]] for row in rows]
        else:
            page_keys = [[row[0]] for row in rows]
        # Relay: in the direction of travel "more" is exact; the other side is exact when a
        # cursor was given (something lies beyond it), and false at the start.
        has_next = more if not backwards else before is not None
        has_previous = more if backwards else after is not None

        def count() -> int:
            counted = self._read(
                None, ("count", spec.name, filter_names),
                lambda _dialect: select(func.count().label("count")).select_from(spec.model).where(
                    spec.model.account_id == bindparam("account_id"),  # type: ignore[attr-defined]
                    *(condition for _, condition in filters),
                ),
                **(params or {}),
            )
            return int(counted.rows[0][0] or 0)

        return RowPage(Rows(found.columns, rows), page_keys, has_next, has_previous, count)

    def page(self, spec: TypeSpec, **options: Any) -> Page:
        found = self.page_rows(spec, **options)
        return Page(found.rows.dicts(spec.name), found.keys, found.has_next, found.has_previous, found.count)

    def by_id_rows(self, spec: TypeSpec, ids: Iterable[int], fields: Sequence[str] | None = None,
                   keys: Sequence[str] | None = None) -> Rows:
        fields = None if fields is None else tuple(fields)
        keys = None if keys is None else tuple(keys)
        model_id = spec.model.id  # type: ignore[attr-defined]
        return self._read(spec, ("by_ids", spec.name, fields, keys), lambda dialect: _scoped(spec, fields, keys).where(
            id_in(model_id, dialect)), json_lists=("ids",), ids=sorted(set(ids)))

    def by_ids(self, spec: TypeSpec, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return {row["_id"]: row for row in self.by_id_rows(spec, wanted).dicts(spec.name)}

    def children_rows(self, spec: TypeSpec, parent_key: str, parent_ids: Iterable[int], order: Sequence[Any] = (),
                      fields: Sequence[str] | None = None, keys: Sequence[str] | None = None) -> Rows:
        """Children of the given parents, by parent, then in ``order`` then id (the order the
        (account_id, parent, ...) indexes give, so no sort); ``parent_key`` must be in ``keys``."""
        fields = None if fields is None else tuple(fields)
        keys = None if keys is None else tuple(keys)
        column = getattr(spec.model, parent_key)
        model_id = spec.model.id  # type: ignore[attr-defined]
        return self._read(
            spec, ("children", spec.name, parent_key, fields, keys),
            lambda dialect: _scoped(spec, fields, keys).where(id_in(column, dialect)).order_by(
                column, *order, model_id),
            json_lists=("ids",), ids=sorted(set(parent_ids)),
        )

    def children(self, spec: TypeSpec, parent_key: str, parent_ids: Iterable[int],
                 order: Sequence[Any] = ()) -> dict[int, list[dict[str, Any]]]:
        wanted = sorted(set(parent_ids))
        grouped: dict[int, list[dict[str, Any]]] = {pid: [] for pid in wanted}
        if not wanted:
            return grouped
        for row in self.children_rows(spec, parent_key, wanted, order).dicts(spec.name):
            grouped[row[f"_{parent_key}"]].append(row)
        return grouped

    def variants_by_sku(self, skus: Sequence[str]) -> list[dict[str, Any]]:
        if not skus:
            return []
        found = self._read(VARIANT, ("variants_by_sku",), lambda dialect: _scoped(VARIANT, None, None).where(
            text_in(m.ProductVariant.sku, dialect, "skus")).order_by(m.ProductVariant.id),
            json_lists=("skus",), skus=list(skus))
        return found.dicts(VARIANT.name)

    def account_rows(self, fields: Sequence[str] | None = None) -> Rows:
        """The account itself (one row), in ``TypeSpec.select``'s layout."""
        fields = None if fields is None else tuple(fields)
        return self._read(ACCOUNT, ("account", fields), lambda _dialect: select(*ACCOUNT.select(fields, ())).where(
            m.Account.id == bindparam("account_id")))

    def data_version(self) -> int:
        """The account's data version (``models.DataVersion``); 0 before its first change."""
        rows = self._read(None, ("data_version",), lambda _dialect: select(m.DataVersion.version).where(
            m.DataVersion.account_id == bindparam("account_id"))).rows
        return int(rows[0][0]) if rows else 0

    def account(self) -> dict[str, Any] | None:
        rows = self.account_rows().dicts(ACCOUNT.name)
        return rows[0] if rows else None

    def get_model(self, model: type[m.Base], object_id: int) -> Any:
        """An ORM object of this account, for mutations; ``None`` for other accounts' ids."""
        obj = self.session.get(model, object_id)
        if obj is None or getattr(obj, "account_id", None) != self.account_id:
            return None
        return obj
