"""What a query costs against the rate limit (``server/ratelimit``): from the validated
document, the operation and the request's variables, before anything runs; and afterwards
from what was returned. It works on the document, not on an engine, so a compiled plan and
graphql-core charge the same.

The table (the README's "Rate limits" section says the same to app developers):

- a scalar or enum field, ``__typename``, the wrappers of a connection (``edges``,
  ``pageInfo`` and their types): 0;
- an object field: 1 plus its selection; a plain list of objects counts as one object;
- a connection (and ``productVariants(skus:)``): 2 plus its page size (``first``/``last``,
  the number of skus) times the cost of one item; after the query, the items returned;
- a mutation's root field: 10 plus its selection;
- introspection (``__schema``, ``__type``): 1.

A field that came back null costs what it was requested at: the work to find that it is
null was done. So only connections can make the actual cost lower than the requested one.

``document_costs`` writes the table into the schema's descriptions (what GraphiQL and
introspection show an app developer), from the same constants and rules as the walk below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)
from graphql.utilities import value_from_ast_untyped

from .node_bound import PAGE_ARGUMENTS  # the arguments that size a page, for the bound and the cost alike

OBJECT_COST = 1
CONNECTION_COST = 2
MUTATION_COST = 10
INTROSPECTION_COST = 1
_CAP = 1 << 40  # a page size in the billions still adds up to a small integer
_NO_VARIABLES: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class QueryCost:
    requested: int
    # some page size is a variable: the cost holds for these variables only
    uses_variables: bool
    # some field multiplies its selection: the actual cost can be lower than the requested one
    multiplies: bool
    shape: _Selection

    def actual(self, data: dict[str, Any] | None) -> int:
        """The cost of what ``data`` (the response's ``data``) holds: connections count the
        items they returned, and only the paths that lead to one are walked. A query with no
        connection costs what was requested."""
        # the engines' data is made of dicts and lists (a dict is checked faster than a Mapping)
        if not self.multiplies or not isinstance(data, dict):
            return self.requested
        return min(self.shape.cost_of(data), self.requested)


COST_TABLE = (
    f"Rate-limit cost of a query: the sum over its fields. A field whose description has no "
    f"Cost line costs 0 (scalars, enums, __typename); __schema and __type cost {INTROSPECTION_COST}; an object "
    f"field costs {OBJECT_COST} plus its selection; a connection {CONNECTION_COST} plus first (or last) times "
    f"its selection, refunded down to the items returned; a mutation's field {MUTATION_COST} plus its selection."
)


def cost_note(parent: GraphQLObjectType, field: GraphQLField, *, mutation_root: bool) -> str | None:
    """The "Cost: ..." sentence of a field's description; None for a field that costs 0."""
    named = get_named_type(field.type)
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        return None
    own = MUTATION_COST if mutation_root else (0 if _is_wrapper(named) else OBJECT_COST)
    paged = [name for name in PAGE_ARGUMENTS if name in field.args]
    if not paged:
        each = ", for each item of the page" if own and _is_connection(parent) else ""
        return f"Cost: {own} plus its selection{each}."
    size = "the number of skus" if paged == ["skus"] else "first (or last)"
    item = f"({own} plus its selection)" if own else "its selection"
    return f"Cost: {CONNECTION_COST} plus {size} times {item}, refunded down to the items returned."


def document_costs(schema: GraphQLSchema) -> None:
    """Append each field's cost to its description, and the table to the root types'."""
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        mutation_root = type_ is schema.mutation_type
        if type_ is schema.query_type or mutation_root:
            type_.description = _joined(type_.description, COST_TABLE)
        for field in type_.fields.values():
            note = cost_note(type_, field, mutation_root=mutation_root)
            if note is not None:
                field.description = _joined(field.description, note)


def _joined(description: str | None, note: str) -> str:
    return note if not description else f"{description}\n\n{note}"


def requested_cost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                   variables: Mapping[str, Any] | None) -> QueryCost:
    """The operation's price before it runs, with the shape ``QueryCost.actual`` walks after."""
    compiler = _Compiler(schema, document, operation, variables)
    shape = compiler.operation_shape()
    return QueryCost(min(shape.requested, _CAP), compiler.uses_variables, compiler.multiplies, shape)


def actual_cost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                variables: Mapping[str, Any] | None, data: dict[str, Any] | None) -> int:
    """The cost of what ``data`` holds: connections count the items they returned."""
    return requested_cost(schema, document, operation, variables).actual(data)


_ABSENT = object()


@dataclass(frozen=True, slots=True)
class _Selection:
    """A selection set's cost: ``fixed``, what it costs whatever comes back; ``dynamic``, the
    fields whose cost depends on what came back (a connection below them, or a fragment that
    may not apply to the object returned)."""

    fixed: int
    dynamic: tuple[_Field, ...]
    requested: int

    def cost_of(self, data: dict[str, Any]) -> int:
        total = self.fixed
        for field in self.dynamic:
            value = data.get(field.key, _ABSENT)
            if value is not _ABSENT:  # absent: a fragment on another type of an abstract field
                total += field.cost_of(value)
        return total


