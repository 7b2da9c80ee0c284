"""No N+1: the number of SQL statements depends on the depth of a query, not on page size."""

from __future__ import annotations

import pytest
from graphql import OperationDefinitionNode, execute
from sqlalchemy import event

from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.server.api.context import RequestContext
from orderchamp_auth.server.api.execution import LockAwareExecutionContext, never_awaitable
from orderchamp_auth.server.api.executor import run_plan
from orderchamp_auth.server.api.guard import field_scopes
from orderchamp_auth.server.api.plan import Plan, compile_plan
from orderchamp_auth.server.api.schema import DocumentCache, build_api_schema
from orderchamp_auth.server.store import transaction
from orderchamp_auth.server.store.driver_statements import run

from ...e2e.api_support import seeded_account
from ...support import World

PRODUCTS = "{ products(first: %d) { nodes { id title variants(first: 10) { nodes { sku product { title } } } images(first: 5) { nodes { originalUrl } } } } }"
ORDERS = ("{ orders(first: %d, includeCancelled: true) { nodes { number customer { companyName } "
          "products(first: 10) { nodes { sku variant { sku product { title } } } } "
          "invoices(first: 5) { nodes { number items(first: 10) { nodes { title } } } } "
          "shipments(first: 5) { nodes { carrier items { quantity orderProduct { sku } } } } } } }")


ENGINES = pytest.mark.parametrize("engine", ["plans", "graphql-core"])


def count_statements(platform, monkeypatch, account_id: int, query: str, engine: str) -> tuple[int, dict]:
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
            repository = session.catalogue(account_id)
            if engine == "plans":
                operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
                plan = compile_plan(schema, document, operation, ScopeSet.all(), field_scopes(schema))
                assert isinstance(plan, Plan)
                data, errors = run_plan(plan, repository, {})
            else:
                context = RequestContext(account_id, ScopeSet.all(), session, repository)
                result = execute(schema, document, context_value=context,
                                 execution_context_class=LockAwareExecutionContext, is_awaitable=never_awaitable)
                data, errors = result.data, result.errors
    finally:
        event.remove(platform.database.engine, "before_cursor_execute", record)
    assert not errors, errors
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")]), data


@ENGINES
def test_product_pages_cost_the_same_number_of_queries_at_any_size(platform, monkeypatch, engine):
    account = seeded_account(World(platform))
    small, small_data = count_statements(platform, monkeypatch, account.account_id, PRODUCTS % 2, engine)
    large, large_data = count_statements(platform, monkeypatch, account.account_id, PRODUCTS % 30, engine)
    assert len(large_data["products"]["nodes"]) == 30
    assert small == large <= 4


@ENGINES
def test_nested_order_pages_cost_the_same_number_of_queries_at_any_size(platform, monkeypatch, engine):
    account = seeded_account(World(platform))
    # A small page may skip a level that happens to be empty (no shipments among 2 orders);
    # what matters is that 40 orders cost no more than a handful of queries, one per level.
    small, _ = count_statements(platform, monkeypatch, account.account_id, ORDERS % 2, engine)
    large, data = count_statements(platform, monkeypatch, account.account_id, ORDERS % 40, engine)
    assert len(data["orders"]["nodes"]) == 40
    assert small <= large <= 10
