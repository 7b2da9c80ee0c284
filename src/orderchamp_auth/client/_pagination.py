"""Walking a Relay connection: variables for the next page, nodes and cursor from a page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._exceptions import InvalidResponseError

ConnectionPath = str | Sequence[str]


def page_variables(
    variables: Mapping[str, Any] | None, cursor: str | None, page_size: int | None
) -> dict[str, Any]:
    merged = dict(variables or {})
    merged["after"] = cursor
    if page_size is not None:
        merged["first"] = page_size
    return merged


def _walk(data: Mapping[str, Any], path: ConnectionPath) -> Any:
    keys = path.split(".") if isinstance(path, str) else list(path)
    node: Any = data
    for key in keys:
        if node is None:
            return None
        if not isinstance(node, Mapping) or key not in node:
            raise InvalidResponseError(f"no connection at {'.'.join(keys)!r} in the response")
        node = node[key]
    return node


def read_page(
    data: Mapping[str, Any], path: ConnectionPath, previous_cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The page's nodes and the cursor of the next page (``None`` when this was the last)."""
    connection = _walk(data, path)
    if connection is None:
        return [], None
    if not isinstance(connection, Mapping):
        raise InvalidResponseError("the connection is not an object")
    if isinstance(connection.get("nodes"), list):
        nodes = [n for n in connection["nodes"] if isinstance(n, dict)]
    elif isinstance(connection.get("edges"), list):
        nodes = [
            e["node"]
            for e in connection["edges"]
            if isinstance(e, Mapping) and isinstance(e.get("node"), dict)
        ]
    else:
        raise InvalidResponseError("the connection selects neither nodes nor edges { node }")
    info = connection.get("pageInfo")
    if not isinstance(info, Mapping):
        raise InvalidResponseError("the connection selects no pageInfo { hasNextPage endCursor }")
    if not info.get("hasNextPage"):
        return nodes, None
    cursor = info.get("endCursor")
    if not isinstance(cursor, str) or not cursor or cursor == previous_cursor:
        # A next page without a new cursor would loop forever.
        raise InvalidResponseError("hasNextPage is true but endCursor does not advance")
    return nodes, cursor
