"""Relay connections: the window of an already loaded list, and the connection value that
graphql-core's resolvers return (the plan executor builds the same dicts directly)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .arguments import ChildWindow, bad_input
from .cursors import encode_cursor


class Connection:
    """A connection value. Edges (and their cursors) are built only if the query asks for them."""

    __slots__ = ("nodes", "_keys", "_count", "_edges", "_has_next", "_has_previous")

    def __init__(self, nodes: list[dict[str, Any]], keys: Sequence[Sequence[Any]], has_next: bool,
                 has_previous: bool, count: Callable[[], int]) -> None:
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


def list_window(rows: Sequence[Any], key_of: Callable[[Any], int], window: ChildWindow
                ) -> tuple[Sequence[Any], bool, bool]:
    """The page of an already loaded (batched) list of children that the arguments select,
    with (has_next, has_previous). Cursors hold the row id (``key_of``)."""
    first, last = window.first, window.last
    if window.after is None and window.before is None:
        # The common case (no cursors) without building an index.
        if first is not None:
            return rows[:first], len(rows) > first, False
        assert last is not None
        return (rows[len(rows) - last:] if last else []), False, len(rows) > last
    index = {key_of(row): i for i, row in enumerate(rows)}

    def position(row_id: int) -> int:
        if row_id not in index:
            raise bad_input("The cursor does not point into this list.")
        return index[row_id]

    start, end = 0, len(rows)
    if window.after is not None:
        start = position(window.after) + 1
    if window.before is not None:
        end = position(window.before)
    selected = rows[start:end]
    if first is not None:
        return selected[:first], len(selected) > first or end < len(rows), start > 0
    assert last is not None
    return (selected[len(selected) - last:] if last else []), end < len(rows), len(selected) > last or start > 0


def _row_id(row: dict[str, Any]) -> int:
    return row["_id"]  # type: ignore[no-any-return]


def connection_from_list(rows: Sequence[dict[str, Any]], window: ChildWindow) -> Connection:
    """Page through an already loaded (batched) list of children."""
    selected, has_next, has_previous = list_window(rows, _row_id, window)
    return Connection(list(selected), [(row["_id"],) for row in selected], has_next, has_previous,
                      lambda: len(rows))


def resolve_total_count(connection: Connection, _info: Any) -> int:
    return connection.total_count()
