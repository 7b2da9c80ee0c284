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
    walk = _Walk(schema, document, operation, variables)
    cost = walk.operation_cost(None)
    return QueryCost(min(cost, _CAP), walk.uses_variables, walk.multiplies)


def actual_cost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                variables: Mapping[str, Any] | None, data: Mapping[str, Any] | None) -> int:
    """The cost of what ``data`` holds: connections count the items they returned."""
    walk = _Walk(schema, document, operation, variables)
    return min(walk.operation_cost(data if isinstance(data, Mapping) else None), _CAP)


class _Walk:
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

    def operation_cost(self, data: Mapping[str, Any] | None) -> int:
        kind = self.operation.operation
        root = (self.schema.mutation_type if kind == OperationType.MUTATION
                else self.schema.subscription_type if kind == OperationType.SUBSCRIPTION else self.schema.query_type)
        if root is None:
            return 0
        return self.selection_cost(self.operation.selection_set, root, data, frozenset(),
                                   MUTATION_COST if kind == OperationType.MUTATION else None)

    def selection_cost(self, node: SelectionSetNode | None, parent: Any, data: Mapping[str, Any] | None,
                       visiting: frozenset[str], root_cost: int | None = None) -> int:
        if node is None:
            return 0
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent, data, root_cost)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner, condition = selection.selection_set, selection.type_condition
            else:
                assert isinstance(selection, FragmentSpreadNode)
                name = selection.name.value
                definition = self.fragments.get(name)
                if definition is None or name in visiting:
                    continue  # validation refused such a document before it got here
                inner, condition = definition.selection_set, definition.type_condition
                visiting = visiting | {name}
            on = self.schema.get_type(condition.name.value) if condition is not None else parent
            total += self.selection_cost(inner, on if on is not None else parent, data, visiting, root_cost)
        return total

    def field_cost(self, node: FieldNode, parent: Any, data: Mapping[str, Any] | None,
                   root_cost: int | None) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0 if name == "__typename" else INTROSPECTION_COST
        key = node.alias.value if node.alias else name
        if data is not None and key not in data:
            return 0  # a fragment on another type of an abstract field: not part of this object
        definition = getattr(parent, "fields", {}).get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        own = root_cost if root_cost is not None else (0 if _is_wrapper(named) else OBJECT_COST)
        value = data.get(key) if data is not None else None
        page = self.page_size(node)
        if page is not None:
            self.multiplies = True
            if isinstance(value, list):  # a list by skus, as returned
                return CONNECTION_COST + self.items_cost(node.selection_set, named, value, own)
            if isinstance(value, Mapping):  # a connection, as returned: its edges and nodes hold the items
                return CONNECTION_COST + self.selection_cost(node.selection_set, named, value, frozenset())
            return CONNECTION_COST + page * (own + self.selection_cost(node.selection_set, named, None, frozenset()))
        if isinstance(value, list) and _is_connection(parent):
            return self.items_cost(node.selection_set, named, value, own)
        if isinstance(value, Mapping) and not _is_list(definition.type):
            return own + self.selection_cost(node.selection_set, named, value, frozenset())
        # null, a plain list, or before the query ran: what was requested
        return own + self.selection_cost(node.selection_set, named, None, frozenset())

    def items_cost(self, node: SelectionSetNode | None, named: Any, items: list[Any], own: int) -> int:
        return sum(own + self.selection_cost(node, named, item if isinstance(item, Mapping) else None, frozenset())
                   for item in items)

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
