"""Queries and mutations generated from the API's own schema (hypothesis-graphql), sent with a
token of each single scope and one with every scope, plus fuzzed variables and operationName.

Every answer: no 5xx, no internals, every execution error with a code; only objects the
token's scopes may read, null plus ACCESS_DENIED for each field of a scope it lacks, and
nothing of the other account (its IDs are among the generated arguments); the other account's
data never changes.
"""

from __future__ import annotations

import base64
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from orderchamp_auth.protocol.scopes import Scope

from .budget import fuzz_settings
from .conftest import rows_of
from .dataset import ALL_SCOPES
from .graphql_oracle import AnswerCheck, add_typename_to_nodes, sdl
from .oracle import answer, check_answer, expect
from .values import HOSTILE_CURSORS, big_ints, hostile_text, json_body, json_values

SCHEMA = graphql.build_schema(sdl())
TOKENS = [s.value for s in Scope] + ["all"]

DATES = ["2026-01-05T09:00:00Z", "2026-01-05T09:00:00+02:00", "2026-01-05T09:00:00", "2026-01-05",
         "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30T00:00:00Z", "٢٠٢٦-01-05T09:00:00Z",
         "not a date", ""]
MONEY = ["4.50", "0", "-1.00", "1e400", "NaN", "Infinity", "0.001", "99999999999999999999.99", "4,50", ""]


def _gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode().rstrip("=")


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def lookalike_ids(fuzz) -> list[str]:
    """The home account's own IDs with their digits written in Arabic-Indic: no such object."""
    found = []
    for type_name in ("Product", "Order", "Customer"):
        for gid in fuzz.home_ids[type_name][:3]:
            local = base64.b64decode(gid + "=" * (-len(gid) % 4)).decode().split(":", 1)[1]
            found.append(_gid(type_name, local.translate(ARABIC_INDIC)))
    return found


def id_values(fuzz) -> list[str]:
    home = [gid for ids in fuzz.home_ids.values() for gid in ids[:4]]
    foreign = sorted(fuzz.foreign_ids)[::7]
    crafted = [_gid("Product", "١٢"), _gid("Product", "²"), _gid("Product", "99999999999999999999"),
               _gid("Order", "-1"), _gid("Order", "1.0"), _gid("Account", str(fuzz.other_account)),
               _gid("Nope", "1"), _gid("Product", ""), "Product:1", "=", ""]
    return home + foreign + crafted + lookalike_ids(fuzz)


def scalars(fuzz) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    def string(values: list[str]) -> st.SearchStrategy[graphql.ValueNode]:
        return st.one_of(st.sampled_from(values), hostile_text).map(lambda v: graphql.StringValueNode(value=v))

    return {
        "ID": string(id_values(fuzz)),
        "DateTime": string(DATES),
        "Money": string(MONEY),
        "String": string(HOSTILE_CURSORS + [s.value for s in Scope]),
        "Int": big_ints.map(lambda n: graphql.IntValueNode(value=str(n))),
    }


def post(http: httpx.Client, token: str, content: bytes) -> httpx.Response:
    return http.post("/v1/graphql", content=content,
                     headers={"authorization": f"Bearer {token}", "content-type": "application/json"})


# The reproductions run first in every run (with every token); generated ones follow.
KNOWN_BAD_QUERIES = [
    '{ products(first: 5, after: "%s") { nodes { id } } }' % HOSTILE_CURSORS[0],
    '{ orders(first: 5, after: "%s") { nodes { id } } }' % HOSTILE_CURSORS[7],
    '{ orders(first: 5, since: "0001-01-01T00:00:00+14:00") { nodes { id } } }',
    '{ node(id: "%s") { id } product(id: "%s") { id } }' % (_gid("Product", "١٢"), _gid("Product", "١٢")),
    '{ customers(last: 3, before: "%s") { nodes { id } } }' % HOSTILE_CURSORS[1],
]


@pytest.mark.parametrize("scope", TOKENS)
def test_generated_operations_answer_only_what_the_token_may_read(fuzz, platform, budget, http, scope):
    token = fuzz.tokens[scope]
    scopes = set((ALL_SCOPES if scope == "all" else scope).split(","))
    checker = AnswerCheck(SCHEMA, scopes, fuzz.foreign_ids, fuzz.marker)
    custom = scalars(fuzz)
    documents = st.one_of(
        queries(SCHEMA, custom_scalars=custom, print_ast=lambda doc: doc),
        queries(SCHEMA, custom_scalars=custom, print_ast=lambda doc: doc),
        mutations(SCHEMA, custom_scalars=custom, print_ast=lambda doc: doc),
    )
    other_before = rows_of(platform, fuzz.other_account)

    @fuzz_settings
    @given(document=documents)
    @example(document=graphql.parse(KNOWN_BAD_QUERIES[0]))
    @example(document=graphql.parse(KNOWN_BAD_QUERIES[1]))
    @example(document=graphql.parse(KNOWN_BAD_QUERIES[2]))
    @example(document=graphql.parse(KNOWN_BAD_QUERIES[3]))
    @example(document=graphql.parse(KNOWN_BAD_QUERIES[4]))
    def send(document):
        budget.spend()
        query = graphql.print_ast(add_typename_to_nodes(document))
        note(f"query ({scope}):\n{query}")
        response = answer(lambda: post(http, token, json_body([("query", query)])))
        if response is None:
            return
        check_answer(response, fuzz.foreign_markers)
        checker.check(response, query, None, None)
        expect(rows_of(platform, fuzz.other_account) == other_before, "the other account's data changed", response)

    send()


