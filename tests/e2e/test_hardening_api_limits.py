"""Denial of service through the API: costly documents are refused before validation, unseen
documents never stall the event loop, the node bound counts variable defaults, every cache
stays within its bound under a stream of unique requests, and introspection still works."""

from __future__ import annotations

import secrets
import threading
import time

import httpx
import pytest
from graphql import get_introspection_query
from starlette.testclient import TestClient

from orderchamp_auth.server.api import limits
from orderchamp_auth.server.api.schema import MAX_PLANS
from orderchamp_auth.server.app import create_app

from ..support import World
from .api_support import seeded_account

ALL_SCOPES = "account_read,products_read,orders_read,customers_read,fulfillment_read"


def fragment_chain(levels: int = 20) -> str:
    """Each fragment spreads the next twice: 2**levels selections once expanded."""
    lines = [f"# {secrets.token_hex(4)}", "query { account { ...F0 } }"]
    lines += [f"fragment F{i} on Account {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    lines.append(f"fragment F{levels} on Account {{ id name }}")
    return "\n".join(lines)


def four_hundred_aliases() -> str:
    return f"# {secrets.token_hex(4)}\n{{ " + " ".join(f"a{i}: account {{ id }}" for i in range(400)) + " }"


def one_field_four_hundred_times() -> str:
    return f"# {secrets.token_hex(4)}\n{{ " + " ".join("account { id }" for _ in range(400)) + " }"


def max_length_document() -> str:
    """Close to 20 KB and 5,000 tokens that pass the budgets, parsed and validated in full
    (over a thousand unused variables): among the costliest documents still validated."""
    variables = ", ".join(f"$v{i}: Int" for i in range(1200))
    query = f"query({variables}) {{ account {{ id }} }}\n# "
    return query + secrets.token_hex(limits.MAX_QUERY_LENGTH)[: limits.MAX_QUERY_LENGTH - len(query) - 10]


@pytest.fixture(scope="module")
def token(platform):
    world = World(platform)
    return world.private_token(world.supplier().account_id, ALL_SCOPES)


def post(base_url: str, token: str, query: str, variables: dict | None = None, **extra) -> httpx.Response:
    return httpx.post(f"{base_url}/v1/graphql", json={"query": query, "variables": variables, **extra},
                      headers={"authorization": f"Bearer {token}"}, timeout=60)


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def test_fragment_chain_is_refused_quickly(live, token):
    started = time.perf_counter()
    response = post(live.base_url, token, fragment_chain())
    assert response.status_code == 400
    assert code_of(response) == "QUERY_TOO_COMPLEX"
    assert time.perf_counter() - started < 1.0  # seconds per request before, doubling per level


def small_unseen_document() -> str:
    return f"# {secrets.token_hex(4)}\n{{ account {{ id name }} }}"


@pytest.mark.parametrize("make", [four_hundred_aliases, one_field_four_hundred_times])
def test_four_hundred_copies_of_one_field_are_refused_quickly(live, token, make):
    """Refused within a tenth of a second of the server's CPU per request, give or take the cost
    of a small document never seen before either (a slower machine). CPU time, which a loaded
    machine stretches far less than a request's wall time: validating 400 copies of one field
    costs graphql-core over half a second of it (OverlappingFieldsCanBeMerged compares every
    pair); refusing them, a few milliseconds."""
    rounds = 20  # requests of each kind: a clock tick (10 ms) is a small part of either sum
    with httpx.Client(base_url=live.base_url, timeout=60, headers={"authorization": f"Bearer {token}"}) as client:

        def server_cpu(make_document) -> tuple[float, list[httpx.Response]]:
            before = live.cpu_seconds()
            responses = [client.post("/v1/graphql", json={"query": make_document()}) for _ in range(rounds)]
            return (live.cpu_seconds() - before) / rounds, responses

        small_cpu, small = server_cpu(small_unseen_document)
        hostile_cpu, refused = server_cpu(make)
    assert all(r.status_code == 200 for r in small)
    assert all(r.status_code == 400 and code_of(r) == "QUERY_TOO_COMPLEX" for r in refused)
    assert hostile_cpu < 0.1 + 5 * small_cpu, f"{hostile_cpu:.3f} s per refusal, {small_cpu:.3f} s per small document"


def test_a_fragment_cycle_is_refused_by_validation_without_looping(live, token):
    cycle = "{ account { ...A } } fragment A on Account { id ...B } fragment B on Account { name ...A }"
    response = post(live.base_url, token, cycle)
    assert response.status_code == 400
    assert "A" in response.json()["errors"][0]["message"]
    through_fields = ("{ products(first: 1) { nodes { ...P } } } fragment P on Product { variants(first: 1) "
                      "{ nodes { product { ...P } } } }")
    response = post(live.base_url, token, through_fields)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_healthz_answers_while_hostile_documents_are_validated(live, token):
    hostile = [fragment_chain, four_hundred_aliases, one_field_four_hundred_times, max_length_document]
    statuses: list[int] = []
    started = threading.Barrier(len(hostile) * 2 + 1)

    def attack(make) -> None:
        started.wait()
        for _ in range(4):
            statuses.append(post(live.base_url, token, make()).status_code)

    threads = [threading.Thread(target=attack, args=(make,)) for make in hostile * 2]
    for thread in threads:
        thread.start()
    started.wait()
    slowest = 0.0
    in_flight = 0
    for _ in range(10):
        begun = time.perf_counter()
        assert httpx.get(f"{live.base_url}/healthz", timeout=10).status_code == 200
        slowest = max(slowest, time.perf_counter() - begun)
        in_flight += any(thread.is_alive() for thread in threads)
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    assert in_flight, "the hostile requests were over before /healthz was asked"
    # Generous, for a loaded CI machine: before, two fragment chains froze /healthz for 30 s.
    assert slowest < 2.0
    assert len(statuses) == 4 * len(threads) and all(400 <= status < 500 for status in statuses), statuses


def test_variable_defaults_count_toward_the_node_limit(live, token):
    query = "query($n: Int = 250) { orders(first: $n) { nodes { products(first: $n) { nodes { sku } } } } }"
    refused = post(live.base_url, token, query)  # no variables: the defaults apply
    assert refused.status_code == 400 and code_of(refused) == "QUERY_TOO_COMPLEX"
    assert post(live.base_url, token, query, {"n": 3}).status_code == 200
    # A value that is no page size counts as the largest one.
    unreadable = post(live.base_url, token, query, {"n": "lots"})
    assert unreadable.status_code == 400 and code_of(unreadable) == "QUERY_TOO_COMPLEX"


def test_the_node_bound_is_that_of_the_named_operation(live, token):
    query = ("query Small { account { name } } "
             "query Big($n: Int = 250) { orders(first: $n) { nodes { products(first: $n) { nodes { sku } } } } }")
    assert post(live.base_url, token, query, operationName="Small").status_code == 200
    big = post(live.base_url, token, query, operationName="Big")
    assert big.status_code == 400 and code_of(big) == "QUERY_TOO_COMPLEX"
    assert post(live.base_url, token, query, {"n": 2}, operationName="Big").status_code == 200


def test_list_defaults_count_toward_the_node_limit(live, token):
    skus = ", ".join(f'"SKU-{i}"' for i in range(100))
    query = ("query($s: [String!]! = [%s]) { productVariants(skus: $s) { product { variants(first: 250) "
             "{ nodes { sku } } } } }" % skus)
    refused = post(live.base_url, token, query)
    assert refused.status_code == 400 and code_of(refused) == "QUERY_TOO_COMPLEX"
    assert post(live.base_url, token, query, {"s": ["SKU-1"]}).status_code == 200


def test_graphql_cores_introspection_query_is_answered(live, token):
    response = post(live.base_url, token, get_introspection_query(descriptions=True))
    assert response.status_code == 200, response.text[:300]
    types = {t["name"] for t in response.json()["data"]["__schema"]["types"]}
    assert {"Product", "Order", "Query"} <= types


def test_graphiqls_introspection_query_is_answered(live, token):
    query = get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                                    schema_description=True, input_value_deprecation=True)
    assert "specifiedByURL" in query and "isRepeatable" in query
    response = post(live.base_url, token, query, operationName="IntrospectionQuery")
    assert response.status_code == 200, response.text[:300]
    directives = response.json()["data"]["__schema"]["directives"]
    assert all("isRepeatable" in d for d in directives)


