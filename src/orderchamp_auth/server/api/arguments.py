"""Field arguments, checked and turned into what a read takes, in one place for both engines.

A connection takes one of ``first``/``last`` (at most ``MAX_PAGE_SIZE``); cursors are opaque
and keyset-based, so they stay valid when rows are inserted. Each function here raises
``bad_input`` for a value it refuses, before anything is read; the plan executor and
graphql-core's resolvers report that error at the field, in the same words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from ...protocol.errors import GlobalIdError
from ...protocol.global_ids import decode_global_int_id
from ..store.repositories.catalogue import Condition, Ordering, Window, keyset_kinds
from .cursors import CursorError, decode_cursor, decode_id_cursor, parse_timestamp
from .description import GIVEN, TYPES, RootField

MAX_PAGE_SIZE = 250
WINDOW_ARGUMENTS = ("first", "after", "last", "before")


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def check_window(first: int | None, last: int | None, after: str | None, before: str | None) -> None:
    if first is None and last is None:
        raise bad_input("Give first or last to page through this list.")
    if first is not None and last is not None:
        raise bad_input("Give first or last, not both.")
    size = first if first is not None else last
    assert size is not None
    if size < 0 or size > MAX_PAGE_SIZE:
        raise bad_input(f"first and last must be between 0 and {MAX_PAGE_SIZE}.")
    if first is not None and before is not None:
        raise bad_input("Use before with last, and after with first.")
    if last is not None and after is not None:
        raise bad_input("Use before with last, and after with first.")


@dataclass(frozen=True)
class ChildWindow:
    """The arguments of a connection below an object (its rows are loaded already)."""

    first: int | None
    last: int | None
    after: int | None  # the row id a cursor points at
    before: int | None


def child_window(args: dict[str, Any]) -> ChildWindow:
    first, last, after, before = args.get("first"), args.get("last"), args.get("after"), args.get("before")
    check_window(first, last, after, before)
    try:
        return ChildWindow(first, last, None if after is None else decode_id_cursor(after),
                           None if before is None else decode_id_cursor(before))
    except CursorError:
        raise bad_input("The cursor is not valid.") from None


@dataclass(frozen=True)
class PageRequest:
    window: Window
    ordering: Ordering
    conditions: tuple[Condition, ...]


def parse_datetime(value: Any) -> dt.datetime:
    moment = parse_timestamp(value)
    if moment is None:
        # Without an offset the moment is ambiguous; far years do not survive conversion to UTC.
        raise bad_input("A DateTime must be an ISO 8601 date-time with an offset, in years 1 to 9999, "
                        "e.g. 2024-05-01T12:00:00Z.")
    return moment


def page_request(root: RootField, args: dict[str, Any]) -> PageRequest:
    """A root connection's arguments (window, sort, filters) as the page read to make."""
    conditions = []
    for narrowing in root.filters:
        value = args.get(narrowing.argument)
        if narrowing.when is GIVEN:
            if value is not None:
                conditions.append(Condition(narrowing.column, narrowing.op, parse_datetime(value)))
        elif bool(value) is narrowing.when:  # an explicit null counts as false, like a missing value
            conditions.append(Condition(narrowing.column, narrowing.op))
    sort = root.sorts[args.get("sort") or root.default_sort] if root.sorts else None
    ordering = Ordering() if sort is None else Ordering(sort.column, sort.descending)
    first, last, after, before = args.get("first"), args.get("last"), args.get("after"), args.get("before")
    check_window(first, last, after, before)
    kinds = keyset_kinds(TYPES[root.type_name].table, ordering)
    try:
        window = Window(last if last is not None else first,  # type: ignore[arg-type]
                        last is not None,
                        None if after is None else tuple(decode_cursor(after, kinds)),
                        None if before is None else tuple(decode_cursor(before, kinds)))
    except CursorError as exc:
        raise bad_input(str(exc)) from None
    return PageRequest(window, ordering, tuple(conditions))


def local_id(global_id: str, type_name: str) -> int | None:
    """The id behind a global ID of this type; ``None`` for anything else (not found)."""
    try:
        return decode_global_int_id(global_id, type_name)
    except GlobalIdError:
        return None


def text_values(values: list[str]) -> list[str]:
    """The values of a lookup by text (``productVariants(skus:)``)."""
    if len(values) > MAX_PAGE_SIZE:
        raise bad_input(f"Ask for at most {MAX_PAGE_SIZE} SKUs at a time.")
    if any("\x00" in value for value in values):
        raise bad_input("A SKU cannot contain NUL characters.")  # PostgreSQL text cannot hold one
    return values
