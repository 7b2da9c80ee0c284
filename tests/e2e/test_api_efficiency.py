"""No N+1: the number of SQL statements depends on the depth of a query, not on page size."""

from __future__ import annotations

from graphql import execute
from sqlalchemy import event

from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.server.api.context import RequestContext
from orderchamp_auth.server.api.execution import FastExecutionContext, never_awaitable
from orderchamp_auth.server.api.schema import DocumentCache, build_api_schema
from orderchamp_auth.server.store import transaction
from orderchamp_auth.server.store.driver_statements import run

from ..support import World
from .api_support import seeded_account

PRODUCTS = "{ products(first: %d) { nodes { id title variants(first: 10) { nodes { sku product { title } } } images(first: 5) { nodes { originalUrl } } } } }"
ORDERS = ("{ orders(first: %d, includeCancelled: true) { nodes { number customer { companyName } "
          "products(first: 10) { nodes { sku variant { sku product { title } } } } "
          "invoices(first: 5) { nodes { number items(first: 10) { nodes { title } } } } "
          "shipments(first: 5) { nodes { carrier items { quantity orderProduct { sku } } } } } } }")


def count_statements(platform, monkeypatch, account_id: int, query: str) -> tuple[int, dict]:
    schema = build_api_schema()
    document, errors = DocumentCache(schema).get(query)
    assert document is not None, errors
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    def run_and_record(driver, dialect, read, *args, **kwargs):
        statements.append(read.sql)
        return run(driver, dialect, read, *args, **kwargs)

    # Reads go through SQLAlchemy (events) or straight to the driver (driver_statements.run).
    event.listen(platform.database.engine, "before_cursor_execute", record)
    monkeypatch.setattr(transaction, "run", run_and_record)
    try:
        with platform.database.read() as session:
            context = RequestContext(account_id, ScopeSet.all(), session)
            result = execute(schema, document, context_value=context,
                             execution_context_class=FastExecutionContext, is_awaitable=never_awaitable)
    finally:
        event.remove(platform.database.engine, "before_cursor_execute", record)
    assert not result.errors, result.errors
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")]), result.data


def test_product_pages_cost_the_same_number_of_queries_at_any_size(platform, monkeypatch):
    account = seeded_account(World(platform))
    small, small_data = count_statements(platform, monkeypatch, account.account_id, PRODUCTS % 2)
    large, large_data = count_statements(platform, monkeypatch, account.account_id, PRODUCTS % 30)
    assert len(large_data["products"]["nodes"]) == 30
    assert small == large <= 4


def test_nested_order_pages_cost_the_same_number_of_queries_at_any_size(platform, monkeypatch):
    account = seeded_account(World(platform))
    # A small page may skip a level that happens to be empty (no shipments among 2 orders);
    # what matters is that 40 orders cost no more than a handful of queries, one per level.
    small, _ = count_statements(platform, monkeypatch, account.account_id, ORDERS % 2)
    large, data = count_statements(platform, monkeypatch, account.account_id, ORDERS % 40)
    assert len(data["orders"]["nodes"]) == 40
    assert small <= large <= 10


def test_fast_executor_gives_the_same_result_as_graphql_core(platform):
    account = seeded_account(World(platform))
    schema = build_api_schema()
    document, _ = DocumentCache(schema).get(ORDERS % 10)
    results = []
    for context_class in (None, FastExecutionContext):
        with platform.database.read() as session:
            context = RequestContext(account.account_id, ScopeSet.all(), session)
            results.append(execute(schema, document, context_value=context, execution_context_class=context_class))
    assert results[0].data == results[1].data and not results[0].errors


def test_fast_executor_ignores_a_serializer_left_under_a_reused_id(platform):
    """Serializers are remembered by id(field) across requests. Once a schema is dropped, a
    field of a new one can get the id of an old field; what the old one left there (here:
    Invoice.number's String serializer, under Order.number's id) must not be used."""
    account = seeded_account(World(platform))
    schema = build_api_schema()
    stale = build_api_schema().type_map["Invoice"].fields["number"]  # type: ignore[union-attr]
    number = schema.type_map["Order"].fields["number"]  # type: ignore[union-attr]
    FastExecutionContext._serializers[id(number)] = (stale, stale.type.of_type.serialize)
    document, _ = DocumentCache(schema).get("{ orders(first: 3) { nodes { number customer { companyName } } } }")
    with platform.database.read() as session:
        context = RequestContext(account.account_id, ScopeSet.all(), session)
        result = execute(schema, document, context_value=context, execution_context_class=FastExecutionContext)
    numbers = [node["number"] for node in result.data["orders"]["nodes"]]
    assert len(numbers) == 3 and all(type(n) is int for n in numbers), numbers
