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
bound (``node_bound``) multiplies them down the tree, against ``MAX_NODES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from .node_bound import CAP, NodeBound, node_bound

MAX_QUERY_LENGTH = 20_000
MAX_DEPTH = 10
MAX_NODES = 50_000
# Selections once every fragment spread is expanded; GraphiQL's introspection query has ~250,
# the largest of the API tests' queries ~60.
MAX_SELECTIONS = 1_000
# Aliased fields once fragments are spread: each is resolved on its own (a few hundred of one
# root field are a few hundred reads); the API tests use a handful.
MAX_ALIASES = 300
# Arguments, directives, variable definitions and the items of literal lists and objects, each
# validated (and coerced) on its own; as written, not expanded. A bulk mutation of 240 aliases
# with a small input object each needs ~500; a long list of skus is the usual big one.
MAX_INPUTS = 1_000
# Fields beyond the first that share a response name with another one in the same selection
# (after expanding fragments): graphql-core compares each such pair.
MAX_REPEATED_FIELDS = 60
# Fragment spreads and inline fragments side by side in one selection set: compared pairwise.
MAX_FRAGMENTS_PER_SELECTION = 30
MAX_INTROSPECTION_DEPTH = 20
MAX_INTROSPECTION_LISTS = 3
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
INTROSPECTION_LISTS = frozenset(
    {"types", "fields", "args", "inputFields", "interfaces", "possibleTypes", "enumValues", "directives"}
)


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


_EMPTY = _Size()


class _Measure:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.sizes: dict[str, _Size] = {}
        self.visiting: set[str] = set()
        self.inputs = 0  # as written: each selection set is visited once (fragments memoized)

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
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                name = selection.name.value
                aliases += selection.alias is not None
                self.inputs += _inputs(selection)
                full = max(full, 1 + inner.full_depth)
                lists = max(lists, inner.lists + (name in INTROSPECTION_LISTS))
                if name in INTROSPECTION_ROOTS:
                    i_depth = max(i_depth, 1 + inner.full_depth)
                    i_lists = max(i_lists, inner.lists)
                else:
                    depth = max(depth, 1 + inner.depth)
                    i_depth = max(i_depth, inner.introspection_depth)
                    i_lists = max(i_lists, inner.introspection_lists)
            else:
                fragments += 1
                self.inputs += _inputs(selection)
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
            selections = min(selections + 1 + inner.selections, CAP)
            aliases = min(aliases + inner.aliases, CAP)
            crowded = max(crowded, inner.crowded)
        return _Size(selections, aliases, depth, full, lists, i_depth, i_lists, max(crowded, fragments))


def _inputs(node: Any) -> int:
    """Arguments and directives of a selection (or the default of a variable definition),
    with the items of their literal values."""
    count = 0
    values: list[Any] = []
    for directive in node.directives or ():
        count += 1
        values.extend(a.value for a in directive.arguments or ())
    values.extend(a.value for a in getattr(node, "arguments", None) or ())
    if getattr(node, "default_value", None) is not None:  # a variable definition
        values.append(node.default_value)
    while values:
        value = values.pop()
        count += 1
        if isinstance(value, ListValueNode):
            values.extend(value.values)
        elif isinstance(value, ObjectValueNode):
            values.extend(f.value for f in value.fields)
    return count


def _fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _repeated_fields(selection_sets: list[SelectionSetNode], fragments: Mapping[str, FragmentDefinitionNode],
                     budget: int, ancestors: frozenset[str] = frozenset()) -> int:
    """Fields that share a response name with an earlier one, in the merged tree (what
    graphql-core's overlapping-fields rule compares); stops counting past ``budget``. Runs
    only on documents whose expanded size is within MAX_SELECTIONS. A fragment is expanded
    once per level and never inside itself (a cycle is NoFragmentCycles' to report)."""
    groups: dict[str, list[SelectionSetNode | None]] = {}
    pending = list(selection_sets)
    seen = set(ancestors)
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
            repeated += _repeated_fields(children, fragments, budget - repeated, frozenset(seen))
            if repeated > budget:
                return repeated
    return repeated


@dataclass(frozen=True, slots=True)
class Measured:
    errors: list[GraphQLError]
    # by operation name: the node bounds to check again with each request's variables
    node_bounds: dict[str | None, NodeBound] = field(default_factory=dict)


def measure(document: DocumentNode) -> Measured:
    """The document's cost against the budgets, before any validation rule runs."""
    try:
        return _measure(document)
    except RecursionError:  # a chain of hundreds of fragments, each spreading the next
        return Measured([too_complex("The query nests its fragments too deeply.")])


def _measure(document: DocumentNode) -> Measured:
    fragments = _fragments_of(document)
    sizes = _Measure(fragments)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    measured = [(op, sizes.selection_set(op.selection_set)) for op in operations]
    for name in fragments:
        sizes.fragment(name)
    # Validation visits every fragment definition too, used or not.
    selections = sum(size.selections for _, size in measured) + sum(size.selections for size in sizes.sizes.values())
    if selections > MAX_SELECTIONS:
        return Measured([too_complex(
            f"The query expands to more than {MAX_SELECTIONS} selections once its fragments are "
            "spread; ask for fewer fields or spread fragments fewer times.")])
    errors: list[GraphQLError] = []
    bounds: dict[str | None, NodeBound] = {}
    inputs = sizes.inputs + sum(_inputs(op) + sum(1 + _inputs(d) for d in op.variable_definitions or ())
                                for op in operations)
    if inputs > MAX_INPUTS:
        errors.append(too_complex(f"The query has more than {MAX_INPUTS} arguments, variables and literal "
                                  "list or object items; send long lists in fewer, smaller requests."))
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
            bound = node_bound(op, fragments)
            nodes = bound.count(None)
            if nodes > MAX_NODES:
                errors.append(node_limit_error(nodes))
            elif bound.uses_variables:
                bounds[op.name.value if op.name else None] = bound
    return Measured(errors, bounds)


def node_limit_error(nodes: int, max_nodes: int = MAX_NODES) -> GraphQLError:
    return too_complex(
        f"The query could return up to {nodes} objects; at most {max_nodes} are allowed. "
        "Ask for smaller pages (first/last) in nested lists."
    )
