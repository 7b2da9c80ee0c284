"""Batch loading within one request: no N+1 queries.

graphql-core's synchronous executor resolves a list item by item, depth first. When a page
of parents is loaded, its ids are *primed* into the loaders of their relations; the first
child lookup then loads the children of every primed parent in one query. The number of
queries therefore grows with the depth of a query, not with the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..store.repositories import catalogue as c
from ..store.repositories.catalogue import CatalogueRepository, TypeSpec


class BatchLoader:
    def __init__(self, fetch: Callable[[list[int]], dict[int, Any]], default: Any = None) -> None:
        self._fetch = fetch
        self._default = default
        self._cache: dict[int, Any] = {}
        self._pending: set[int] = set()

    def prime(self, keys: Iterable[int | None]) -> None:
        self._pending.update(k for k in keys if k is not None and k not in self._cache)

    def load(self, key: int) -> Any:
        if key not in self._cache:
            batch = self._pending | {key}
            self._pending = set()
            found = self._fetch(sorted(batch))
            for k in batch:
                value = found.get(k)
                self._cache[k] = value if value is not None else self._default_value()
        return self._cache[key]

    def _default_value(self) -> Any:
        return list(self._default) if isinstance(self._default, list) else self._default

    def clear(self) -> None:
        self._cache.clear()
        self._pending.clear()


_BY_ID: dict[str, TypeSpec] = {
    "product_by_id": c.PRODUCT, "variant_by_id": c.VARIANT, "image_by_id": c.IMAGE,
    "customer_by_id": c.CUSTOMER, "order_by_id": c.ORDER, "order_product_by_id": c.ORDER_PRODUCT,
    "invoice_by_id": c.INVOICE, "invoice_item_by_id": c.INVOICE_ITEM, "shipment_by_id": c.SHIPMENT,
}
_CHILDREN: dict[str, tuple[TypeSpec, str, tuple[Any, ...]]] = {  # loader -> (spec, parent key, order)
    "variants_by_product": (c.VARIANT, "product_id", (c.m.ProductVariant.position,)),
    "images_by_product": (c.IMAGE, "product_id", (c.m.ProductImage.position,)),
    "products_by_order": (c.ORDER_PRODUCT, "order_id", ()),
    "invoices_by_order": (c.INVOICE, "order_id", ()),
    "shipments_by_order": (c.SHIPMENT, "order_id", ()),
    "items_by_invoice": (c.INVOICE_ITEM, "invoice_id", ()),
    "items_by_shipment": (c.SHIPMENT_ITEM, "shipment_id", ()),
}


@dataclass(frozen=True)
class Relation:
    """A field that leads from one object to others.

    ``children``: the rows whose ``key`` column holds the parent's id, through the loader
    ``loader`` (a connection, or a plain list when ``is_list``); ``parent``: the one row whose
    id the parent's ``key`` column holds."""

    kind: str  # "children" or "parent"
    loader: str
    key: str
    is_list: bool = False

    @property
    def spec(self) -> TypeSpec:
        return _BY_ID[self.loader] if self.kind == "parent" else _CHILDREN[self.loader][0]

    @property
    def order(self) -> tuple[Any, ...]:
        return () if self.kind == "parent" else _CHILDREN[self.loader][2]


RELATIONS: dict[tuple[str, str], Relation] = {
    ("Product", "variants"): Relation("children", "variants_by_product", "product_id"),
    ("Product", "images"): Relation("children", "images_by_product", "product_id"),
    ("ProductVariant", "product"): Relation("parent", "product_by_id", "product_id"),
    ("Order", "customer"): Relation("parent", "customer_by_id", "customer_id"),
    ("Order", "products"): Relation("children", "products_by_order", "order_id"),
    ("Order", "invoices"): Relation("children", "invoices_by_order", "order_id"),
    ("Order", "shipments"): Relation("children", "shipments_by_order", "order_id"),
    ("OrderProduct", "variant"): Relation("parent", "variant_by_id", "variant_id"),
    ("Invoice", "order"): Relation("parent", "order_by_id", "order_id"),
    ("Invoice", "items"): Relation("children", "items_by_invoice", "invoice_id"),
    ("Shipment", "order"): Relation("parent", "order_by_id", "order_id"),
    ("Shipment", "items"): Relation("children", "items_by_shipment", "shipment_id", is_list=True),
    ("ShipmentItem", "orderProduct"): Relation("parent", "order_product_by_id", "order_product_id"),
}


def _related() -> dict[str, list[tuple[str, str]]]:
    """Per type: the loaders to prime with a page of its rows, and the row key that feeds each
    (the row's own id for its children, the parent's id column for its parent)."""
    related: dict[str, list[tuple[str, str]]] = {}
    for (type_name, _), relation in RELATIONS.items():
        key = "_id" if relation.kind == "children" else f"_{relation.key}"
        related.setdefault(type_name, []).append((relation.loader, key))
    return related


_RELATED = _related()


class Loaders:
    """The request's loaders, made on first use (most requests need none or few)."""

    def __init__(self, catalogue: CatalogueRepository) -> None:
        self.catalogue = catalogue
        self._loaders: dict[str, BatchLoader] = {}

    def _make(self, name: str) -> BatchLoader:
        if name in _BY_ID:
            loader = BatchLoader(self._by_ids(_BY_ID[name]))
        else:
            spec, key, order = _CHILDREN[name]
            loader = BatchLoader(self._children(spec, key, order), default=[])
        self._loaders[name] = loader
        return loader

    def _by_ids(self, spec: TypeSpec) -> Callable[[list[int]], dict[int, Any]]:
        def fetch(ids: list[int]) -> dict[int, Any]:
            rows = self.catalogue.by_ids(spec, ids)
            self.prime_related(spec.name, rows.values())
            return rows

        return fetch

    def _children(self, spec: TypeSpec, key: str, order: tuple[Any, ...]) -> Callable[[list[int]], dict[int, Any]]:
        def fetch(ids: list[int]) -> dict[int, Any]:
            grouped = self.catalogue.children(spec, key, ids, order)
            self.prime_related(spec.name, (row for rows in grouped.values() for row in rows))
            return grouped

        return fetch

    def __getitem__(self, name: str) -> BatchLoader:
        loader = self._loaders.get(name)
        return loader if loader is not None else self._make(name)

    def prime_related(self, type_name: str, rows: Iterable[dict[str, Any]]) -> None:
        related = _RELATED.get(type_name)
        if not related:
            return
        rows = list(rows)
        for loader, key in related:
            self[loader].prime(row.get(key) for row in rows)

    def clear(self) -> None:
        for loader in self._loaders.values():
            loader.clear()
