"""Compiled execution of the common read queries: one plan per document and scopes.

graphql-core resolves a response field by field, building a ResolveInfo and checking
arguments and types for each one; for a page of 50 products with their variants that is
thousands of calls, and most of a request's time. A read query made only of the schema's
regular parts (account, the connections, single lookups by id, relations between objects,
leaf fields, fragments) is instead compiled once into a plan that knows, for every object,
which columns to read and where each value goes. Running the plan reads each level of the
query in one statement (only the columns asked for) and builds the response dicts directly.

The plan gives exactly what graphql-core gives, or nothing:
* ``compile_plan`` raises ``Unsupported`` for anything it does not cover (introspection,
  ``node``, mutations, directives, a field the token's scopes deny: that needs an error in
  the response), and the document keeps graphql-core's path;
* ``Plan.run`` raises ``Fallback`` for anything it does not expect at run time (bad
  arguments or cursors, a null where the schema promises a value); the endpoint then runs the
  request again on graphql-core's path, which reports it. Reads change nothing, so running
  one twice is harmless.
A test runs a corpus of queries both ways and compares the responses byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values
from graphql.language import Visitor, visit

from ...protocol.scopes import ScopeSet
from ..store.repositories import catalogue as c
from ..store.repositories.catalogue import CatalogueRepository, TypeSpec
from ..store.repositories.cursors import encode_cursor
from .connections import check_window, list_window
from .guard import required_scope_of
from .loaders import RELATIONS, Relation
from .resolvers import local_id, order_options


class Unsupported(Exception):
    """This document (with these scopes) takes graphql-core's path."""


class Fallback(Exception):
    """This request takes graphql-core's path after all."""


ROOT_CONNECTIONS: dict[str, TypeSpec] = {
    "products": c.PRODUCT, "orders": c.ORDER, "invoices": c.INVOICE, "shipments": c.SHIPMENT,
    "customers": c.CUSTOMER,
}
ROOT_SINGLES: dict[str, TypeSpec] = {"product": c.PRODUCT, "order": c.ORDER, "customer": c.CUSTOMER}

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

# Entry kinds of an object plan.
_LEAF, _TYPENAME, _CONNECTION, _LIST, _PARENT = range(5)


@dataclass
class ObjectPlan:
    """How to build one object of ``spec`` from a row in ``TypeSpec.select(fields, keys)`` layout."""

    spec: TypeSpec
    type_name: str
    fields: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    response_keys: tuple[str, ...] = ()
    getter: Callable[[Sequence[Any]], Sequence[Any]] = field(default=itemgetter(0))
    patches: list[tuple[Any, ...]] = field(default_factory=list)  # entries filled in after the copy
    # relations to load below this object: (slot, relation, child plan, index of the key in a row)
    relations: list[tuple[int, Relation, Any, int]] = field(default_factory=list)

    def column(self, name: str) -> int:
        if name not in self.fields:
            self.fields.append(name)
        return 1 + self.fields.index(name)

    def key_column(self, key: str) -> int:
        if key not in self.keys:
            self.keys.append(key)
        return 1 + len(self.fields) + self.keys.index(key)

    def finish(self) -> None:
        """Fix key indexes now that every field is known (keys come after the fields), and
        make the getter that copies every leaf (in response order) in one step."""
        offset = 1 + len(self.fields)
        self.relations = [(slot, rel, child, offset + self.keys.index(rel.key) if rel.kind == "parent" else 0)
                          for slot, rel, child, _ in self.relations]
        self.entries = [(_PARENT, e[1], e[2], offset + self.keys.index(e[4]), e[4], e[5]) if e[0] == _PARENT else e
                        for e in self.entries]
        # Every entry gets a key in the first step (non-leaves a placeholder, column 0), so
        # the response keeps the query's order when the rest is filled in afterwards.
        self.response_keys = tuple(entry[1] for entry in self.entries)
        columns = [entry[2] if entry[0] == _LEAF else 0 for entry in self.entries]
        if len(columns) == 1:
            only = columns[0]
            self.getter = lambda row: (row[only],)
        else:
            self.getter = itemgetter(*columns) if columns else (lambda row: ())
        self.patches = [entry for entry in self.entries if entry[0] != _LEAF or entry[3] is not None]


@dataclass
class ConnectionPlan:
    """A connection's selection: which of nodes, edges, pageInfo, totalCount, in order."""

    node: ObjectPlan
    entries: list[tuple[Any, ...]] = field(default_factory=list)


class _HasDirective(Visitor):
    found = False

    def enter_directive(self, *_args: Any) -> None:
        self.found = True


