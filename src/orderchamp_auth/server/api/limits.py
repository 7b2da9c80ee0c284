"""Limits that protect the server: query size and depth (page size is checked per connection)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, OperationDefinitionNode
from graphql.validation import ValidationContext, ValidationRule

MAX_QUERY_LENGTH = 20_000
MAX_DEPTH = 10


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
            self._fragments = {f.name.value: f for f in context.document.definitions if hasattr(f, "name")
                               and f.__class__.__name__ == "FragmentDefinitionNode"}

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
