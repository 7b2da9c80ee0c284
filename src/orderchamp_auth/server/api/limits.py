"""Limits that protect the server: query size and depth (page size is checked per connection)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from graphql.language import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.validation import ValidationContext, ValidationRule

MAX_QUERY_LENGTH = 20_000
MAX_DEPTH = 10
MAX_NODES = 50_000
PAGE_ARGUMENTS = ("first", "last")



def _depth(node: Any, fragments: dict[str, Any], seen: frozenset[str]) -> int:
    selection_set = getattr(node, "selection_set", None)
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            deepest = max(deepest, 1 + _depth(selection, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            deepest = max(deepest, _depth(fragments[name], fragments, seen | {name}))
    return deepest


def depth_limit_rule(max_depth: int = MAX_DEPTH) -> type[ValidationRule]:
    class DepthLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragments = {f.name.value: f for f in context.document.definitions
                               if isinstance(f, FragmentDefinitionNode)}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            depth = _depth(node, self._fragments, frozenset())
            if depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"The query is {depth} levels deep; at most {max_depth} are allowed.",
                        node, extensions={"code": "QUERY_TOO_DEEP"},
                    )
                )

    return DepthLimit


def _page_size(field: FieldNode, variables: dict[str, Any] | None) -> int:
    """The page size a field asks for: a literal, or a variable's value (1 while unknown)."""
    for argument in field.arguments or ():
        name = argument.name.value
        if name not in PAGE_ARGUMENTS and name != "skus":
            continue
        value: Any = argument.value
        if isinstance(value, VariableNode):
            value = (variables or {}).get(value.name.value)
        elif isinstance(value, IntValueNode):
            value = int(value.value)
        elif isinstance(value, ListValueNode):
            value = len(value.values)
        if isinstance(value, list):
            value = len(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 1)
    return 1


def uses_variable_page_sizes(document: DocumentNode) -> bool:
    """Whether the node bound must be checked again with the request's variables."""
    found = False

    class Finder(Visitor):
        def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
            nonlocal found
            if node.name.value in (*PAGE_ARGUMENTS, "skus") and isinstance(node.value, VariableNode):
                found = True

    visit(document, Finder())
    return found


def count_nodes(document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None) -> int:
    fragments = {f.name.value: f for f in document.definitions if isinstance(f, FragmentDefinitionNode)}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            return _nodes(definition, fragments, 1, frozenset(), variables)
    return 0


def node_limit_error(nodes: int, max_nodes: int = MAX_NODES) -> GraphQLError:
    return GraphQLError(
        f"The query could return up to {nodes} objects; at most {max_nodes} are allowed. "
        "Ask for smaller pages (first/last) in nested lists.",
        extensions={"code": "QUERY_TOO_COMPLEX"},
    )


def _nodes(node: Any, fragments: dict[str, Any], multiplier: int, seen: frozenset[str],
           variables: dict[str, Any] | None = None) -> int:
    """An upper bound of the objects a selection can return: page sizes multiply down the tree."""
    selection_set = getattr(node, "selection_set", None)
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = multiplier * _page_size(selection, variables)
            total += inner + _nodes(selection, fragments, inner, seen, variables)
        elif isinstance(selection, InlineFragmentNode):
            total += _nodes(selection, fragments, multiplier, seen, variables)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                total += _nodes(fragments[name], fragments, multiplier, seen | {name}, variables)
    return total


def node_limit_rule(max_nodes: int = MAX_NODES) -> type[ValidationRule]:
    class NodeLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragments = {f.name.value: f for f in context.document.definitions
                               if isinstance(f, FragmentDefinitionNode)}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            nodes = _nodes(node, self._fragments, 1, frozenset())
            if nodes > max_nodes:
                error = node_limit_error(nodes, max_nodes)
                self.report_error(GraphQLError(error.message, node, extensions=error.extensions))

    return NodeLimit