def test_introspection_that_nests_lists_is_refused(live, token):
    nested = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }"
    response = post(live.base_url, token, nested)
    assert response.status_code == 400 and code_of(response) == "QUERY_TOO_DEEP"


def test_a_deep_data_query_is_still_refused(live, token):
    deep = ("{ products(first: 1) { nodes { variants(first: 1) { nodes { product { variants(first: 1) { nodes {"
            " product { variants(first: 1) { nodes { id } } } } } } } } } } }")
    response = post(live.base_url, token, deep)
    assert response.status_code == 400 and code_of(response) == "QUERY_TOO_DEEP"
    # Introspection's allowance does not lend itself to data next to it.
    mixed = deep.replace("{ products", "{ __schema { queryType { name } } products", 1)
    assert code_of(post(live.base_url, token, mixed)) == "QUERY_TOO_DEEP"


# In-process: the caches themselves.


@pytest.fixture(scope="module")
def harness(settings, platform):
    world = World(platform)
    account = seeded_account(world)
    token = world.private_token(account.account_id, ALL_SCOPES)
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, app.state.graphql, token


def ask(harness, query: str, **extra) -> tuple[int, dict]:
    client, _, token = harness
    response = client.post("/v1/graphql", json={"query": query, **extra}, headers={"authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def test_an_operation_name_that_matches_nothing_stores_nothing(harness):
    _, endpoint, _ = harness
    query = "query Shop { account { name } }"
    assert ask(harness, query)[0] == 200
    assert ask(harness, query, operationName="Shop")[0] == 200
    plans = endpoint.documents.entry(query).plans
    assert len(plans) == 1  # with and without the name: the same operation, one plan
    for _ in range(50):
        name = "X" + secrets.token_hex(16) * 200
        status, body = ask(harness, query, operationName=name)
        assert status == 400 and body["errors"][0]["extensions"]["code"] == "OPERATION_NOT_FOUND"
        assert name not in body["errors"][0]["message"]
    assert len(plans) == 1


def test_a_document_with_several_operations_needs_a_name(harness):
    query = "query A { account { name } } query B { account { slug } }"
    status, body = ask(harness, query)
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "OPERATION_NOT_FOUND"
    status, body = ask(harness, query, operationName="B")
    assert status == 200 and body["data"]["account"]["slug"]


def test_plans_per_document_stay_within_their_bound(harness):
    _, endpoint, _ = harness
    names = [f"Q{i}" for i in range(MAX_PLANS + 10)]
    query = " ".join(f"query {name} {{ account {{ name }} }}" for name in names)
    for name in names:
        assert ask(harness, query, operationName=name)[0] == 200
    assert len(endpoint.documents.entry(query).plans) == MAX_PLANS


def test_a_stream_of_unique_documents_keeps_the_document_cache_within_its_bounds(harness):
    _, endpoint, _ = harness
    documents = endpoint.documents
    size, max_bytes = documents.size, documents.max_bytes
    documents.size, documents.max_bytes = 40, 40_000
    try:
        for i in range(120):
            padding = "#" + "x" * (i % 3) * 1000 + "\n"  # some large, some small
            ask(harness, f"{padding}{{ account {{ n{i}: name }} }}")
            assert len(documents) <= 40 and documents.bytes <= 40_000
        assert ask(harness, "{ account { n119: name } }")[0] == 200  # recent ones stay
        before = len(documents)
        status, body = ask(harness, "{ account { name } }" + " " * limits.MAX_QUERY_LENGTH)
        assert status == 400 and body["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
        assert len(documents) == before  # refused before parsing: nothing kept
    finally:
        documents.size, documents.max_bytes = size, max_bytes


def test_a_stream_of_unique_projections_keeps_the_statement_cache_within_its_bound(harness, monkeypatch):
    statements = harness[1].database.statements  # the database's own cache
    monkeypatch.setattr(statements, "max_size", len(statements) + 20)
    fields = ["id", "title", "description", "brand", "createdAt", "updatedAt"]
    for i in range(60):
        order = fields[i % 6:] + fields[:i % 6]
        order[1:3] = order[2:0:-1] if i % 12 >= 6 else order[1:3]
        status, _ = ask(harness, "{ products(first: 1) { nodes { %s } } }" % " ".join(order[: 2 + i % 5]))
        assert status == 200
        assert len(statements) <= statements.max_size
    assert len(statements) == statements.max_size  # it was reached


def test_sixty_doubling_fragments_are_measured_without_expanding_them():
    from graphql import parse

    document = parse(fragment_chain(60))  # 2**60 selections once expanded
    measured = limits.measure(document)
    assert [e.extensions["code"] for e in measured.errors] == ["QUERY_TOO_COMPLEX"]
    assert "selections" in measured.errors[0].message


def test_unused_fragments_count_toward_the_selection_budget():
    from graphql import parse

    fragments = " ".join(f"fragment A{i} on Account {{ id name slug type }}" for i in range(250))
    measured = limits.measure(parse("{ account { id } } " + fragments))
    assert [e.extensions["code"] for e in measured.errors] == ["QUERY_TOO_COMPLEX"]


def test_a_long_literal_list_is_refused_before_validation(live, token):
    skus = ", ".join(f'"SKU-{i}"' for i in range(1200))
    response = post(live.base_url, token, "{ productVariants(skus: [%s]) { sku } }" % skus)
    assert response.status_code == 400 and code_of(response) == "QUERY_TOO_COMPLEX"


def test_legitimate_large_documents_are_within_the_budgets():
    from graphql import parse

    bulk = "mutation { %s }" % " ".join(
        f'p{i}: productCreate(input: {{title: "Bulk {i}"}}) {{ product {{ id }} }}' for i in range(240))
    skus = "{ productVariants(skus: [%s]) { sku } }" % ", ".join(f'"SKU-{i}"' for i in range(250))
    for query in (bulk, skus, get_introspection_query(descriptions=True, specified_by_url=True,
                                                      directive_is_repeatable=True, schema_description=True,
                                                      input_value_deprecation=True)):
        assert limits.measure(parse(query)).errors == []
