"""The GraphQL client: request shape, error mapping, partial data, pagination."""

import json

import httpx
import pytest

from orderchamp_auth.client import (
    AccessDeniedError,
    AsyncOrderchampClient,
    GraphQLError,
    GraphQLResult,
    HTTPStatusError,
    InvalidResponseError,
    OrderchampClient,
    TransportError,
    UnauthenticatedError,
)

TOKEN = "oca_api-token-value"
ACCOUNT_QUERY = "query Account { account { name } }"


def client_answering(answer, **options) -> tuple[OrderchampClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return answer(request)

    return OrderchampClient(
        TOKEN, api_url="https://api.example.test/v1/", transport=httpx.MockTransport(handler), **options
    ), seen


def ok(data):
    return lambda request: httpx.Response(200, json={"data": data})


def denied(field: str, scope: str) -> dict:
    return {
        "message": f"access denied to {field}",
        "path": [field],
        "extensions": {"code": "ACCESS_DENIED", "requiredScope": scope},
    }


def test_a_query_is_posted_as_json_with_bearer_auth_and_a_versioned_user_agent():
    client, seen = client_answering(ok({"account": {"name": "Little Champs"}}))
    result = client.execute(ACCOUNT_QUERY, {"x": 1}, operation_name="Account")
    (request,) = seen
    assert str(request.url) == "https://api.example.test/v1/graphql"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"orderchamp-auth-python/0.1.0 httpx/{httpx.__version__}"
    assert json.loads(request.content) == {
        "query": ACCOUNT_QUERY,
        "variables": {"x": 1},
        "operationName": "Account",
    }
    assert request.extensions["timeout"]["read"] == 30.0
    assert result.data == {"account": {"name": "Little Champs"}}
    assert not result.has_errors


def test_timeouts_are_configurable():
    client, seen = client_answering(ok({}), timeout=5.0)
    client.execute("{ account { name } }")
    assert seen[0].extensions["timeout"] == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


def test_the_token_never_shows_in_the_clients_repr():
    client, _ = client_answering(ok({}))
    assert TOKEN not in repr(client)


def test_a_missing_scope_raises_access_denied_naming_the_required_scope():
    body = {"data": {"account": {"name": "x"}, "orders": None}, "errors": [denied("orders", "orders_read")]}
    client, _ = client_answering(lambda r: httpx.Response(200, json=body))
    with pytest.raises(AccessDeniedError) as caught:
        client.execute("{ account { name } orders(first: 1) { nodes { id } } }")
    assert caught.value.required_scope == "orders_read"
    assert caught.value.required_scopes.to_string() == "orders_read"
    assert caught.value.data == {"account": {"name": "x"}, "orders": None}
    assert caught.value.errors[0].path == ("orders",)
    assert isinstance(caught.value, GraphQLError)


def test_partial_data_comes_back_with_its_errors_when_asked():
    body = {
        "data": {"account": {"name": "x"}, "orders": None, "customers": None},
        "errors": [denied("orders", "orders_read"), denied("customers", "customers_read")],
    }
    client, _ = client_answering(lambda r: httpx.Response(200, json=body))
    result = client.execute("{ ... }", raise_on_errors=False)
    assert isinstance(result, GraphQLResult)
    assert result.data["account"] == {"name": "x"}
    assert result.missing_scopes == ("orders_read", "customers_read")
    with pytest.raises(AccessDeniedError) as caught:
        result.raise_for_errors()
    assert caught.value.required_scopes.to_string() == "orders_read,customers_read"


def test_other_graphql_errors_raise_a_graphql_error_with_every_entry():
    body = {
        "data": None,
        "errors": [
            {"message": "Cannot query field", "locations": [{"line": 1, "column": 3}]},
            {"message": "second", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}},
        ],
    }
    client, _ = client_answering(lambda r: httpx.Response(200, json=body))
    with pytest.raises(GraphQLError) as caught:
        client.execute("{ nope }")
    assert not isinstance(caught.value, AccessDeniedError)
    assert [e.message for e in caught.value.errors] == ["Cannot query field", "second"]
    assert caught.value.errors[1].code == "GRAPHQL_VALIDATION_FAILED"
    assert str(caught.value) == "Cannot query field (and 1 more)"


def test_errors_on_a_non_2xx_answer_raise_even_when_partial_data_is_allowed():
    body = {"errors": [{"message": "Syntax Error"}]}
    client, _ = client_answering(lambda r: httpx.Response(400, json=body))
    with pytest.raises(GraphQLError) as caught:
        client.execute("{", raise_on_errors=False)
    assert caught.value.status_code == 400


def test_http_401_means_unauthenticated():
    body = {"errors": [{"message": "invalid token", "extensions": {"code": "UNAUTHENTICATED"}}]}
    client, _ = client_answering(lambda r: httpx.Response(401, json=body))
    with pytest.raises(UnauthenticatedError) as caught:
        client.execute(ACCOUNT_QUERY)
    assert caught.value.status_code == 401
    client, _ = client_answering(lambda r: httpx.Response(401, text="no"))
    with pytest.raises(UnauthenticatedError):
        client.execute(ACCOUNT_QUERY)


