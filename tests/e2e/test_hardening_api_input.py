"""Hostile arguments to the GraphQL API: clear errors with a code, never a driver's or
Python's text, nothing written; and an unexpected failure answers a generic error.

Each read runs on both engines (plans and graphql-core, the ``api_engine`` setting, as in
tests/server/api/test_engine_equivalence.py); the module runs on SQLite and, with DATABASE_URL, PostgreSQL.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging

import httpx
import orjson
import pytest
from graphql import execute, parse
from sqlalchemy import select
from starlette.testclient import TestClient

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.protocol.scopes import Scope, ScopeSet
from orderchamp_auth.server.api.context import RequestContext
from orderchamp_auth.server.api.errors import format_errors
from orderchamp_auth.server.app import create_app
from orderchamp_auth.server.store import models as m
from orderchamp_auth.server.store.transaction import Transaction

from ..support import World
from .api_support import seeded_account

ALL = ",".join(s.value for s in Scope)
INTERNAL_TEXT = ("Traceback", "sqlite", "psycopg", "SQLAlchemy", "invalid literal", "naive datetime",
                 "out of range", "NUL (0x00)", "OverflowError", "ValueError", "TypeError", "Exceeds the limit")
ENGINES = pytest.mark.parametrize("plans", [True, False], ids=["compiled", "graphql-core"])


@pytest.fixture(scope="module")
def harness(settings, platform):
    world = World(platform)
    account = seeded_account(world)
    token = world.private_token(account.account_id, ALL)
    app = create_app(settings)
    core = create_app(dataclasses.replace(settings, api_engine="graphql-core"))
    with TestClient(app) as client, TestClient(core) as core_client:
        yield {True: client, False: core_client}, app.state.graphql, token, account.account_id


def ask(harness, query: str, variables: dict | None = None, *, plans: bool = True):
    clients, _, token, _ = harness
    return clients[plans].post("/v1/graphql", json={"query": query, "variables": variables},
                               headers={"authorization": f"Bearer {token}"})


def refused(response, *codes: str) -> dict:
    """The response is a client error with one of ``codes`` and shows nothing internal."""
    assert response.status_code in (200, 400), response.text[:500]
    for text in INTERNAL_TEXT:
        assert text.lower() not in response.text.lower(), (text, response.text[:500])
    body = response.json()
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["code"] in codes, body
    return body


def cursor_of(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def raw_global_id(text: str) -> str:
    return base64.b64encode(text.encode()).decode().rstrip("=")


def a_row(harness, model) -> int:
    with harness[1].database.read() as db:
        return db.session.scalar(select(model.id).where(model.account_id == harness[3]).order_by(model.id).limit(1))


def data_version(harness) -> int:
    with harness[1].database.read() as tx:
        return tx.catalogue(harness[3]).data_version()


# Cursors -------------------------------------------------------------------------------------

HUGE_CURSORS = [
    ("products", "", [10**30]),
    ("products", "", [2**63]),
    ("products", "", [-(2**63) - 1]),
    ("products", "", [0]),
    ("orders", ", sort: NUMBER_ASC", [2**31, 1]),
    ("orders", ", sort: NUMBER_ASC", [-(2**70), 1]),
    ("orders", ", sort: NUMBER_DESC", [5, 10**25]),
    ("customers", "", [1e300]),
    ("invoices", "", [True]),
]


@ENGINES
@pytest.mark.parametrize(("field", "extra", "values"), HUGE_CURSORS)
@pytest.mark.parametrize("direction", ["first: 2, after", "last: 2, before"])
def test_huge_number_cursor_is_a_clear_error(harness, plans, field, extra, values, direction, caplog):
    query = '{ %s(%s: "%s"%s) { nodes { id } } }' % (field, direction, cursor_of(values), extra)
    with caplog.at_level(logging.WARNING):
        body = refused(ask(harness, query, plans=plans), "BAD_USER_INPUT")
    assert not caplog.records, "an expected error was logged as a failure"
    assert body["data"] == {field: None}
    assert body["errors"][0]["message"] == "The cursor is not valid."


@ENGINES
def test_huge_number_cursor_of_a_child_list_is_a_clear_error(harness, plans):
    query = '{ products(first: 1) { nodes { variants(first: 1, after: "%s") { nodes { id } } } } }' % cursor_of(
        [10**30])
    body = refused(ask(harness, query, plans=plans), "BAD_USER_INPUT")
    assert body["data"]["products"]["nodes"][0]["variants"] is None


@ENGINES
@pytest.mark.parametrize("moment", ["2026-01-20T10:00:00", "2026-01-20", "2026-01-20 10:00:00"])
def test_naive_date_cursor_is_a_clear_error(harness, plans, moment):
    query = '{ orders(first: 2, after: "%s") { nodes { number } } }' % cursor_of([{"t": moment}, 1])
    body = refused(ask(harness, query, plans=plans), "BAD_USER_INPUT")
    assert body["data"] == {"orders": None}


@ENGINES
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-05:00",
                                    "10000-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "٢٠٢٦-01-20T10:00:00Z"])
def test_out_of_range_date_cursor_is_a_clear_error(harness, plans, moment):
    query = '{ orders(last: 2, before: "%s") { nodes { number } } }' % cursor_of([{"t": moment}, 1])
    body = refused(ask(harness, query, plans=plans), "BAD_USER_INPUT")
    assert body["data"] == {"orders": None}


@ENGINES
@pytest.mark.parametrize("cursor", [
    "WzFd=", "W zFd", "WzFd\n", "WzFdXQ", "Wz Fd", "!!!!", "WyIxIl0", cursor_of([1, 2]), cursor_of({"t": 1}),
    cursor_of(["1"]), cursor_of([1.0]), cursor_of([{"t": "2026-01-20T10:00:00Z", "x": 1}, 1]),
    cursor_of([{"t": "2026-01-20T10:00:00+01:00"}, 1]), "W" * 500, "\u00e9" * 8,
])
def test_cursors_the_server_did_not_write_are_refused(harness, plans, cursor):
    for query in ('{ products(first: 2, after: %s) { nodes { id } } }',
                  '{ orders(first: 2, after: %s) { nodes { id } } }'):
        body = refused(ask(harness, query % json.dumps(cursor), plans=plans), "BAD_USER_INPUT")
        assert list(body["data"].values()) == [None]


@ENGINES
def test_cursors_the_server_wrote_still_page(harness, plans):
    for field, extra in (("orders", ""), ("orders", ", sort: NUMBER_ASC"), ("products", "")):
        first = ask(harness, '{ %s(first: 3%s) { pageInfo { endCursor } } }' % (field, extra), plans=plans).json()
        cursor = first["data"][field]["pageInfo"]["endCursor"]
        body = ask(harness, '{ %s(first: 3, after: "%s"%s) { nodes { id } } }' % (field, cursor, extra),
                   plans=plans).json()
        assert "errors" not in body and len(body["data"][field]["nodes"]) == 3


# DateTime arguments ----------------------------------------------------------------------------


@ENGINES
@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00", "2026-01-20T10:00:00",
                                   "2026-01-20", "yesterday", "2026-01-20T10:00:00Z\u0000", "٢٠٢٦-01-20T10:00:00Z",
                                   "2" * 5000, 12, True])
def test_out_of_range_or_naive_since_is_a_clear_error(harness, plans, since):
    query = "query($since: DateTime) { orders(first: 2, since: $since) { nodes { number } } }"
    body = refused(ask(harness, query, {"since": since}, plans=plans), "BAD_USER_INPUT")
    assert body["data"] == {"orders": None}
    assert "offset" in body["errors"][0]["message"]


@ENGINES
def test_since_at_the_edges_of_the_range_is_answered(harness, plans):
    for since in ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00-14:00", "9999-12-31T23:59:59.999999+00:00"):
        body = ask(harness, '{ orders(first: 1, since: "%s") { totalCount } }' % since, plans=plans).json()
        assert "errors" not in body, body


# Global IDs ------------------------------------------------------------------------------------


def _spoofed_ids(row_id: int) -> list[str]:
    digits = str(row_id)
    arabic = "".join(chr(0x0660 + int(d)) for d in digits)
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in digits)
    return [raw_global_id(f"Product:{arabic}"), raw_global_id(f"Product:{fullwidth}"), raw_global_id("Product:²"),
            raw_global_id(f"Product:0{digits}"), raw_global_id(f"Product:+{digits}"),
            raw_global_id(f"Product: {digits}"), raw_global_id(f"Product:{digits} "),
            raw_global_id(f"Product:{digits}\u0000"), raw_global_id("Product:9223372036854775808"),
            raw_global_id("Product:" + "9" * 40), raw_global_id("Product:0"), raw_global_id("Product:-1")]


@ENGINES
def test_non_ascii_digit_ids_are_not_found(harness, plans):
    product = a_row(harness, m.Product)
    assert ask(harness, '{ product(id: "%s") { id } }' % encode_global_id("Product", product),
               plans=plans).json()["data"]["product"], "the real id must be found for the test to mean something"
    for spoofed in _spoofed_ids(product):
        for query in ('{ node(id: "%s") { id } }', '{ product(id: "%s") { id } }'):
            response = ask(harness, query % spoofed, plans=plans)
            assert response.status_code == 200, response.text
            assert response.json() == {"data": {_root(query): None}}, (spoofed, response.text)


def _root(query: str) -> str:
    return query.split("(")[0].strip("{ ")


def _non_base64_ids(row_id: int) -> list[str]:
    real = encode_global_id("Product", row_id)
    stray = real[:-1] + chr(ord(real[-1]) + 1) if len(real) % 4 else real + "A"  # stray bits, same bytes
    return [real + ("=" * (-len(real) % 4) or "=="), f" {real}", f"{real}\n", real.replace("Q", "-") + "_",
            f"Product:{row_id}", "!!!", "", "=", "A", "\u00e9\u00e9\u00e9\u00e9", stray, "a" * 5000,
            base64.b64encode(b"\xff\xfe:1").decode(), raw_global_id(f":{row_id}"), raw_global_id("Product")]


@ENGINES
def test_non_base64_ids_are_not_found(harness, plans):
    product = a_row(harness, m.Product)
    for bad in _non_base64_ids(product):
        for query in ("query($id: ID!) { node(id: $id) { id } }", "query($id: ID!) { product(id: $id) { id } }"):
            response = ask(harness, query, {"id": bad}, plans=plans)
            assert response.status_code == 200, response.text
            assert response.json() == {"data": {_root(query.split("{", 1)[1]): None}}, (bad, response.text)


@ENGINES
def test_malformed_ids_answer_exactly_like_another_accounts_ids(harness, platform, plans):
    other = World(platform).supplier()
    with platform.database.write() as db:
        foreign = m.Product(account_id=other.account_id, title="Theirs", description="", brand="")
        db.session.add(foreign)
        db.session.flush()
        foreign_id = foreign.id
    mine = a_row(harness, m.Product)
    ids = [encode_global_id("Product", foreign_id), *_spoofed_ids(mine), *_non_base64_ids(mine)]
    for field in ("node", "product"):  # product(id:) has a compiled plan, node does not
        query = "query($id: ID!) { %s(id: $id) { id } }" % field
        answers = {ask(harness, query, {"id": gid}, plans=plans).content for gid in ids}
        assert answers == {b'{"data":{"%s":null}}' % field.encode()}


def test_malformed_ids_in_mutation_inputs_change_nothing(harness):
    product = a_row(harness, m.Product)
    order = a_row(harness, m.Order)
    before = data_version(harness)
    for bad in _spoofed_ids(product) + _non_base64_ids(product):
        body = ask(harness, "mutation($id: ID!) { productUpdate(input: {id: $id, title: \"Hacked\"}) "
                            "{ product { id } userErrors { field message } } }", {"id": bad}).json()
        assert body["data"]["productUpdate"] == {
            "product": None, "userErrors": [{"field": ["input", "id"], "message": "No Product with this id."}]}
        body = ask(harness, "mutation($id: ID!) { shipmentCreate(input: {orderId: \"%s\", carrier: \"DHL\", items: "
                            "[{orderProductId: $id, quantity: 1}]}) { shipment { id } userErrors { field } } }"
                   % encode_global_id("Order", order), {"id": bad}).json()
        assert body["data"]["shipmentCreate"]["shipment"] is None
    assert data_version(harness) == before


# Mutation inputs ------------------------------------------------------------------------------

OVERFLOWS = [
    'price: "4.50", inventoryQuantity: 99999999999',
    'price: "4.50", position: 2147483648',
    'price: "4.50", inventoryQuantity: -2147483649',
    'price: "1e400"', 'price: "-1e400"', 'price: "NaN"', 'price: "sNaN"', 'price: "Infinity"', 'price: "-0.001"',
    'price: 1e400', 'price: 1.7976931348623157e308', 'price: %s' % ("9" * 5000), 'price: "%s"' % ("9" * 5000),
    'price: "0.%s1"' % ("0" * 5000), 'price: "1e-999999999"', 'price: "1e999999999"', 'price: 99999999999999',
    'price: {amount: 1}', 'price: ["1"]', 'price: true', 'price: null',
    'price: "4.50", inventoryQuantity: 1000000001', 'price: "4.50", position: 0',
]


@pytest.mark.parametrize("fields", OVERFLOWS)
def test_overflow_in_mutation_input_changes_nothing(harness, fields):
    product = encode_global_id("Product", a_row(harness, m.Product))
    before = data_version(harness)
    query = ('mutation { productVariantCreate(input: {productId: "%s", sku: "OVERFLOW", %s}) '
             '{ productVariant { id } userErrors { field message } } }' % (product, fields))
    response = ask(harness, query)
    for text in INTERNAL_TEXT:
        assert text.lower() not in response.text.lower(), (text, response.text[:500])
    assert response.status_code in (200, 400)
    body = response.json()
    if "errors" in body:
        assert all(e["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT") for e in body["errors"])
    else:
        assert body["data"]["productVariantCreate"]["productVariant"] is None
        assert body["data"]["productVariantCreate"]["userErrors"]
    assert data_version(harness) == before


@pytest.mark.parametrize("variables", [
    {"q": 2**31}, {"q": 2**63}, {"q": 10**30}, {"q": 1.5}, {"q": "1"}, {"q": -(2**31) - 1},
])
def test_overflow_in_mutation_variables_changes_nothing(harness, variables):
    product = encode_global_id("Product", a_row(harness, m.Product))
    before = data_version(harness)
    query = ('mutation($q: Int) { productVariantCreate(input: {productId: "%s", price: "1.00", inventoryQuantity: $q}) '
             '{ productVariant { id } } }' % product)
    body = refused(ask(harness, query, variables), "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")
    assert body.get("data") is None
    assert data_version(harness) == before


NUL_MUTATIONS = [
    ('mutation($s: String!) { productCreate(input: {title: $s}) { product { id } userErrors { field } } }', "title"),
    ('mutation($s: String!) { productCreate(input: {title: "Toy", brand: $s}) { product { id } userErrors { field } } }',
     "brand"),
    ('mutation($s: String!) { customerCreate(input: {companyName: $s}) { customer { id } userErrors { field } } }',
     "companyName"),
    ('mutation($s: String!) { customerCreate(input: {companyName: "Shop", email: $s}) { customer { id } '
     'userErrors { field } } }', "email"),
    ('mutation($s: String!) { customerCreate(input: {companyName: "Shop", address: $s}) { customer { id } '
     'userErrors { field } } }', "address"),
    ('mutation($s: String!) { accountUpdate(input: {name: $s}) { account { name } userErrors { field } } }', "name"),
    ('mutation($s: String!) { accountUpdate(input: {currency: $s}) { account { name } userErrors { field } } }',
     "currency"),
]


@pytest.mark.parametrize(("query", "field"), NUL_MUTATIONS)
@pytest.mark.parametrize("value", ["a\u0000b", "\u0000", "shop@example.com\u0000", "EUR\u0000"])
def test_nul_byte_in_string_input_changes_nothing_on_postgresql(harness, query, field, value):
    """PostgreSQL cannot store a NUL in text; SQLite could, and is refused the same way."""
    before = data_version(harness)
    response = ask(harness, query, {"s": value})
    for text in INTERNAL_TEXT:
        assert text.lower() not in response.text.lower(), (text, response.text[:500])
    assert response.status_code == 200, response.text
    payload = next(iter(response.json()["data"].values()))
    assert payload["userErrors"] and payload["userErrors"][0]["field"] == ["input", field], payload
    assert data_version(harness) == before


def test_a_currency_with_a_trailing_newline_is_refused(harness):
    before = data_version(harness)
    body = ask(harness, 'mutation { accountUpdate(input: {currency: "EUR\\n"}) { account { currency } '
                        'userErrors { field } } }').json()
    assert body["data"]["accountUpdate"] == {"account": None, "userErrors": [{"field": ["input", "currency"]}]}
    assert data_version(harness) == before


def test_nul_byte_in_a_literal_string_input_changes_nothing_on_postgresql(harness):
    before = data_version(harness)
    response = ask(harness, 'mutation { productCreate(input: {title: "Toy\\u0000"}) { product { id } '
                            'userErrors { field message } } }')
    assert response.json()["data"]["productCreate"]["userErrors"][0]["field"] == ["input", "title"]
    assert data_version(harness) == before


@ENGINES
def test_nul_byte_in_a_sku_is_a_clear_error_on_postgresql(harness, plans):
    body = refused(ask(harness, 'query($s: [String!]!) { productVariants(skus: $s) { sku } }',
                       {"s": ["LC-001-1", "LC\u0000"]}, plans=plans), "BAD_USER_INPUT")
    assert body["data"] == {"productVariants": None}


def test_huge_strings_in_mutation_input_change_nothing(harness):
    before = data_version(harness)
    for field in ("title", "description", "brand"):
        body = ask(harness, 'mutation($s: String!) { productCreate(input: {title: "T", %s: $s}) { product { id } '
                            'userErrors { field message } } }' % field if field != "title" else
                   'mutation($s: String!) { productCreate(input: {title: $s}) { product { id } userErrors { field } } }',
                   {"s": "x" * 200_000}).json()
        assert body["data"]["productCreate"]["userErrors"][0]["field"] == ["input", field]
    assert data_version(harness) == before


# Unexpected failures -----------------------------------------------------------------------------


def test_an_unexpected_resolver_failure_is_a_generic_error_logged_with_a_request_id(harness, caplog):
    """A resolver that fails for a reason nobody planned (here: its connection is gone) shows
    the client a request id, and the log the exception with the same id."""
    endpoint = harness[1]
    connection = endpoint.database.engine.connect()
    tx = Transaction(endpoint.database.statements, connection, writing=False)
    tx.driver = FailingDriver()  # every read in tx fails inside the driver layer, for no planned reason
    connection.close()
    context = RequestContext(harness[3], ScopeSet.parse(ALL), tx)
    result = execute(endpoint.schema, parse("{ account { name } products(first: 1) { nodes { id } } }"),
                     context_value=context)
    assert result.errors and all(error.original_error is not None for error in result.errors)
    with caplog.at_level(logging.ERROR, logger="orderchamp_auth.server.api.errors"):
        formatted = format_errors(result.errors)
    text = orjson.dumps(formatted).decode()
    for internal in INTERNAL_TEXT + ("closed", "Connection"):
        assert internal.lower() not in text.lower(), text
    request_id = formatted[0]["extensions"]["requestId"]
    assert all(error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
               for error in formatted)
    assert formatted[0]["message"] == f"Internal error; request id {request_id}"
    assert {tuple(error["path"]) for error in formatted} == {("account",), ("products",)}
    logged = [record for record in caplog.records if request_id in record.getMessage()]
    assert logged and all(record.levelno == logging.ERROR and record.exc_info for record in logged)
    assert "closed" in caplog.text.lower()  # the traceback and the driver's text stay in the log


def test_expected_errors_keep_their_messages(harness):
    body = ask(harness, '{ products(first: 300) { nodes { id } } account { name } }', plans=False).json()
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "between 0 and 250" in body["errors"][0]["message"]
    assert body["data"]["account"]["name"]


def test_one_order_product_twice_in_a_shipment_changes_nothing(harness):
    """Each item is within the quantity ordered; twice, they would ship more than that."""
    with harness[1].database.read() as db:
        line = db.session.execute(select(m.OrderProduct.id, m.OrderProduct.quantity, m.Order.id).join(
            m.Order, m.Order.id == m.OrderProduct.order_id).where(
            m.Order.account_id == harness[3], m.Order.is_confirmed.is_(True), m.Order.is_cancelled.is_(False),
            m.Order.is_fulfilled.is_(False)).limit(1)).one()
    item = {"orderProductId": encode_global_id("OrderProduct", line[0]), "quantity": line[1]}
    before = data_version(harness)
    body = ask(harness, "mutation($in: ShipmentCreateInput!) { shipmentCreate(input: $in) { shipment { id } "
                        "userErrors { field message } } }",
               {"in": {"orderId": encode_global_id("Order", line[2]), "carrier": "DHL", "items": [item, item]}}).json()
    assert body["data"]["shipmentCreate"] == {
        "shipment": None, "userErrors": [{"field": ["input", "items"], "message": "Give each order product once."}]}
    assert data_version(harness) == before


def test_the_attacks_get_the_same_answers_from_the_live_server(harness, live):
    """The in-process answers above are the server's: the same requests over real HTTP."""
    token = harness[2]
    product = a_row(harness, m.Product)
    attacks = [
        ('{ products(first: 2, after: "%s") { nodes { id } } }' % cursor_of([10**30]), None),
        ('{ orders(first: 2, after: "%s") { nodes { id } } }' % cursor_of([{"t": "2026-01-20T10:00:00"}, 1]), None),
        ('{ orders(first: 2, since: "0001-01-01T00:00:00+14:00") { nodes { id } } }', None),
        ('query($id: ID!) { node(id: $id) { id } }', {"id": raw_global_id("Product:" + "".join(
            chr(0x0660 + int(d)) for d in str(product)))}),
        ('mutation($s: String!) { productCreate(input: {title: $s}) { userErrors { field } } }', {"s": "a\u0000"}),
    ]
    for query, variables in attacks:
        over_http = httpx.post(f"{live.base_url}/v1/graphql", json={"query": query, "variables": variables},
                               headers={"authorization": f"Bearer {token}"}, timeout=30)
        in_process = ask(harness, query, variables)
        assert over_http.status_code == in_process.status_code == 200, (query, over_http.text[:300])
        body = over_http.json()
        assert body["data"] == in_process.json()["data"]
        assert [e["extensions"]["code"] for e in body.get("errors", [])] == [
            e["extensions"]["code"] for e in in_process.json().get("errors", [])]
        assert body.get("errors") or body["data"] in ({"node": None}, {"productCreate": {"userErrors": [
            {"field": ["input", "title"]}]}})


class FailingDriver:
    """A driver connection that fails as no one planned (not a lost connection: that is a 503)."""

    def cursor(self) -> FailingDriver:
        return self  # the transaction's statements run on a cursor of it: one that fails alike

    def execute(self, *_args: object) -> None:
        raise RuntimeError("Cannot operate on a closed Connection")
