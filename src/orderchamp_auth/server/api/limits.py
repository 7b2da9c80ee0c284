"""Limits that protect the server: what a document may cost before graphql-core sees it.

``measure`` runs once per unseen document, right after parsing and before any validation
rule: graphql-core's rules expand fragment spreads (overlapping fields compares every pair
of fields that share a response name), so a short document whose fragments spread the next
one twice, or a field repeated a few hundred times, would cost seconds. Each fragment is
measured once (memoized, cycles counted as empty: NoFragmentCycles reports them), so the
measurement itself is linear in the document.

Introspection (``__schema``, ``__type``) has its own depth allowance: GraphiQL's query is 15
levels deep, all of it type references. Its cost is bounded by the lists it nests (types,
fields, args) rather than by its depth. Page sizes are checked per connection; the node
bound here multiplies them down the tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
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
    SelectionSetNode,
    VariableNode,
)
from graphql.utilities import value_from_ast_untyped

from .connections import MAX_PAGE_SIZE

MAX_QUERY_LENGTH = 20_000
MAX_DEPTH = 10
MAX_NODES = 50_000
# Selections once every fragment spread is expanded; GraphiQL's introspection query has ~250,
# the largest of the API tests' queries ~60.
MAX_SELECTIONS = 1_000
# Aliased fields once fragments are spread: each is resolved on its own (a few hundred of one
# root field are a few hundred reads); the API tests use a handful.
MAX_ALIASES = 300
# Fields beyond the first that share a response name with another one in the same selection
# (after expanding fragments): graphql-core compares each such pair.
MAX_REPEATED_FIELDS = 60
# Fragment spreads and inline fragments side by side in one selection set: compared pairwise.
MAX_FRAGMENTS_PER_SELECTION = 30
MAX_INTROSPECTION_DEPTH = 20
MAX_INTROSPECTION_LISTS = 3
PAGE_ARGUMENTS = ("first", "last", "skus")
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
INTROSPECTION_LISTS = frozenset(
    {"types", "fields", "args", "inputFields", "interfaces", "possibleTypes", "enumValues", "directives"}
)
_CAP = 1 << 40  # sizes of exponential fragment chains stay small integers


def too_complex(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX"})


def too_deep(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "QUERY_TOO_DEEP"})


@dataclass(frozen=True, slots=True)
class _Size:
    """Of a selection set with its fragments expanded."""

    selections: int = 0
    aliases: int = 0
    depth: int = 0  # fields outside introspection, nested
    full_depth: int = 0  # all fields, nested
    lists: int = 0  # nested introspection list fields (on any path)
    introspection_depth: int = 0  # of the deepest __schema / __type selection, counting itself
    introspection_lists: int = 0
    crowded: int = 0  # the most fragments side by side in one selection set
    variable_pages: bool = False  # a page size comes from a variable


_EMPTY = _Size()


class _Measure:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.sizes: dict[str, _Size] = {}
        self.visiting: set[str] = set()

    def fragment(self, name: str) -> _Size:
        size = self.sizes.get(name)
        if size is None:
            definition = self.fragments.get(name)
            if definition is None or name in self.visiting:
                return _EMPTY  # an unknown fragment or a cycle: validation reports it
            self.visiting.add(name)
            size = self.selection_set(definition.selection_set)
            self.visiting.discard(name)
            self.sizes[name] = size
        return size

    def selection_set(self, node: SelectionSetNode | None) -> _Size:
        if node is None:
            return _EMPTY
        selections = aliases = depth = full = lists = i_depth = i_lists = crowded = fragments = 0
        variable_pages = False
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                name = selection.name.value
                aliases += selection.alias is not None
                full = max(full, 1 + inner.full_depth)
                lists = max(lists, inner.lists + (name in INTROSPECTION_LISTS))
                if name in INTROSPECTION_ROOTS:
                    i_depth = max(i_depth, 1 + inner.full_depth)
                    i_lists = max(i_lists, inner.lists)
                else:
                    depth = max(depth, 1 + inner.depth)
                    i_depth = max(i_depth, inner.introspection_depth)
                    i_lists = max(i_lists, inner.introspection_lists)
                variable_pages = variable_pages or any(
                    a.name.value in PAGE_ARGUMENTS and isinstance(a.value, VariableNode)
                    for a in selection.arguments or ()
                )
            else:
                fragments += 1
                if isinstance(selection, InlineFragmentNode):
                    inner = self.selection_set(selection.selection_set)
                else:
                    assert isinstance(selection, FragmentSpreadNode)
                    inner = self.fragment(selection.name.value)
                depth = max(depth, inner.depth)
                full = max(full, inner.full_depth)
                lists = max(lists, inner.lists)
                i_depth = max(i_depth, inner.introspection_depth)
                i_lists = max(i_lists, inner.introspection_lists)
            selections = min(selections + 1 + inner.selections, _CAP)
            aliases = min(aliases + inner.aliases, _CAP)
            crowded = max(crowded, inner.crowded)
            variable_pages = variable_pages or inner.variable_pages
        return _Size(selections, aliases, depth, full, lists, i_depth, i_lists, max(crowded, fragments), variable_pages)


def _fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _repeated_fields(selection_sets: list[SelectionSetNode], fragments: Mapping[str, FragmentDefinitionNode],
                     budget: int) -> int:
    """Fields that share a response name with an earlier one, in the merged tree (what
    graphql-core's overlapping-fields rule compares); stops counting past ``budget``. Runs
    only on documents whose expanded size is within MAX_SELECTIONS."""
    groups: dict[str, list[SelectionSetNode | None]] = {}
    pending = list(selection_sets)
    seen: set[str] = set()  # fragments expanded at this level (a cycle is NoFragmentCycles' to report)
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                groups.setdefault(key, []).append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                definition = fragments.get(selection.name.value)
                if definition is not None and selection.name.value not in seen:
                    seen.add(selection.name.value)
                    pending.append(definition.selection_set)
    repeated = 0
    for group in groups.values():
        repeated += len(group) - 1
        if repeated > budget:
            return repeated
        children = [s for s in group if s is not None]
        if children:
            repeated += _repeated_fields(children, fragments, budget - repeated)
            if repeated > budget:
                return repeated
    return repeated


@dataclass(frozen=True, slots=True)
class Measured:
    errors: list[GraphQLError]
    variable_pages: bool  # the node bound must be checked again with each request's variables


def measure(document: DocumentNode) -> Measured:
    """The document's cost against the budgets, before any validation rule runs."""
    fragments = _fragments_of(document)
    sizes = _Measure(fragments)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    try:
        measured = [(op, sizes.selection_set(op.selection_set)) for op in operations]
        for name in fragments:
            sizes.fragment(name)
    except RecursionError:
        return Measured([too_complex("The query nests its fragments too deeply.")], False)
    # Validation visits every fragment definition too, used or not.
    selections = sum(size.selections for _, size in measured) + sum(size.selections for size in sizes.sizes.values())
    if selections > MAX_SELECTIONS:
        return Measured([too_complex(
            f"The query expands to more than {MAX_SELECTIONS} selections once its fragments are "
            "spread; ask for fewer fields or spread fragments fewer times.")], False)
    errors: list[GraphQLError] = []
    if sum(size.aliases for _, size in measured) > MAX_ALIASES:
        errors.append(too_complex(f"The query has more than {MAX_ALIASES} aliased fields once its fragments are "
                                  "spread; ask for fewer at a time."))
    if any(size.crowded > MAX_FRAGMENTS_PER_SELECTION for _, size in measured):
        errors.append(too_complex(
            f"A selection holds more than {MAX_FRAGMENTS_PER_SELECTION} fragments side by side."))
    repeated = 0
    for op, _ in measured:
        repeated += _repeated_fields([op.selection_set], fragments, MAX_REPEATED_FIELDS - repeated)
        if repeated > MAX_REPEATED_FIELDS:
            errors.append(too_complex(
                f"The query asks for the same field more than {MAX_REPEATED_FIELDS} times under one "
                "name; give repeated fields distinct aliases or ask for them once."))
            break
    for op, size in measured:
        if size.depth > MAX_DEPTH:
            errors.append(too_deep(f"The query is {size.depth} levels deep; at most {MAX_DEPTH} are allowed."))
        if size.introspection_depth > MAX_INTROSPECTION_DEPTH:
            errors.append(too_deep(f"The introspection query is {size.introspection_depth} levels deep; "
                                   f"at most {MAX_INTROSPECTION_DEPTH} are allowed."))
        if size.introspection_lists > MAX_INTROSPECTION_LISTS:
            errors.append(too_deep(f"The introspection query nests {size.introspection_lists} lists; "
                                   f"at most {MAX_INTROSPECTION_LISTS} are allowed."))
        if not errors:
            nodes = count_nodes(document, op, None)
            if nodes > MAX_NODES:
                errors.append(node_limit_error(nodes))
    return Measured(errors, any(size.variable_pages for _, size in measured))


def node_limit_error(nodes: int, max_nodes: int = MAX_NODES) -> GraphQLError:
    return too_complex(
        f"The query could return up to {nodes} objects; at most {max_nodes} are allowed. "
        "Ask for smaller pages (first/last) in nested lists."
    )


def count_nodes(document: DocumentNode, operation: OperationDefinitionNode,
                variables: Mapping[str, Any] | None) -> int:
    """An upper bound of the objects ``operation`` can return: page sizes multiply down the
    tree. With ``variables`` None (validation), a variable counts as 1 and the bound is checked
    again per request; otherwise a variable has its value, or its default when absent."""
    defaults: dict[str, Any] = {}
    if variables is not None:
        for definition in operation.variable_definitions or ():
            if definition.default_value is not None:
                defaults[definition.variable.name.value] = value_from_ast_untyped(definition.default_value)
    return _NodeCounter(_fragments_of(document), variables, defaults).selection_set(operation.selection_set)


class _NodeCounter:
    """Counts at multiplier 1: a selection's count scales linearly with the pages above it,
    so each fragment is counted once."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any] | None,
                 defaults: dict[str, Any]) -> None:
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults
        self.counted: dict[str, int] = {}
        self.visiting: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None) -> int:
        if node is None:
            return 0
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.page_size(selection) * (1 + self.selection_set(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return min(total, _CAP)

    def fragment(self, name: str) -> int:
        counted = self.counted.get(name)
        if counted is None:
            definition = self.fragments.get(name)
            if definition is None or name in self.visiting:
                return 0
            self.visiting.add(name)
            counted = self.counted[name] = self.selection_set(definition.selection_set)
            self.visiting.discard(name)
        return counted

    def page_size(self, field: FieldNode) -> int:
        """The largest page a field asks for; a value that is no page size counts as the largest."""
        largest = None
        for argument in field.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            value: Any = argument.value
            if isinstance(value, VariableNode):
                if self.variables is None:
                    value = 1  # validation: checked again with the request's variables
                else:
                    name = value.name.value
                    value = self.variables[name] if name in self.variables else self.defaults.get(name)
            elif isinstance(value, IntValueNode):
                value = int(value.value)
            elif isinstance(value, ListValueNode):
                value = len(value.values)
            elif isinstance(value, NullValueNode):
                value = None
            if value is None:
                continue  # not given: the connection asks for the other one
            if isinstance(value, list):
                value = len(value)
            elif isinstance(value, str) and argument.name.value == "skus":
                value = 1  # a single value stands for a list of one
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                value = MAX_PAGE_SIZE
            largest = value if largest is None else max(largest, value)
        return 1 if largest is None else max(largest, 1)
