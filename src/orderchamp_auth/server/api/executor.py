"""Running a plan (``plan.py``): read level by level, then build the response dicts.

A run has two steps. *Reading* binds each field's arguments (checked by ``arguments.py``, the
same functions graphql-core's resolvers call) and reads every level of the query in one
statement. *Building* makes the response from the rows. Errors are those graphql-core gives,
at the same paths, sorted as it sorts them: a denied field, refused arguments, a child cursor
that points outside its list, a value its type cannot represent (null propagating to the
nearest nullable field, as the GraphQL spec says).

Paths cost time, and most responses have no error: building first runs without them, and
meets an error by starting over with them (``_NeedPaths``); a plan known to report errors
(denied fields, refused arguments) builds with paths from the start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphql import FieldNode, GraphQLError
from graphql.error import located_error
from graphql.execution.values import get_argument_values

from ...protocol.errors import GlobalIdError
from ...protocol.global_ids import decode_global_id
from ..store.repositories.catalogue import CatalogueRepository, Page, Projection
from .arguments import ChildWindow, child_window, local_id, page_request, text_values
from .connections import list_window
from .cursors import encode_cursor
from .guard import access_denied
from .plan_nodes import (
    Arguments,
    Children,
    ConnectionPlan,
    Denied,
    Edges,
    Leaf,
    Nodes,
    ObjectPlan,
    PageInfo,
    Parent,
    Plan,
    RootConnection,
    RootNode,
    RootObject,
    TotalCount,
    Typename,
)

Path = tuple[Any, ...] | None  # (parent path, key), from () at the root; None: not tracked
Kept = dict[Projection, list[Any]]  # the rows a run read, by the projection they were read with


class _NeedPaths(Exception):
    """An error met while building without paths: build again, with them."""


class _Null(Exception):
    """A non-null field became null: the nearest nullable field above it is null instead."""


def _as_list(path: Any) -> list[str | int]:
    keys: list[str | int] = []
    while path:
        path, key = path
        keys.append(key)
    keys.reverse()
    return keys


def _first(row: Sequence[Any]) -> int:
    return row[0]  # type: ignore[no-any-return]


def run_plan(plan: Plan, catalogue: CatalogueRepository, variables: dict[str, Any], kept: Kept | None = None
             ) -> tuple[dict[str, Any], list[GraphQLError]]:
    """The response's data and errors, as graphql-core would give them. ``kept``: where to add
    every row read (a writer's webhook payload: its rows may hold the writer's own result)."""
    run = _Run(catalogue, variables, kept)
    results = run.read(plan)
    if not (plan.has_denied or run.refused):
        try:
            return run.build_root(plan, results, None), []
        except _NeedPaths:
            run.errors = []
    data = run.build_root(plan, results, ())
    # graphql-core sorts its errors so (as ExecutionContext.build_response does)
    run.errors.sort(key=lambda error: (error.locations or [], error.path or [], error.message))
    return data, run.errors


class _Run:
    def __init__(self, catalogue: CatalogueRepository, variables: dict[str, Any], kept: Kept | None = None) -> None:
        self.catalogue = catalogue
        self.variables = variables
        self.kept = kept
        self.loaded: dict[int, dict[int, Any]] = {}  # slot -> parent id (or key) -> rows (or row)
        self.windows: dict[int, ChildWindow | GraphQLError] = {}  # slot -> a child connection's arguments
        self.errors: list[GraphQLError] = []
        self.refused = False  # some arguments were refused: there will be errors

    # Reading ------------------------------------------------------------------------------

    def _arguments(self, arguments: Arguments) -> dict[str, Any]:
        if arguments.constant is not None:
            return arguments.constant
        return get_argument_values(arguments.definition, arguments.node, self.variables)

    def read(self, plan: Plan) -> list[Any]:
        for child in plan.children:
            try:
                self.windows[child.slot] = child_window(self._arguments(child.arguments))  # type: ignore[arg-type]
            except GraphQLError as error:
                self.windows[child.slot] = error
                self.refused = True
        results: list[Any] = []
        for entry in plan.entries:
            if isinstance(entry, (RootObject, RootConnection, RootNode)):
                try:
                    results.append(self._read_root(entry))
                except GraphQLError as error:
                    results.append(error)
                    self.refused = True
            else:
                results.append(None)
        return results

    def _read_root(self, entry: RootObject | RootConnection | RootNode) -> Any:
        if isinstance(entry, RootNode):
            return self._read_node(entry)
        root = entry.root
        if isinstance(entry, RootConnection):
            request = page_request(root, self._arguments(entry.arguments))
            node = entry.connection.node
            page = self.catalogue.page(node.projection, request.window, request.ordering,  # type: ignore[arg-type]
                                       request.conditions)
            self.load(node, page.rows)
            return page
        plan = entry.plan
        if root.kind == "account":
            rows = self.catalogue.account(plan.projection)  # type: ignore[arg-type]
        elif root.kind == "single":
            object_id = local_id(self._arguments(entry.arguments)["id"], root.type_name)
            return [] if object_id is None else self._read_one(plan, object_id)
        else:  # by_texts
            values = text_values(self._arguments(entry.arguments)[root.argument])
            rows = self.catalogue.by_texts(plan.projection, root.column, values)  # type: ignore[arg-type]
        self.load(plan, rows)
        return rows

    def _read_node(self, entry: RootNode) -> tuple[ObjectPlan, list[Any]] | None:
        """The node's plan and row, in the order of graphql-core's ``resolve_node``'s checks:
        not a node's ID (or another account's) is null, a type out of the token's scopes denied."""
        global_id = self._arguments(entry.arguments)["id"]
        try:
            kind, _ = decode_global_id(global_id)
        except GlobalIdError:
            return None
        plan = entry.plans.get(kind)
        object_id = local_id(global_id, kind)
        if plan is None or object_id is None:
            return None
        if kind == "Account" and object_id != self.catalogue.account_id:
            return None
        if not isinstance(plan, ObjectPlan):
            raise access_denied(plan)
        if kind == "Account":
            rows = self.catalogue.account(plan.projection)  # type: ignore[arg-type]
            self.load(plan, rows)
            return plan, rows
        return plan, self._read_one(plan, object_id)

    def _wanted(self, plan: ObjectPlan) -> list[Children]:
        """The children relations read with a plan's rows (refused arguments read nothing)."""
        return [entry for entry in plan.relations if type(entry) is Children  # type: ignore[misc]
                and (entry.connection is None or isinstance(self.windows[entry.slot], ChildWindow))]

    def _read_one(self, plan: ObjectPlan, object_id: int) -> list[Any]:
        """One object by id and its children relations, read together (one statement where
        the database is across a network: ``one_with_children``)."""
        wanted = self._wanted(plan)
        rows, children = self.catalogue.one_with_children(plan.projection, object_id,  # type: ignore[arg-type]
                                                          [entry.read for entry in wanted])  # type: ignore[misc]
        self.load(plan, rows, dict(zip((entry.slot for entry in wanted), children, strict=True)))
        return rows

    def load(self, plan: ObjectPlan, rows: Sequence[Any], children: dict[int, list[Any]] | None = None) -> None:
        """Read what ``plan`` needs below ``rows``; ``children``: their children relations,
        when they were read with them (``_read_one``)."""
        if not rows:
            return
        if self.kept is not None:
            self.kept.setdefault(plan.projection, []).extend(rows)  # type: ignore[arg-type]
        if children is None:
            # Read together (one statement where the database is across a network:
            # ``children_of_each``).
            wanted = self._wanted(plan)
            children = dict(zip((entry.slot for entry in wanted), self.catalogue.children_of_each(
                [entry.read for entry in wanted], {row[0] for row in rows}), strict=True)) if wanted else {}  # type: ignore[misc]
        for entry in plan.relations:
            child = entry.child
            if isinstance(entry, Parent):
                index = entry.key_column
                found = self.catalogue.by_ids(child.projection, {row[index] for row in rows  # type: ignore[arg-type]
                                                                 if row[index] is not None})
                self.loaded[entry.slot] = {row[0]: row for row in found}
            else:
                if entry.slot not in children:
                    continue
                found = children[entry.slot]
                parent_index = 1 + len(child.fields) + child.keys.index(entry.relation.key)
                grouped: dict[int, list[Any]] = {}
                for row in found:
                    grouped.setdefault(row[parent_index], []).append(row)
                self.loaded[entry.slot] = grouped
            self.load(child, found)

    # Building -----------------------------------------------------------------------------

    def error(self, error: Exception, nodes: list[FieldNode], path: Path, key: str | int, non_null: bool) -> None:
        """Record an error at this field (null in the response), or bubble up if it is non-null."""
        if path is None:
            raise _NeedPaths
        self.errors.append(located_error(error, nodes, _as_list((path, key))))
        if non_null:
            raise _Null

    def build(self, plan: ObjectPlan, row: Sequence[Any], path: Path) -> dict[str, Any]:
        out = dict(zip(plan.response_keys, plan.getter(row)))  # noqa: B905 - as many values as keys
        for entry in plan.patches:
            kind = type(entry)
            if kind is Leaf:
                try:
                    out[entry.key] = entry.check(row[entry.column])  # type: ignore[union-attr, misc]
                except (_NeedPaths, _Null):
                    raise
                except Exception as exc:  # what graphql-core reports for a value it cannot send
                    self.error(exc, entry.nodes, path, entry.key, entry.non_null)  # type: ignore[union-attr]
                    out[entry.key] = None
            elif kind is Typename:
                out[entry.key] = entry.value  # type: ignore[union-attr]
            elif kind is Denied:
                self.error(access_denied(entry.scope), entry.nodes, path, entry.key, False)  # type: ignore[union-attr]
                out[entry.key] = None
            else:
                try:
                    out[entry.key] = self.related(entry, row, path)  # type: ignore[arg-type]
                except _Null:
                    if not entry.nullable:  # type: ignore[union-attr]
                        raise
                    out[entry.key] = None
        return out

    def build_list(self, plan: ObjectPlan, rows: Sequence[Any], path: Path) -> list[dict[str, Any]]:
        if path is None:
            return [self.build(plan, row, None) for row in rows]
        return [self.build(plan, row, (path, i)) for i, row in enumerate(rows)]

    def related(self, entry: Parent | Children, row: Sequence[Any], path: Path) -> Any:
        here = None if path is None else (path, entry.key)
        if type(entry) is Parent:
            key = row[entry.key_column]
            target = None if key is None else self.loaded[entry.slot].get(key)
            return None if target is None else self.build(entry.child, target, here)
        return self.children(entry, row, path, here)  # type: ignore[arg-type]

    def children(self, entry: Children, row: Sequence[Any], path: Path, here: Path) -> Any:
        if entry.connection is None:
            return self.build_list(entry.child, self.loaded[entry.slot].get(row[0], ()), here)
        window = self.windows[entry.slot]
        try:
            if type(window) is not ChildWindow:
                raise window  # type: ignore[misc]
            rows = self.loaded[entry.slot].get(row[0], ())
            selected, has_next, has_previous = list_window(rows, _first, window)
        except GraphQLError as error:
            self.error(error, entry.nodes, path, entry.key, not entry.nullable)
            return None
        keys = [(r[0],) for r in selected] if entry.connection.needs_keys else ()
        return self.connection(entry.connection, selected, keys, has_next, has_previous,
                               lambda: len(rows), here)

    def connection(self, plan: ConnectionPlan, rows: Sequence[Any], keys: Sequence[Sequence[Any]], has_next: bool,
                   has_previous: bool, count: Callable[[], int], path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for entry in plan.entries:
            kind = type(entry)
            here = None if path is None else (path, entry.key)
            if kind is Nodes:
                out[entry.key] = self.build_list(plan.node, rows, here)
            elif kind is Edges:
                out[entry.key] = self.edges(plan.node, entry, rows, keys, here)  # type: ignore[arg-type]
            elif kind is PageInfo:
                out[entry.key] = self.page_info(entry, keys, has_next, has_previous, here)  # type: ignore[arg-type]
            elif kind is TotalCount:
                out[entry.key] = count()
            elif kind is Typename:
                out[entry.key] = entry.value  # type: ignore[union-attr]
            else:
                self.error(access_denied(entry.scope), entry.nodes, path, entry.key, False)  # type: ignore[union-attr]
                out[entry.key] = None
        return out

    def edges(self, node: ObjectPlan, entry: Edges, rows: Sequence[Any], keys: Sequence[Sequence[Any]],
              path: Path) -> list[dict[str, Any]]:
        edges = []
        for i, (row, key) in enumerate(zip(rows, keys, strict=True)):
            here = None if path is None else (path, i)
            edge: dict[str, Any] = {}
            for wanted in entry.fields:
                if isinstance(wanted, Denied):
                    self.error(access_denied(wanted.scope), wanted.nodes, here, wanted.key, False)
                    edge[wanted.key] = None
                elif wanted[1] == "node":
                    edge[wanted[0]] = self.build(node, row, None if here is None else (here, wanted[0]))
                elif wanted[1] == "cursor":
                    edge[wanted[0]] = encode_cursor(key)
                else:
                    edge[wanted[0]] = entry.type_name  # __typename
            edges.append(edge)
        return edges

    def page_info(self, entry: PageInfo, keys: Sequence[Sequence[Any]], has_next: bool, has_previous: bool,
                  path: Path) -> dict[str, Any]:
        info: dict[str, Any] = {}
        for wanted in entry.fields:
            if isinstance(wanted, Denied):
                self.error(access_denied(wanted.scope), wanted.nodes, path, wanted.key, False)
                info[wanted.key] = None
                continue
            key, name = wanted
            if name == "hasNextPage":
                info[key] = has_next
            elif name == "hasPreviousPage":
                info[key] = has_previous
            elif name == "startCursor":
                info[key] = encode_cursor(keys[0]) if keys else None
            elif name == "endCursor":
                info[key] = encode_cursor(keys[-1]) if keys else None
            else:
                info[key] = "PageInfo"
        return info

    def build_root(self, plan: Plan, results: list[Any], path: Path) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for entry, result in zip(plan.entries, results, strict=True):
            if isinstance(entry, Typename):
                data[entry.key] = entry.value
                continue
            if isinstance(entry, Denied):
                self.error(access_denied(entry.scope), entry.nodes, path, entry.key, False)
                data[entry.key] = None
                continue
            if isinstance(result, GraphQLError):
                self.error(result, entry.nodes, path, entry.key, False)
                data[entry.key] = None
                continue
            here = None if path is None else (path, entry.key)
            try:
                data[entry.key] = self._root_value(entry, result, here)
            except _Null:
                data[entry.key] = None  # every root field is nullable
        return data

    def _root_value(self, entry: RootObject | RootConnection | RootNode, result: Any, path: Path) -> Any:
        if isinstance(entry, RootNode):
            if result is None:
                return None
            plan, rows = result
            return self.build(plan, rows[0], path) if rows else None
        if isinstance(entry, RootConnection):
            page: Page = result
            return self.connection(entry.connection, page.rows, page.keys, page.has_next, page.has_previous,
                                   page.count, path)
        if entry.root.kind == "by_texts":
            return self.build_list(entry.plan, result, path)
        return self.build(entry.plan, result[0], path) if result else None
