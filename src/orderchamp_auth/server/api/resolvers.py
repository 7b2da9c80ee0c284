"""Query resolvers. Objects are dicts shaped by the catalogue repository; most fields use the
default resolver. Scopes are declared in ``schema.graphql``; only ``node`` checks them here,
because its type is known only once the ID is decoded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from graphql import GraphQLSchema
from sqlalchemy import bindparam

from ...protocol.errors import GlobalIdError
from ...protocol.global_ids import decode_global_id, decode_global_int_id, encode_global_id
from ...protocol.scopes import Scope
from ..store import models as m
from ..store.database import UTCDateTime
from ..store.repositories import catalogue as c
from ..store.repositories.catalogue import Ordering, TypeSpec
from ..store.repositories.cursors import CursorError, iso_utc, parse_timestamp
from .connections import (
    MAX_PAGE_SIZE,
    bad_input,
    check_window,
    connection_from_list,
    connection_from_page,
    resolve_total_count,
)
from .guard import access_denied
from .loaders import RELATIONS

NODE_TYPES: dict[str, tuple[Scope, str]] = {
    "Product": (Scope.PRODUCTS_READ, "product_by_id"),
    "ProductVariant": (Scope.PRODUCTS_READ, "variant_by_id"),
    "ProductImage": (Scope.PRODUCTS_READ, "image_by_id"),
    "Customer": (Scope.CUSTOMERS_READ, "customer_by_id"),
    "Order": (Scope.ORDERS_READ, "order_by_id"),
    "OrderProduct": (Scope.ORDERS_READ, "order_product_by_id"),
    "Invoice": (Scope.ORDERS_READ, "invoice_by_id"),
    "InvoiceItem": (Scope.ORDERS_READ, "invoice_item_by_id"),
    "Shipment": (Scope.FULFILLMENT_READ, "shipment_by_id"),
}

ORDER_SORTS: dict[str, Ordering] = {
    "CREATED_AT_ASC": Ordering(m.Order.created_at, False),
    "CREATED_AT_DESC": Ordering(m.Order.created_at, True),
    "NUMBER_ASC": Ordering(m.Order.number, False),
    "NUMBER_DESC": Ordering(m.Order.number, True),
}


def local_id(global_id: str, type_name: str) -> int | None:
    """The id behind a global ID of this type; ``None`` for anything else (not found)."""
    try:
        return decode_global_int_id(global_id, type_name)
    except GlobalIdError:
        return None


def account_dict(account: m.Account) -> dict[str, Any]:
    return {
        "__typename": "Account",
        "_id": account.id,
        "id": encode_global_id("Account", account.id),
        "name": account.name,
        "type": account.type,
        "slug": account.slug,
        "currency": account.currency,
        "createdAt": iso_utc(account.created_at),
    }


def resolve_account(_parent: Any, info: Any) -> dict[str, Any] | None:
    return info.context.catalogue.account()  # type: ignore[no-any-return]


def resolve_node(_parent: Any, info: Any, id: str) -> Any:
    try:
        kind, _ = decode_global_id(id)
    except GlobalIdError:
        return None
    if kind == "Account":
        if local_id(id, "Account") != info.context.account_id:
            return None
        if Scope.ACCOUNT_READ not in info.context.scopes:
            return access_denied(Scope.ACCOUNT_READ)
        return resolve_account(None, info)
    entry = NODE_TYPES.get(kind)
    object_id = local_id(id, kind)
    if entry is None or object_id is None:
        return None
    scope, loader = entry
    if scope not in info.context.scopes:
        return access_denied(scope)
    return info.context.loaders[loader].load(object_id)


def _page(info: Any, spec: TypeSpec, args: dict[str, Any], **options: Any) -> dict[str, Any]:
    first, last, after, before = args.get("first"), args.get("last"), args.get("after"), args.get("before")
    check_window(first, last, after, before)
    try:
        page = info.context.catalogue.page(spec, first=first, after=after, last=last, before=before, **options)
    except CursorError as exc:
        raise bad_input(str(exc)) from None
    info.context.loaders.prime_related(spec.name, page.rows)
    return connection_from_page(page)


def _single(loader: str, type_name: str) -> Any:
    def resolve(_parent: Any, info: Any, id: str) -> Any:
        object_id = local_id(id, type_name)
        return None if object_id is None else info.context.loaders[loader].load(object_id)

    return resolve


def _list_of(spec: TypeSpec) -> Any:
    def resolve(_parent: Any, info: Any, **args: Any) -> dict[str, Any]:
        return _page(info, spec, args)

    return resolve


def order_options(sort: str = "CREATED_AT_DESC", includeCancelled: bool = False,  # noqa: N803
                  includeUnconfirmed: bool = True, since: Any = None) -> dict[str, Any]:  # noqa: N803
    """The page options (ordering, filters) of ``orders``' arguments."""
    filters, params = [], {}
    if not includeCancelled:
        filters.append(("not_cancelled", m.Order.is_cancelled.is_(False)))
    if not includeUnconfirmed:
        filters.append(("confirmed", m.Order.is_confirmed.is_(True)))
    if since is not None:
        filters.append(("since", m.Order.created_at >= bindparam("since", type_=UTCDateTime())))
        params["since"] = parse_datetime(since)
    return {"ordering": ORDER_SORTS[sort], "filters": filters, "params": params}