@dataclass(frozen=True, slots=True)
class _Field:
    key: str
    own: int
    connection: bool  # sized by first/last/skus: its items are counted as returned
    items: bool  # a list inside a connection (nodes, edges): each item returned counts
    single: bool  # an object, not a plain list (which counts as one object, as requested)
    requested: int
    inner: _Selection

    def cost_of(self, value: Any) -> int:
        # null, a plain list, or an unexpected value: what was requested
        if isinstance(value, list):
            if not (self.connection or self.items):
                return self.requested
            inner, own = self.inner, self.own
            if inner.dynamic:
                total = sum(own + (inner.cost_of(item) if isinstance(item, dict) else inner.requested)
                            for item in value)
            else:
                total = len(value) * (own + inner.requested)
            return CONNECTION_COST + total if self.connection else total
        if isinstance(value, dict):
            if self.connection:
                return CONNECTION_COST + self.inner.cost_of(value)
            if self.single:
                return self.own + self.inner.cost_of(value)
        return self.requested

    @property
    def static(self) -> bool:
        """Costs what was requested whatever came back, once it is there."""
        return not (self.connection or self.items) and (not self.single or not self.inner.dynamic)


_NO_SELECTION = _Selection(0, (), 0)


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                 variables: Mapping[str, Any] | None) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.variables = variables if variables is not None else _NO_VARIABLES
        self.defaults = {d.variable.name.value: value_from_ast_untyped(d.default_value)
                         for d in operation.variable_definitions or () if d.default_value is not None}
        self.uses_variables = False
        self.multiplies = False

    def operation_shape(self) -> _Selection:
        kind = self.operation.operation
        root = (self.schema.mutation_type if kind == OperationType.MUTATION
                else self.schema.subscription_type if kind == OperationType.SUBSCRIPTION else self.schema.query_type)
        if root is None:
            return _NO_SELECTION
        return self.selection(self.operation.selection_set, root,
                              MUTATION_COST if kind == OperationType.MUTATION else None)

    def selection(self, node: SelectionSetNode | None, parent: Any, root_cost: int | None = None) -> _Selection:
        if node is None:
            return _NO_SELECTION
        fixed = [0]
        dynamic: list[_Field] = []
        self._collect(node, parent, parent, root_cost, frozenset(), True, fixed, dynamic)
        return _Selection(fixed[0], tuple(dynamic), fixed[0] + sum(f.requested for f in dynamic))

    def _collect(self, node: SelectionSetNode, parent: Any, on: Any, root_cost: int | None,
                 visiting: frozenset[str], certain: bool, fixed: list[int], dynamic: list[_Field]) -> None:
        """Sorts the fields of ``node`` (and of its fragments) into ``fixed`` and ``dynamic``.
        ``certain``: the fields here are in the result whenever their object is (no fragment on
        another type, no directive between them and ``parent``'s selection)."""
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__"):
                    fixed[0] += 0 if name == "__typename" else INTROSPECTION_COST
                    continue
                field = self.field(selection, on, root_cost)
                if field is None:
                    continue
                if field.static and certain and not selection.directives:
                    fixed[0] += field.requested
                else:
                    dynamic.append(field)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner, condition, fragment_visiting = selection.selection_set, selection.type_condition, visiting
            else:
                assert isinstance(selection, FragmentSpreadNode)
                name = selection.name.value
                definition = self.fragments.get(name)
                if definition is None or name in visiting:
                    continue  # validation refused such a document before it got here
                inner, condition, fragment_visiting = definition.selection_set, definition.type_condition, visiting | {name}
            narrowed = self.schema.get_type(condition.name.value) if condition is not None else None
            applies = certain and not selection.directives and (narrowed is None or narrowed is parent)
            self._collect(inner, parent, narrowed if narrowed is not None else on, root_cost, fragment_visiting,
                          applies, fixed, dynamic)

    def field(self, node: FieldNode, parent: Any, root_cost: int | None) -> _Field | None:
        """The field's cost shape; None for one that costs 0 whatever comes back."""
        definition = getattr(parent, "fields", {}).get(node.name.value)
        if definition is None:
            return None
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            return None
        own = root_cost if root_cost is not None else (0 if _is_wrapper(named) else OBJECT_COST)
        key = node.alias.value if node.alias else node.name.value
        inner = self.selection(node.selection_set, named)
        page = self.page_size(node)
        if page is not None:
            self.multiplies = True
            return _Field(key, own, True, False, True, CONNECTION_COST + page * (own + inner.requested), inner)
        return _Field(key, own, False, _is_connection(parent), not _is_list(definition.type), own + inner.requested,
                      inner)

    def page_size(self, node: FieldNode) -> int | None:
        """The items a connection (or ``skus`` list) asks for; None for any other field."""
        found = False
        largest = 0
        for argument in node.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            found = True
            value: Any = argument.value
            if isinstance(value, VariableNode):
                self.uses_variables = True
                name = value.name.value
                value = self.variables[name] if name in self.variables else self.defaults.get(name)
            elif isinstance(value, IntValueNode):
                value = int(value.value)
            elif isinstance(value, ListValueNode):
                value = len(value.values)
            elif isinstance(value, NullValueNode):
                value = None
            else:
                value = 1  # a single sku stands for a list of one
            largest = max(largest, _count(value))
        return min(largest, _CAP) if found else None


def _count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, str):
        return 1
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    return 0  # null or not a number: the connection refuses it before reading anything


def _is_connection(parent: Any) -> bool:
    return getattr(parent, "name", "").endswith("Connection")


def _is_wrapper(named: Any) -> bool:
    name = named.name
    return name.endswith("Connection") or name.endswith("Edge") or name == "PageInfo"


def _is_list(type_: Any) -> bool:
    return is_list_type(type_.of_type if is_non_null_type(type_) else type_)
