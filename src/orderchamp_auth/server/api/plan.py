"""Read queries compiled into plans: typed nodes that say, for every position of the response,
what to read and where each value goes (``executor.py`` runs them).

graphql-core resolves a response field by field, building a ResolveInfo and checking
arguments and types for each one; for a page of 50 products with their variants that is
thousands of calls. A plan is compiled once per document, operation and scopes from the
description (``description.py``) and the schema, and reads each level of the query in one
statement, only the columns asked for.

The engine is chosen here, once: ``compile_plan`` returns a ``Plan`` or ``CoreOnly`` (the
document goes to graphql-core: introspection, mutations, ``@include``/``@skip``, a connection
that selects its nodes twice, the token's own ``webhooks``). ``node(id:)`` is planned for every
type it may turn out to be, since the type is known only once the ID is decoded. The scope of every field the query reaches is
checked here, at every position (objects, connections, edges, pageInfo); a denied field is a
``Denied`` node, which the executor answers with null and ``ACCESS_DENIED``, as graphql-core does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values
from graphql.language import Visitor, visit

from ...protocol.scopes import Scope, ScopeSet
from ..store.repositories.catalogue import column_facts
from .description import ROOT_FIELDS, TYPES, ObjectType
from .guard import FieldScopes
from .plan_nodes import (
    Arguments,
    Children,
    ConnectionEntry,
    ConnectionPlan,
    CoreOnly,
    Denied,
    Edges,
    Leaf,
    Nodes,
    ObjectPlan,
    PageInfo,
    Parent,
    Plan,
    RootConnection,
    RootEntry,
    RootNode,
    RootObject,
    TotalCount,
    Typename,
)

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class _HasDirective(Visitor):
    found = False

    def enter_directive(self, *_args: Any) -> None:
        self.found = True


class _HasVariable(Visitor):
    found = False

    def enter_variable(self, *_args: Any) -> None:
        self.found = True


def _arguments(definition: GraphQLField, node: FieldNode) -> Arguments:
    """The field's arguments; coerced now if no variable is among them (a refusal is left to
    each run, which reports it at its path)."""
    arguments = Arguments(definition, node)
    finder = _HasVariable()
    for argument in node.arguments:
        visit(argument, finder)
    if not finder.found:
        try:
            arguments.constant = get_argument_values(definition, node, {})
        except GraphQLError:
            pass
    return arguments


class _Unplanned(Exception):
    """Raised inside the compiler only: the document goes to graphql-core (``CoreOnly``)."""


def _leaf_check(spec: ObjectType, name: str, gql_type: Any) -> Callable[[Any], Any] | None:
    """What graphql-core does to this column's value on its way out, as a function that
    returns the value to send (or raises what graphql-core would); ``None`` when that is the
    value as read (the column's type and constraints already guarantee it)."""
    named = get_named_type(gql_type)
    non_null = is_non_null_type(gql_type)
    column_type, nullable = column_facts(spec.table, "id" if name == "id" else spec.columns[name])
    if name == "id" or name in spec.money or name in spec.times:
        column_type = str  # shaped
    serialize = named.serialize  # type: ignore[union-attr]
    plain = (
        (named in (GraphQLString, GraphQLID) and column_type is str)
        or (named is GraphQLBoolean and column_type is bool)
        or (isinstance(named, GraphQLScalarType) and serialize is GraphQLScalarType.serialize)  # identity
    )
    if plain and not (non_null and nullable):
        return None
    message = f"Cannot return null for non-nullable field {spec.name}.{name}."

    def check(value: Any) -> Any:
        if value is None:
            if non_null:
                raise TypeError(message)
            return None
        if named is GraphQLInt and type(value) is int and _INT_MIN <= value <= _INT_MAX:
            return value
        serialized = serialize(value)
        if serialized is None:
            raise TypeError(f"Expected serialized value for leaf type '{named}'")
        return serialized

    return check


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, scopes: ScopeSet,
                 field_scopes: FieldScopes) -> None:
        self.schema = schema
        self.scopes = scopes
        self.field_scopes = field_scopes
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.children: list[Children] = []
        self.has_denied = False
        self.slots = 0

    def _denied(self, parent: GraphQLObjectType, name: str, key: str, nodes: list[FieldNode]) -> Denied | None:
        scope = self.field_scopes.get((parent.name, name))
        if scope is None or scope in self.scopes:
            return None
        self.has_denied = True
        return Denied(key, scope, nodes)

    def _subfields(self, gql_type: GraphQLObjectType, nodes: list[FieldNode]) -> dict[str, list[FieldNode]]:
        return collect_sub_fields(self.schema, self.fragments, {}, gql_type, nodes)  # type: ignore[arg-type]

    def _slot(self) -> int:
        self.slots += 1
        return self.slots - 1

    def object_plan(self, spec: ObjectType, gql_type: GraphQLObjectType, nodes: list[FieldNode]) -> ObjectPlan:
        plan = ObjectPlan(spec)
        for key, field_nodes in self._subfields(gql_type, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                plan.entries.append(Typename(key, gql_type.name))
                continue
            denied = self._denied(gql_type, name, key, field_nodes)
            if denied is not None:
                plan.entries.append(denied)
                continue
            field_def = gql_type.fields[name]
            relation = spec.relation(name)
            if relation is None:
                if not is_leaf_type(get_named_type(field_def.type)):
                    raise LookupError(f"{gql_type.name}.{name} is not in the description")
                plan.entries.append(Leaf(key, plan.column(name), _leaf_check(spec, name, field_def.type),
                                         is_non_null_type(field_def.type), field_nodes))
                continue
            target = get_named_type(field_def.type)
            target_spec = TYPES[relation.target]
            nullable = not is_non_null_type(field_def.type)
            slot = self._slot()
            entry: Parent | Children
            if relation.kind == "parent":
                plan.key_column(relation.key)
                entry = Parent(key, slot, relation, self.object_plan(target_spec, target, field_nodes),  # type: ignore[arg-type]
                               nullable, field_nodes)
            elif relation.is_list:
                child = self.object_plan(target_spec, target, field_nodes)  # type: ignore[arg-type]
                entry = Children(key, slot, relation, child, nullable, field_nodes)
            else:
                connection = self.connection_plan(target_spec, target, field_nodes)  # type: ignore[arg-type]
                entry = Children(key, slot, relation, connection.node, nullable, field_nodes, connection,
                                 _arguments(field_def, field_nodes[0]))
                self.children.append(entry)
            if relation.kind == "children":
                entry.child.key_column(relation.key)  # the rows are grouped by their parent's id
            plan.entries.append(entry)
            plan.relations.append(entry)
        for entry in plan.relations:
            entry.child.finish()  # again: a children relation added its key after the child's own finish
        plan.finish()
        return plan

    def _simple_fields(self, gql_type: GraphQLObjectType, nodes: list[FieldNode]) -> list[tuple[str, str] | Denied]:
        wanted: list[tuple[str, str] | Denied] = []
        for key, field_nodes in self._subfields(gql_type, nodes).items():
            name = field_nodes[0].name.value
            denied = None if name == "__typename" else self._denied(gql_type, name, key, field_nodes)
            wanted.append(denied if denied is not None else (key, name))
        return wanted

    def connection_plan(self, spec: ObjectType, gql_type: GraphQLObjectType, nodes: list[FieldNode]) -> ConnectionPlan:
        node_plan: ObjectPlan | None = None
        entries: list[ConnectionEntry] = []
        for key, field_nodes in self._subfields(gql_type, nodes).items():
            name = field_nodes[0].name.value
            denied = None if name == "__typename" else self._denied(gql_type, name, key, field_nodes)
            if denied is not None:
                entries.append(denied)
            elif name == "__typename":
                entries.append(Typename(key, gql_type.name))
            elif name == "totalCount":
                entries.append(TotalCount(key))
            elif name == "pageInfo":
                page_info = get_named_type(gql_type.fields[name].type)
                entries.append(PageInfo(key, self._simple_fields(page_info, field_nodes)))  # type: ignore[arg-type]
            elif name in ("nodes", "edges"):
                if node_plan is not None:
                    raise _Unplanned("a connection that selects its nodes twice")
                item_type = get_named_type(gql_type.fields[name].type)
                if name == "nodes":
                    node_plan = self.object_plan(spec, item_type, field_nodes)  # type: ignore[arg-type]
                    entries.append(Nodes(key))
                    continue
                edge_fields = self._simple_fields(item_type, field_nodes)  # type: ignore[arg-type]
                node_nodes = [n for k, ns in self._subfields(item_type, field_nodes).items()  # type: ignore[arg-type]
                              for n in ns if n.name.value == "node"]
                if len({f[0] for f in edge_fields if not isinstance(f, Denied) and f[1] == "node"}) > 1:
                    raise _Unplanned("an edge that selects its node twice")
                node_type = get_named_type(item_type.fields["node"].type)  # type: ignore[union-attr]
                node_plan = self.object_plan(spec, node_type, node_nodes)  # type: ignore[arg-type]
                entries.append(Edges(key, item_type.name, edge_fields))
            else:
                raise LookupError(f"{gql_type.name}.{name} is not a connection field")
        if node_plan is None:
            node_plan = ObjectPlan(spec)
            node_plan.finish()
        return ConnectionPlan(node_plan, entries, any(isinstance(e, (Edges, PageInfo)) for e in entries))

    def node_plans(self, nodes: list[FieldNode]) -> dict[str, ObjectPlan | Scope]:
        """What ``node`` answers for each type that is a node: its plan, or the scope it lacks."""
        plans: dict[str, ObjectPlan | Scope] = {}
        for spec in TYPES.values():
            if spec.node_scope is None:
                continue
            if spec.node_scope not in self.scopes:
                plans[spec.name] = spec.node_scope
            else:
                plans[spec.name] = self.object_plan(spec, self.schema.type_map[spec.name], nodes)  # type: ignore[arg-type]
        return plans

    def root(self, operation: OperationDefinitionNode) -> list[RootEntry]:
        query = self.schema.query_type
        assert query is not None
        entries: list[RootEntry] = []
        for key, nodes in collect_fields(self.schema, self.fragments, {}, query,  # type: ignore[arg-type]
                                         operation.selection_set).items():
            name = nodes[0].name.value
            if name == "__typename":
                entries.append(Typename(key, query.name))
                continue
            root = ROOT_FIELDS.get(name)
            if root is None or root.kind == "own":
                raise _Unplanned(f"the root field {name}")
            denied = self._denied(query, name, key, nodes)
            if denied is not None:
                entries.append(denied)
                continue
            field_def = query.fields[name]
            if root.kind == "node":
                entries.append(RootNode(key, self.node_plans(nodes), _arguments(field_def, nodes[0]), nodes))
                continue
            target = get_named_type(field_def.type)
            spec = TYPES[root.type_name]
            arguments = _arguments(field_def, nodes[0])
            if root.kind == "connection":
                entries.append(RootConnection(key, root, self.connection_plan(spec, target, nodes),  # type: ignore[arg-type]
                                              arguments, nodes))
            else:
                entries.append(RootObject(key, root, self.object_plan(spec, target, nodes),  # type: ignore[arg-type]
                                          arguments, nodes))
        return entries


def compile_plan(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                 scopes: ScopeSet, field_scopes: FieldScopes) -> Plan | CoreOnly:
    """The plan of this operation for a token with ``scopes``, or why graphql-core answers it."""
    if operation.operation != OperationType.QUERY:
        return CoreOnly(f"a {operation.operation.value}")
    finder = _HasDirective()
    visit(document, finder)
    if finder.found:
        return CoreOnly("directives (@skip/@include depend on variables)")
    compiler = _Compiler(schema, document, scopes, field_scopes)
    try:
        entries = compiler.root(operation)
    except _Unplanned as exc:
        return CoreOnly(str(exc))
    return Plan(entries, operation, compiler.children, compiler.has_denied)
