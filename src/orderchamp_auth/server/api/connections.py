"""Relay connections: argument rules, and the connection value the schema resolves.

One of ``first``/``last`` is required (at most ``MAX_PAGE_SIZE``); cursors are opaque and
keyset-based, so they stay valid when rows are inserted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphql import GraphQLError

from ..store.repositories.catalogue import Page
from ..store.repositories.cursors import CursorError, decode_id_cursor, encode_cursor

MAX_PAGE_SIZE = 250


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


class Connection:
    """A connection value. Edges (and their cursors) are built only if the query asks for them."""

    __slots__ = ("nodes", "_keys", "_count", "_edges", "_has_next", "_has_previous")

    def __init__(self, nodes: list[dict[str, Any]], keys: list[list[Any]], has_next: bool, has_previous: bool,
                 count: Callable[[], int]) -> None:
        self.nodes = nodes
        self._keys = keys
        self._count = count
        self._edges: list[dict[str, Any]] | None = None
        self._has_next = has_next
        self._has_previous = has_previous

    @property
    def pageInfo(self) -> dict[str, Any]:  # noqa: N802 - the GraphQL field name
        keys = self._keys
        return {
            "hasNextPage": self._has_next,
            "hasPreviousPage": self._has_previous,
            "startCursor": encode_cursor(keys[0]) if keys else None,
            "endCursor": encode_cursor(keys[-1]) if keys else None,
        }

    @property
    def edges(self) -> list[dict[str, Any]]:
        if self._edges is None:
            self._edges = [{"cursor": encode_cursor(k), "node": n} for k, n in zip(self._keys, self.nodes, strict=True)]
        return self._edges

    def total_count(self) -> int:
        return self._count()


def connection_from_page(page: Page) -> Connection:
    return Connection(page.rows, page.keys, page.has_next, page.has_previous, page.count)


def list_window(
    rows: Sequence[Any], key_of: Callable[[Any], int], first: int | None, after: str | None, last: int | None,
    before: str | None,
) -> tuple[Sequence[Any], bool, bool]:
    """The page of an already loaded (batched) list of children that the arguments select,
    with (has_next, has_previous). Cursors hold the row id (``key_of``)."""
    check_window(first, last, after, before)
    if after is None and before is None:
        # The common case (no cursors) without building an index.
        if first is not None:
            return rows[:first], len(rows) > first, False
        assert last is not None
        return (rows[len(rows) - last:] if last else []), False, len(rows) > last
    index = {key_of(row): i for i, row in enumerate(rows)}

    def position(cursor: str) -> int:
        try:
            row_id = decode_id_cursor(cursor)
        except CursorError:
            raise bad_input("The cursor is not valid.") from None
        if row_id not in index:
            raise bad_input("The cursor does not point into this list.")
        return index[row_id]

    start, end = 0, len(rows)
    if after is not None:
        start = position(after) + 1
    if before is not None:
        end = position(before)
    window = rows[start:end]
    if first is not None:
        return window[:first], len(window) > first or end < len(rows), start > 0
    assert last is not None
    return (window[len(window) - last:] if last else []), end < len(rows), len(window) > last or start > 0


def _row_id(row: dict[str, Any]) -> int:
    return row["_id"]  # type: ignore[no-any-return]


def connection_from_list(
    rows: Sequence[dict[str, Any]], first: int | None, after: str | None, last: int | None, before: str | None
) -> Connection:
    """Page through an already loaded (batched) list of children."""
    window, has_next, has_previous = list_window(rows, _row_id, first, after, last, before)
    return Connection(list(window), [[row["_id"]] for row in window], has_next, has_previous, lambda: len(rows))


def resolve_total_count(connection: Connection, _info: Any) -> int:
    return connection.total_count()
