"""The actual cost from the compiled shape (api/cost.py) against the plain walk it replaced
(cost_reference.py), on generated results of every query of the cost matrix: any mix of nulls,
objects and lists of any length, as an engine could return them."""

from __future__ import annotations

from typing import Any

import pytest
from graphql.language import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, SelectionSetNode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderchamp_auth.server.api.cost import requested_cost

from .cost_reference import reference_cost
from .test_cost import MATRIX, SCHEMA, _operation

ABSTRACT = [
    # fragments on the types of an abstract field: a Product comes back without the Order's keys
    ('{ node(id: "x") { id ... on Product { images(first: 3) { nodes { id } } } '
     '... on Order { products(first: 2) { nodes { sku } } customer { email } } } }', None),
    ('{ node(id: "x") { ...O ... on Node { id } } } fragment O on Order { products(first: 4) { nodes { sku } } }', None),
    ("{ products(first: 5) { nodes { id variants(first: 3) @include(if: false) { nodes { id } } "
     "... @skip(if: true) { images(first: 2) { nodes { id } } } } } }", None),
]
QUERIES = [(q, v) for q, v, _ in MATRIX] + ABSTRACT


def _result(draw: Any, node: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
            depth: int, optional: bool) -> dict[str, Any]:
    """A result for ``node``: every field there, unless ``optional`` (inside a fragment, where
    it may not apply), each null, an object or a list of 0-3 items."""
    out: dict[str, Any] = {}
    for selection in node.selections if node is not None else ():
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            if optional and draw(st.booleans()):
                continue
            if selection.selection_set is None:
                out[key] = "x"
                continue
            kind = draw(st.sampled_from(["null", "object", "list"]) if depth < 6 else st.just("null"))
            if kind == "object":
                out[key] = _result(draw, selection.selection_set, fragments, depth + 1, False)
            elif kind == "list":
                out[key] = [None if draw(st.booleans()) and draw(st.booleans())
                            else _result(draw, selection.selection_set, fragments, depth + 1, False)
                            for _ in range(draw(st.integers(0, 3)))]
            else:
                out[key] = None
            continue
        inner = (fragments[selection.name.value].selection_set if isinstance(selection, FragmentSpreadNode)
                 else selection.selection_set)
        out.update(_result(draw, inner, fragments, depth, True))
    return out


@pytest.mark.parametrize(("query", "variables"), QUERIES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_compiled_shape_charges_what_the_walk_charges(query, variables, data):
    document, operation = _operation(query)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    result = _result(data.draw, operation.selection_set, fragments, 0, False)
    cost = requested_cost(SCHEMA, document, operation, variables)
    expected = (min(reference_cost(SCHEMA, document, operation, variables, result), cost.requested)
                if cost.multiplies else cost.requested)
    assert cost.actual(result) == expected
    assert cost.requested == reference_cost(SCHEMA, document, operation, variables, None)


def test_a_fragment_on_another_type_costs_nothing_when_its_object_is_not_that_type():
    document, operation = _operation(ABSTRACT[0][0])
    cost = requested_cost(SCHEMA, document, operation, None)
    assert cost.requested == 1 + (2 + 3) + (2 + 2) + 1
    assert cost.actual({"node": {"id": "x", "images": {"nodes": [{"id": 1}]}}}) == 1 + 2 + 1
    assert cost.actual({"node": {"id": "x", "products": {"nodes": []}, "customer": None}}) == 1 + 2 + 0 + 1


def test_skipped_and_not_included_selections_cost_nothing_when_they_are_not_returned():
    document, operation = _operation(ABSTRACT[2][0])
    cost = requested_cost(SCHEMA, document, operation, None)
    assert cost.actual({"products": {"nodes": [{"id": "a"}, {"id": "b"}]}}) == 2 + 2 * 1
