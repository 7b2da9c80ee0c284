"""The node bound: an upper bound of the objects an operation can return, from its page sizes.

Page sizes multiply down the tree (50 products of 10 variants each are 550 objects). Computed
once per document when it is compiled (``limits.measure``), with what depends on no variable
folded into a constant; a request whose page sizes are variables counts just those, with its
own values (``NodeBound.count``), against ``limits.MAX_NODES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.utilities import value_from_ast_untyped

from .arguments import MAX_PAGE_SIZE

PAGE_ARGUMENTS = ("first", "last", "skus")
CAP = 1 << 40  # sizes of exponential fragment chains stay small integers


@dataclass(frozen=True, slots=True)
class NodeBound:
    """An upper bound of the objects a selection can return, as a function of the request's
    variables: page sizes multiply down the tree. What depends on no variable is folded into
    ``constant`` when the document is compiled, so a request counts only the fields whose page
    size is a variable (and their parents)."""

    constant: int
    # (page arguments: literal sizes, None, or ("$", variable name, a list?)), the selection below
    parts: tuple[tuple[tuple[Any, ...], NodeBound], ...] = ()
    defaults: Mapping[str, Any] | None = None  # the operation's variable defaults (at the root)

    @property
    def uses_variables(self) -> bool:
        return bool(self.parts)

    def count(self, variables: Mapping[str, Any] | None) -> int:
        """With ``variables`` None (validation) a variable counts as 1; otherwise as its value,
        or its default when absent."""
        return self._count(variables, self.defaults or {})

    def _count(self, variables: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> int:
        total = self.constant
        for arguments, below in self.parts:
            size = _page_size(tuple(_resolve(a, variables, defaults) for a in arguments))
            total += size * (1 + below._count(variables, defaults))
        return min(total, CAP)


def _resolve(argument: Any, variables: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> Any:
    if type(argument) is not tuple:
        return argument
    if variables is None:
        return 1  # validation: checked again with the request's variables
    _, name, is_list = argument
    value = variables[name] if name in variables else defaults.get(name)
    if is_list and value is not None and not isinstance(value, list):
        return 1  # a single value stands for a list of one
    return value


def _page_size(values: tuple[Any, ...]) -> int:
    """The largest page asked for; a value that is no page size counts as the largest."""
    largest = None
    for value in values:
        if value is None:
            continue  # not given: the connection asks for the other one
        if isinstance(value, list):
            value = len(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            value = MAX_PAGE_SIZE
        largest = value if largest is None else max(largest, value)
    return 1 if largest is None else max(largest, 1)


def _page_arguments(field: FieldNode) -> tuple[Any, ...]:
    found: list[Any] = []
    for argument in field.arguments or ():
        name = argument.name.value
        if name not in PAGE_ARGUMENTS:
            continue
        value: Any = argument.value
        if isinstance(value, VariableNode):
            found.append(("$", value.name.value, name == "skus"))
        elif isinstance(value, IntValueNode):
            found.append(int(value.value))
        elif isinstance(value, ListValueNode):
            found.append(len(value.values))
        elif isinstance(value, NullValueNode):
            found.append(None)
        elif name == "skus":
            found.append(1)  # a single value stands for a list of one
        else:
            found.append(MAX_PAGE_SIZE)  # no page size: validation refuses it
    return tuple(found)


def node_bound(operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> NodeBound:
    """The operation's NodeBound, the document's ``fragments`` expanded: only for a document
    within ``limits.MAX_SELECTIONS`` (``limits.measure`` checks that first)."""
    defaults = {d.variable.name.value: value_from_ast_untyped(d.default_value)
                for d in operation.variable_definitions or () if d.default_value is not None}
    bound = _bound(operation.selection_set, fragments, frozenset())
    return NodeBound(bound.constant, bound.parts, defaults)


def _bound(node: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode],
           visiting: frozenset[str]) -> NodeBound:
    if node is None:
        return _NO_NODES
    constant = 0
    parts: list[tuple[tuple[Any, ...], NodeBound]] = []
    for selection in node.selections:
        if isinstance(selection, FieldNode):
            arguments = _page_arguments(selection)
            below = _bound(selection.selection_set, fragments, visiting)
            if below.parts or any(type(a) is tuple for a in arguments):
                parts.append((arguments, below))
            else:
                constant += _page_size(arguments) * (1 + below.constant)
            continue
        if isinstance(selection, InlineFragmentNode):
            inner = _bound(selection.selection_set, fragments, visiting)
        else:
            assert isinstance(selection, FragmentSpreadNode)
            name = selection.name.value
            definition = fragments.get(name)
            if definition is None or name in visiting:
                continue  # validation reports it
            inner = _bound(definition.selection_set, fragments, visiting | {name})
        constant += inner.constant
        parts.extend(inner.parts)
    return NodeBound(min(constant, CAP), tuple(parts))


_NO_NODES = NodeBound(0)