def resolve_orders(_parent: Any, info: Any, first: int | None = None, after: str | None = None,
                   last: int | None = None, before: str | None = None, **options: Any) -> dict[str, Any]:
    window = {"first": first, "after": after, "last": last, "before": before}
    return _page(info, c.ORDER, window, **order_options(**options))


def parse_datetime(value: Any) -> dt.datetime:
    moment = parse_timestamp(value)
    if moment is None:
        # Without an offset the moment is ambiguous; far years do not survive conversion to UTC.
        raise bad_input("A DateTime must be an ISO 8601 date-time with an offset, in years 1 to 9999, "
                        "e.g. 2024-05-01T12:00:00Z.")
    return moment


def resolve_product_variants(_parent: Any, info: Any, skus: list[str]) -> list[dict[str, Any]]:
    if len(skus) > MAX_PAGE_SIZE:
        raise bad_input(f"Ask for at most {MAX_PAGE_SIZE} SKUs at a time.")
    if any("\x00" in sku for sku in skus):
        raise bad_input("A SKU cannot contain NUL characters.")  # PostgreSQL text cannot hold one
    rows = info.context.catalogue.variants_by_sku(skus)
    info.context.loaders.prime_related("ProductVariant", rows)
    return rows


def _children(loader: str) -> Any:
    def resolve(parent: dict[str, Any], info: Any, first: int | None = None, after: str | None = None,
                last: int | None = None, before: str | None = None) -> dict[str, Any]:
        rows = info.context.loaders[loader].load(parent["_id"])
        return connection_from_list(rows, first, after, last, before)

    return resolve


def _parent_of(loader: str, key: str) -> Any:
    def resolve(parent: dict[str, Any], info: Any) -> Any:
        target = parent.get(key)
        return None if target is None else info.context.loaders[loader].load(target)

    return resolve


def _list_children(loader: str) -> Any:
    def resolve(parent: dict[str, Any], info: Any) -> list[dict[str, Any]]:
        return list(info.context.loaders[loader].load(parent["_id"]))

    return resolve


def resolve_type(obj: Any, _info: Any, _type: Any) -> str:
    return str(obj["__typename"])


def bind_resolvers(schema: GraphQLSchema) -> None:
    def field(type_name: str, name: str) -> Any:
        return schema.type_map[type_name].fields[name]  # type: ignore[attr-defined]

    query = {
        "account": resolve_account,
        "node": resolve_node,
        "products": _list_of(c.PRODUCT),
        "product": _single("product_by_id", "Product"),
        "productVariants": resolve_product_variants,
        "orders": resolve_orders,
        "order": _single("order_by_id", "Order"),
        "invoices": _list_of(c.INVOICE),
        "shipments": _list_of(c.SHIPMENT),
        "customers": _list_of(c.CUSTOMER),
        "customer": _single("customer_by_id", "Customer"),
    }
    for name, resolver in query.items():
        field("Query", name).resolve = resolver
    relations = {}
    for (type_name, name), relation in RELATIONS.items():
        if relation.kind == "parent":
            relations[(type_name, name)] = _parent_of(relation.loader, f"_{relation.key}")
        elif relation.is_list:
            relations[(type_name, name)] = _list_children(relation.loader)
        else:
            relations[(type_name, name)] = _children(relation.loader)
    for (type_name, name), resolver in relations.items():
        field(type_name, name).resolve = resolver
    for type_name, gql_type in schema.type_map.items():
        if type_name.endswith("Connection") and hasattr(gql_type, "fields"):
            gql_type.fields["totalCount"].resolve = resolve_total_count  # type: ignore[attr-defined]
    schema.type_map["Node"].resolve_type = resolve_type  # type: ignore[attr-defined]
