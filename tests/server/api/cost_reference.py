"""The walk api/cost.py made before it compiled a document's cost shape: kept here as the
reference its compiled shape is checked against (test_cost_shape.py), on any data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema, get_named_type
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

from orderchamp_auth.server.api.cost import (
    _CAP,
    CONNECTION_COST,
    INTROSPECTION_COST,
    MUTATION_COST,
    OBJECT_COST,
    _Compiler,
    _is_connection,
    _is_list,
    _is_wrapper,
)


def reference_cost(schema, document, operation, variables, data) -> int:
    walk = _Walk(schema, document, operation, variables)
    return min(walk.operation_cost(data if isinstance(data, Mapping) else None), _CAP)


class _Walk:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                 variables: Mapping[str, Any] | None) -> None:
        # the document's fragments and variables as the compiler reads them: the walk over data
        # is what the reference is for
        self.sizes = _Compiler(schema, document, operation, variables)
        self.schema = schema
        self.operation = operation
        self.fragments = self.sizes.fragments
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
        # page sizes are not what the reference is for: the compiler's own reading of them
        size = self.sizes.page_size(node)
        self.uses_variables = self.uses_variables or self.sizes.uses_variables
        return size
