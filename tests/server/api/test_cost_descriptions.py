"""The cost table where an app developer reads it: every field's description, as introspection
returns it. A client that prices a query from those descriptions alone gets what the server
charges (api/cost.py), so the descriptions cannot drift from the numbers."""

from __future__ import annotations

import re

import pytest
from graphql import FieldNode, OperationDefinitionNode, get_introspection_query, graphql_sync, parse

from orderchamp_auth.server.api.cost import COST_TABLE, requested_cost

from .test_cost import MATRIX, SCHEMA

_NOTE = re.compile(r"Cost: (\d+) plus (?:(first \(or last\)|the number of skus) times "
                   r"(?:\((\d+) plus its selection\)|its selection)|its selection)")


def _introspected() -> dict[str, dict]:
    result = graphql_sync(SCHEMA, get_introspection_query(descriptions=True))
    assert result.errors is None
    return {t["name"]: t for t in result.data["__schema"]["types"]}


TYPES = _introspected()


def _unwrap(ref: dict) -> str:
    while ref.get("ofType"):
        ref = ref["ofType"]
    return ref["name"]


class DescribedCost:
    """Prices a document from the introspected descriptions only (a client's view)."""

    def selection(self, nodes, type_name: str) -> int:
        fields = {f["name"]: f for f in TYPES[type_name]["fields"] or ()}
        return sum(self.field(node, fields[node.name.value]) for node in nodes or ())

    def field(self, node: FieldNode, field: dict) -> int:
        match = _NOTE.search(field["description"] or "")
        inner = self.selection(node.selection_set.selections if node.selection_set else (), _unwrap(field["type"]))
        if match is None:
            assert inner == 0, f"{field['name']} has no Cost line but a priced selection"
            return 0
        own, sized, each = int(match[1]), match[2], match[3]
        if sized is None:
            return own + inner
        argument = next(a for a in node.arguments if a.name.value in ("first", "last", "skus"))
        count = len(argument.value.values) if sized.startswith("the number") else int(argument.value.value)
        return own + count * (int(each or 0) + inner)

    def of(self, query: str) -> int:
        operation = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
        root = "Mutation" if operation.operation.value == "mutation" else "Query"
        return self.selection(operation.selection_set.selections, root)


PLAIN = [(q, expected) for q, variables, expected in MATRIX
         if variables is None and "fragment" not in q and "$" not in q and "__" not in q and "... on" not in q]


def test_the_matrix_has_enough_plain_queries_to_mean_something():
    assert len(PLAIN) >= 10


@pytest.mark.parametrize(("query", "expected"), PLAIN)
def test_pricing_from_the_descriptions_gives_what_the_server_charges(query, expected):
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    assert DescribedCost().of(query) == requested_cost(SCHEMA, document, operation, None).requested == expected


def test_every_field_that_costs_something_says_so_and_no_other_does():
    for type_ in TYPES.values():
        if type_["kind"] != "OBJECT" or type_["name"].startswith("__"):
            continue
        for field in type_["fields"]:
            target = TYPES[_unwrap(field["type"])]["kind"]
            described = _NOTE.search(field["description"] or "") is not None
            assert described == (target in ("OBJECT", "INTERFACE")), (type_["name"], field["name"])


def test_the_roots_carry_the_table_and_the_schema_texts_stay():
    assert COST_TABLE in TYPES["Query"]["description"] and COST_TABLE in TYPES["Mutation"]["description"]
    fields = {f["name"]: f for f in TYPES["Query"]["fields"]}
    # the SDL's own descriptions come first, untouched
    assert fields["account"]["description"].startswith("The account the token belongs to.\n\nCost: 1 ")
    assert "Cost: 10 plus its selection." in {f["name"]: f for f in TYPES["Mutation"]["fields"]}[
        "productCreate"]["description"]