OPERATIONS = [
    ("query Q($n: Int, $c: String) { products(first: $n, after: $c) { nodes { id title } "
     "pageInfo { endCursor hasNextPage } } }", ["n", "c"]),
    ("query Q($n: Int, $c: String) { orders(last: $n, before: $c, sort: CREATED_AT_ASC) "
     "{ edges { cursor node { id number customer { id companyName } } } } }", ["n", "c"]),
    ("query Q($s: DateTime, $i: Boolean, $n: Int) { orders(first: $n, since: $s, includeCancelled: $i) "
     "{ nodes { id createdAt } } }", ["s", "i", "n"]),
    ("query Q($id: ID!) { node(id: $id) { id __typename } product(id: $id) { id title } order(id: $id) { id } "
     "customer(id: $id) { id } }", ["id"]),
    ("query Q($skus: [String!]!) { productVariants(skus: $skus) { id sku product { id } } }", ["skus"]),
    ("query Q($n: Int, $m: Int) { products(first: $n) { nodes { variants(first: $m) { nodes { id } } "
     "images(last: $m) { nodes { id } } } } }", ["n", "m"]),
    ("mutation M($input: ProductUpdateInput!) { productUpdate(input: $input) { product { id title } "
     "userErrors { field message } } }", ["input"]),
    ("mutation M($input: ShipmentCreateInput!) { shipmentCreate(input: $input) { shipment { id order { id } } "
     "userErrors { field message } } }", ["input"]),
    ("mutation M($input: ProductVariantCreateInput!) { productVariantCreate(input: $input) "
     "{ productVariant { id price } userErrors { message } } }", ["input"]),
    ("query A { account { id name } } query B($n: Int = 250) { orders(first: $n) { nodes { id } } } "
     "mutation M { accountUpdate(input: {name: \"x\"}) { account { name } } }", ["n"]),
    ("fragment F on Product { id title } query Q($id: ID!) { node(id: $id) { ...F ... on Order { number } } }",
     ["id"]),
]


def variable_values(fuzz) -> st.SearchStrategy[Any]:
    ids = id_values(fuzz)
    return st.one_of(
        json_values,
        st.sampled_from(ids),
        st.sampled_from(HOSTILE_CURSORS + DATES + MONEY),
        st.lists(st.one_of(st.sampled_from(ids), hostile_text), max_size=5),
        st.fixed_dictionaries({}, optional={
            "id": st.sampled_from(ids), "productId": st.sampled_from(ids), "orderId": st.sampled_from(ids),
            "title": hostile_text, "price": st.sampled_from(MONEY), "carrier": hostile_text,
            "items": st.lists(st.fixed_dictionaries({"orderProductId": st.sampled_from(ids),
                                                     "quantity": big_ints}), max_size=3),
            "position": big_ints, "inventoryQuantity": big_ints,
        }),
    )


def test_fuzzed_variables_and_operation_names_answer_only_what_the_token_may_read(fuzz, platform, budget, http):
    checker = AnswerCheck(SCHEMA, set(ALL_SCOPES.split(",")), fuzz.foreign_ids, fuzz.marker)
    other_before = rows_of(platform, fuzz.other_account)
    values = variable_values(fuzz)
    lookalikes = lookalike_ids(fuzz)

    @st.composite
    def requests(draw):
        query, names = draw(st.sampled_from(OPERATIONS))
        variables: Any = {name: draw(values) for name in draw(st.lists(st.sampled_from(names), unique=True))}
        variables.update(draw(st.dictionaries(hostile_text, json_values, max_size=2)))
        if draw(st.integers(0, 9)) == 0:
            variables = draw(json_values)  # not an object at all
        operation = draw(st.one_of(st.none(), st.sampled_from(["Q", "M", "A", "B", "Nope", ""]), hostile_text,
                                   json_values))
        pairs: list[tuple[str, Any]] = [("query", query), ("variables", variables)]
        if operation is not None:
            pairs.append(("operationName", operation))
        if draw(st.integers(0, 9)) == 0:
            pairs.append(("query", draw(st.sampled_from(OPERATIONS))[0]))  # a repeated key
        return pairs, query, operation, variables

    def known(index: int, variables: Any, operation: Any = None) -> tuple[Any, ...]:
        query = OPERATIONS[index][0]
        pairs = [("query", query), ("variables", variables)] + ([("operationName", operation)] if operation else [])
        return pairs, query, operation, variables

    @fuzz_settings
    @given(request=requests(), ascii_json=st.booleans())
    @example(request=known(0, {"n": 5, "c": HOSTILE_CURSORS[0]}, "Q"), ascii_json=True)
    @example(request=known(2, {"s": "0001-01-01T00:00:00+14:00", "n": 5}, "Q"), ascii_json=True)
    @example(request=known(3, {"id": lookalikes[0]}, "Q"), ascii_json=True)
    @example(request=known(3, {"id": lookalikes[3]}, "Q"), ascii_json=True)
    @example(request=known(9, {}, "B"), ascii_json=True)
    @example(request=known(0, {"n": 5}, "x" * 200_000), ascii_json=True)
    def send(request, ascii_json):
        budget.spend()
        pairs, query, operation, variables = request
        response = answer(lambda: post(http, fuzz.tokens["all"], json_body(pairs, ascii_only=ascii_json)))
        if response is None:
            return
        check_answer(response, fuzz.foreign_markers)
        if pairs[-1][0] != "query" or len(pairs) == 1:
            checker.check(response, query, operation, variables)
            if query == OPERATIONS[3][0] and isinstance(variables, dict) and variables.get("id") in lookalikes:
                data = (response.json().get("data") or {}) if response.status_code == 200 else {}
                expect(not any(data.values()), "an ID with non-ASCII digits found an object", response)
        expect(rows_of(platform, fuzz.other_account) == other_before, "the other account's data changed", response)

    send()