def test_an_unauthenticated_error_code_means_unauthenticated_even_on_200():
    body = {
        "data": None,
        "errors": [{"message": f"token {TOKEN} revoked", "extensions": {"code": "UNAUTHENTICATED"}}],
    }
    client, _ = client_answering(lambda r: httpx.Response(200, json=body))
    with pytest.raises(UnauthenticatedError) as caught:
        client.execute(ACCOUNT_QUERY, raise_on_errors=False)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("status", [403, 404, 500, 503])
def test_a_non_graphql_http_error_raises_http_status_error(status):
    client, _ = client_answering(lambda r: httpx.Response(status, text="<html>oops</html>"))
    with pytest.raises(HTTPStatusError) as caught:
        client.execute(ACCOUNT_QUERY)
    assert caught.value.status_code == status


def test_a_2xx_answer_that_is_not_graphql_is_an_invalid_response():
    client, _ = client_answering(lambda r: httpx.Response(200, text="hello"))
    with pytest.raises(InvalidResponseError):
        client.execute(ACCOUNT_QUERY)


def test_a_connection_failure_is_a_transport_error():
    def refuse(request):
        raise httpx.ConnectTimeout("timed out", request=request)

    client, _ = client_answering(refuse)
    with pytest.raises(TransportError, match="ConnectTimeout"):
        client.execute(ACCOUNT_QUERY)


def paged_products(total: int, style: str):
    def answer(request: httpx.Request) -> httpx.Response:
        variables = json.loads(request.content)["variables"]
        start = int(variables["after"] or 0)
        first = variables.get("first", 10)
        ids = list(range(start + 1, min(start + first, total) + 1))
        nodes = [{"id": str(i)} for i in ids]
        connection = {
            "pageInfo": {"hasNextPage": start + len(ids) < total, "endCursor": str(start + len(ids))}
        }
        connection.update({"nodes": nodes} if style == "nodes" else {"edges": [{"node": n} for n in nodes]})
        return httpx.Response(200, json={"data": {"account": {"products": connection}}})

    return answer


PRODUCTS_QUERY = (
    "query($first: Int, $after: String) { account { products(first: $first, after: $after) "
    "{ nodes { id } pageInfo { hasNextPage endCursor } } } }"
)


@pytest.mark.parametrize("style", ["nodes", "edges"])
def test_pagination_walks_every_page_of_a_connection(style):
    client, seen = client_answering(paged_products(23, style))
    ids = [node["id"] for node in client.paginate(PRODUCTS_QUERY, "account.products", page_size=10)]
    assert ids == [str(i) for i in range(1, 24)]
    assert [json.loads(r.content)["variables"]["after"] for r in seen] == [None, "10", "20"]


def test_pagination_can_be_bounded_and_keeps_other_variables():
    client, seen = client_answering(paged_products(100, "nodes"))
    nodes = list(
        client.paginate(PRODUCTS_QUERY, ["account", "products"], {"sort": "NEWEST"}, page_size=5, max_pages=2)
    )
    assert len(nodes) == 10
    assert json.loads(seen[1].content)["variables"] == {"sort": "NEWEST", "after": "5", "first": 5}


def test_pagination_refuses_a_cursor_that_does_not_advance():
    stuck = {
        "data": {"products": {"nodes": [{"id": "1"}], "pageInfo": {"hasNextPage": True, "endCursor": None}}}
    }
    client, _ = client_answering(lambda r: httpx.Response(200, json=stuck))
    with pytest.raises(InvalidResponseError):
        list(client.paginate(PRODUCTS_QUERY, "products"))


def test_pagination_over_a_null_connection_yields_nothing_and_a_wrong_path_is_an_error():
    client, _ = client_answering(ok({"account": None}))
    assert list(client.paginate(PRODUCTS_QUERY, "account.products")) == []
    client, _ = client_answering(ok({"account": {}}))
    with pytest.raises(InvalidResponseError):
        list(client.paginate(PRODUCTS_QUERY, "account.products"))


async def test_the_async_client_executes_and_paginates_like_its_twin():
    def handler(request: httpx.Request) -> httpx.Response:
        return paged_products(12, "edges")(request)

    async with AsyncOrderchampClient(
        TOKEN, api_url="https://api.example.test/v1", transport=httpx.MockTransport(handler)
    ) as client:
        ids = [node["id"] async for node in client.paginate(PRODUCTS_QUERY, "account.products", page_size=5)]
        assert ids == [str(i) for i in range(1, 13)]
        result = await client.execute(PRODUCTS_QUERY, {"after": None})
        assert len(result.data["account"]["products"]["edges"]) == 10