def _leaf_check(spec: TypeSpec, name: str, gql_type: Any) -> Callable[[Any], Any] | None:
    """What graphql-core would do to this column's value on its way out, as a function that
    returns the value to send (or raises ``Fallback``); ``None`` when that is the value as
    read (the column's type and constraints already guarantee what the GraphQL type needs)."""
    named = get_named_type(gql_type)
    non_null = is_non_null_type(gql_type)
    if name == "id":
        column_type, nullable = str, False  # the shaped global ID
    else:
        column = spec.columns[name].property.columns[0]
        nullable = column.nullable
        column_type = str if name in spec.money or name in spec.times else column.type.python_type
    serialize = named.serialize
    plain = (
        (named in (GraphQLString, GraphQLID) and column_type is str)
        or (named is GraphQLBoolean and column_type is bool)
        or (isinstance(named, GraphQLScalarType) and serialize is GraphQLScalarType.serialize)  # identity
    )
    if plain and not (non_null and nullable):
        return None

    def check(value: Any) -> Any:
        if value is None:
            if non_null:
                raise Fallback(f"null in the non-null field {name}")
            return None
        if named is GraphQLInt and type(value) is int and _INT_MIN <= value <= _INT_MAX:
            return value
        return serialize(value)

    return check


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, scopes: ScopeSet) -> None:
        self.schema = schema
        self.scopes = scopes
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.slots = 0

    def _field_def(self, parent: GraphQLObjectType, name: str) -> Any:
        field_def = parent.fields.get(name)
        if field_def is None:
            raise Unsupported(name)
        scope = required_scope_of(field_def)
        if scope is not None and scope not in self.scopes:
            raise Unsupported(f"{parent.name}.{name} is denied")  # graphql-core reports ACCESS_DENIED
        return field_def

    def _subfields(self, gql_type: GraphQLObjectType, nodes: list[FieldNode]) -> dict[str, list[FieldNode]]:
        return collect_sub_fields(self.schema, self.fragments, {}, gql_type, nodes)  # type: ignore[arg-type]

    def _slot(self) -> int:
        self.slots += 1
        return self.slots - 1

    def object_plan(self, spec: TypeSpec, gql_type: GraphQLObjectType, nodes: list[FieldNode]) -> ObjectPlan:
        plan = ObjectPlan(spec, gql_type.name)
        for response_key, field_nodes in self._subfields(gql_type, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                plan.entries.append((_TYPENAME, response_key, gql_type.name))
                continue
            field_def = self._field_def(gql_type, name)
            relation = RELATIONS.get((gql_type.name, name))
            if relation is None:
                if not is_leaf_type(get_nullable_type(field_def.type)) or (name != "id" and name not in spec.columns):
                    raise Unsupported(f"{gql_type.name}.{name}")
                plan.entries.append((_LEAF, response_key, plan.column(name), _leaf_check(spec, name, field_def.type)))
                continue
            target = get_named_type(field_def.type)
            slot = self._slot()
            if relation.kind == "parent":
                child = self.object_plan(relation.spec, target, field_nodes)  # type: ignore[arg-type]
                plan.key_column(relation.key)
                plan.entries.append((_PARENT, response_key, slot, 0, relation.key, child))
            elif relation.is_list:
                child = self.object_plan(relation.spec, target, field_nodes)  # type: ignore[arg-type]
                child.key_column(relation.key)
                plan.entries.append((_LIST, response_key, slot, child))
            else:
                connection = self.connection_plan(relation.spec, target, field_nodes)  # type: ignore[arg-type]
                child = connection.node
                child.key_column(relation.key)
                plan.entries.append((_CONNECTION, response_key, slot, connection, field_def, field_nodes[0]))
            plan.relations.append((slot, relation, child, 0))
        plan.finish()
        return plan

    def connection_plan(self, spec: TypeSpec, gql_type: GraphQLObjectType, nodes: list[FieldNode]) -> ConnectionPlan:
        node_plan: ObjectPlan | None = None
        entries: list[tuple[Any, ...]] = []
        for response_key, field_nodes in self._subfields(gql_type, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                entries.append(("typename", response_key, gql_type.name))
            elif name == "totalCount":
                entries.append(("totalCount", response_key))
            elif name == "pageInfo":
                page_info = get_named_type(gql_type.fields[name].type)
                wanted = [(key, nodes_[0].name.value)
                          for key, nodes_ in self._subfields(page_info, field_nodes).items()]  # type: ignore[arg-type]
                entries.append(("pageInfo", response_key, wanted))
            elif name == "nodes":
                if node_plan is not None:
                    raise Unsupported("more than one selection of nodes")
                node_type = get_named_type(gql_type.fields[name].type)
                node_plan = self.object_plan(spec, node_type, field_nodes)  # type: ignore[arg-type]
                entries.append(("nodes", response_key))
            elif name == "edges":
                if node_plan is not None:
                    raise Unsupported("more than one selection of nodes")
                edge_type = get_named_type(gql_type.fields[name].type)
                edge_entries: list[tuple[str, str]] = []
                node_nodes: list[FieldNode] = []
                for edge_key, edge_nodes in self._subfields(edge_type, field_nodes).items():  # type: ignore[arg-type]
                    edge_field = edge_nodes[0].name.value
                    if edge_field == "node":
                        if node_nodes:
                            raise Unsupported("more than one selection of node")
                        node_nodes = edge_nodes
                    edge_entries.append((edge_field, edge_key))
                node_type = get_named_type(edge_type.fields["node"].type)  # type: ignore[attr-defined]
                node_plan = self.object_plan(spec, node_type, node_nodes)
                entries.append(("edges", response_key, edge_type.name, edge_entries))  # type: ignore[attr-defined]
            else:
                raise Unsupported(name)
        if node_plan is None:
            node_plan = ObjectPlan(spec, spec.name)
        return ConnectionPlan(node_plan, entries)

    def root(self, operation: OperationDefinitionNode) -> list[tuple[Any, ...]]:
        query = self.schema.query_type
        assert query is not None
        entries: list[tuple[Any, ...]] = []
        for response_key, nodes in collect_fields(self.schema, self.fragments, {}, query,  # type: ignore[arg-type]
                                                  operation.selection_set).items():
            name = nodes[0].name.value
            if name == "__typename":
                entries.append(("typename", response_key, query.name))
                continue
            field_def = self._field_def(query, name)
            target = get_named_type(field_def.type)
            if name == "account":
                entries.append(("account", response_key, self.object_plan(c.ACCOUNT, target, nodes)))  # type: ignore[arg-type]
            elif name in ROOT_CONNECTIONS:
                connection = self.connection_plan(ROOT_CONNECTIONS[name], target, nodes)  # type: ignore[arg-type]
                entries.append(("connection", response_key, name, connection, field_def, nodes[0]))
            elif name in ROOT_SINGLES:
                spec = ROOT_SINGLES[name]
                entries.append(("single", response_key, spec, self.object_plan(spec, target, nodes),  # type: ignore[arg-type]
                                field_def, nodes[0]))
            else:
                raise Unsupported(name)
        return entries


def compile_plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                 scopes: ScopeSet) -> Plan:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        operation = operations[0] if len(operations) == 1 else None
    else:
        operation = next((o for o in operations if o.name and o.name.value == operation_name), None)
    if operation is None or operation.operation != OperationType.QUERY:
        raise Unsupported("not a single query operation")
    finder = _HasDirective()
    visit(document, finder)
    if finder.found:
        raise Unsupported("directives (@skip/@include depend on variables)")
    compiler = _Compiler(schema, document, scopes)
    return Plan(compiler.root(operation), operation)


class Plan:
    def __init__(self, entries: list[tuple[Any, ...]], operation: OperationDefinitionNode) -> None:
        self.entries = entries
        self.operation = operation

    def run(self, catalogue: CatalogueRepository, variables: dict[str, Any]) -> dict[str, Any]:
        return _Run(catalogue, variables).root(self.entries)


class _Run:
    """One execution of a plan: loads level by level, then builds the response."""

    def __init__(self, catalogue: CatalogueRepository, variables: dict[str, Any]) -> None:
        self.catalogue = catalogue
        self.variables = variables
        self.loaded: dict[int, dict[int, Any]] = {}  # slot -> parent id (or key) -> rows (or row)
        self.windows: dict[int, tuple[Any, ...]] = {}  # slot -> child connection arguments

    # Loading ------------------------------------------------------------------------------

    def load(self, plan: ObjectPlan, rows: Sequence[Any]) -> None:
        if not rows:
            return
        for slot, relation, child, key_index in plan.relations:
            if relation.kind == "parent":
                ids = {row[key_index] for row in rows if row[key_index] is not None}
                found = self.catalogue.by_id_rows(relation.spec, ids, child.fields, child.keys).rows if ids else []
                self.loaded[slot] = {row[0]: row for row in found}
            else:
                found = self.catalogue.children_rows(relation.spec, relation.key, {row[0] for row in rows},
                                                     relation.order, child.fields, child.keys).rows
                parent_index = 1 + len(child.fields) + child.keys.index(relation.key)
                grouped: dict[int, list[Any]] = {}
                for row in found:
                    grouped.setdefault(row[parent_index], []).append(row)
                self.loaded[slot] = grouped
            self.load(child, found)

    # Building -----------------------------------------------------------------------------

    def build(self, plan: ObjectPlan, row: Sequence[Any]) -> dict[str, Any]:
        out = dict(zip(plan.response_keys, plan.getter(row), strict=True))
        for entry in plan.patches:
            kind = entry[0]
            if kind == _LEAF:
                out[entry[1]] = entry[3](row[entry[2]])
            elif kind == _TYPENAME:
                out[entry[1]] = entry[2]
            elif kind == _CONNECTION:
                out[entry[1]] = self.child_connection(entry, self.loaded[entry[2]].get(row[0], ()))
            elif kind == _PARENT:
                key = row[entry[3]]
                target = None if key is None else self.loaded[entry[2]].get(key)
                out[entry[1]] = None if target is None else self.build(entry[5], target)
            else:  # _LIST
                child = entry[3]
                out[entry[1]] = [self.build(child, item) for item in self.loaded[entry[2]].get(row[0], ())]
        return out

    def child_connection(self, entry: tuple[Any, ...], rows: Sequence[Any]) -> dict[str, Any]:
        slot, connection = entry[2], entry[3]
        window_args = self.windows.get(slot)
        if window_args is None:
            args = get_argument_values(entry[4], entry[5], self.variables)
            window_args = self.windows[slot] = (args.get("first"), args.get("after"), args.get("last"),
                                                args.get("before"))
        window, has_next, has_previous = list_window(rows, _first, *window_args)
        return self.connection(connection, window, [[row[0]] for row in window], has_next, has_previous,
                               lambda: len(rows))

    def connection(self, plan: ConnectionPlan, rows: Sequence[Any], keys: list[list[Any]], has_next: bool,
                   has_previous: bool, count: Callable[[], int]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for entry in plan.entries:
            what, response_key = entry[0], entry[1]
            if what == "nodes":
                out[response_key] = [self.build(plan.node, row) for row in rows]
            elif what == "edges":
                edges = []
                for row, key in zip(rows, keys, strict=True):
                    edge: dict[str, Any] = {}
                    for edge_field, edge_key in entry[3]:
                        if edge_field == "node":
                            edge[edge_key] = self.build(plan.node, row)
                        elif edge_field == "cursor":
                            edge[edge_key] = encode_cursor(key)
                        else:
                            edge[edge_key] = entry[2]  # __typename
                    edges.append(edge)
                out[response_key] = edges
            elif what == "pageInfo":
                info: dict[str, Any] = {}
                for info_key, info_field in entry[2]:
                    if info_field == "hasNextPage":
                        info[info_key] = has_next
                    elif info_field == "hasPreviousPage":
                        info[info_key] = has_previous
                    elif info_field == "startCursor":
                        info[info_key] = encode_cursor(keys[0]) if keys else None
                    elif info_field == "endCursor":
                        info[info_key] = encode_cursor(keys[-1]) if keys else None
                    else:
                        info[info_key] = "PageInfo"
                out[response_key] = info
            elif what == "totalCount":
                out[response_key] = count()
            else:
                out[response_key] = entry[2]
        return out

    def root(self, entries: list[tuple[Any, ...]]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for entry in entries:
            what, response_key = entry[0], entry[1]
            if what == "account":
                plan = entry[2]
                rows = self.catalogue.account_rows(plan.fields).rows
                data[response_key] = self.build(plan, rows[0]) if rows else None
            elif what == "connection":
                data[response_key] = self.root_connection(entry)
            elif what == "single":
                spec, plan = entry[2], entry[3]
                object_id = local_id(get_argument_values(entry[4], entry[5], self.variables)["id"], spec.name)
                rows = [] if object_id is None else self.catalogue.by_id_rows(
                    spec, [object_id], plan.fields, plan.keys).rows
                self.load(plan, rows)
                data[response_key] = self.build(plan, rows[0]) if rows else None
            else:
                data[response_key] = entry[2]
        return data

    def root_connection(self, entry: tuple[Any, ...]) -> dict[str, Any]:
        name, connection = entry[2], entry[3]
        args = get_argument_values(entry[4], entry[5], self.variables)
        window = {key: args.pop(key, None) for key in ("first", "after", "last", "before")}
        check_window(window["first"], window["last"], window["after"], window["before"])
        options = order_options(**args) if name == "orders" else {}
        node = connection.node
        page = self.catalogue.page_rows(ROOT_CONNECTIONS[name], **window, **options,
                                        fields=node.fields, keys=node.keys)
        self.load(node, page.rows.rows)
        return self.connection(connection, page.rows.rows, page.keys, page.has_next, page.has_previous, page.count)


def _first(row: Sequence[Any]) -> int:
    return row[0]  # type: ignore[no-any-return]

