"""Managing webhook subscriptions through the API: the connection and webhookCreate/Update/Delete."""

from __future__ import annotations

from .api_support import Api
from .webhook_support import install

SUBSCRIBE = """mutation($topic: WebhookTopic!, $address: String!) {
  webhookCreate(input: {topic: $topic, address: $address}) {
    webhook { id topic address disabledAt } userErrors { field message } } }"""
UPDATE = """mutation($id: ID!, $address: String) { webhookUpdate(input: {id: $id, address: $address}) {
  webhook { id address } userErrors { field message } } }"""
DELETE = """mutation($id: ID!) { webhookDelete(input: {id: $id}) { deletedWebhookId userErrors { field message } } }"""
LIST = "{ webhooks(first: 10) { totalCount nodes { id topic address } pageInfo { hasNextPage } } }"


def _app_api(world, live, scopes="products_read,orders_read"):
    supplier, app = world.supplier(), world.app()
    return supplier, app, Api(live.base_url, install(world, supplier.account_id, app, scopes))


def test_an_app_subscribes_lists_changes_and_removes_its_webhooks(world, live):
    _, _, api = _app_api(world, live)
    made = api.data(SUBSCRIBE, {"topic": "ORDER_CREATED", "address": "https://hooks.example.com/orders"})
    assert made["webhookCreate"]["userErrors"] == []
    webhook = made["webhookCreate"]["webhook"]
    assert webhook["topic"] == "ORDER_CREATED" and webhook["disabledAt"] is None
    listed = api.data(LIST)["webhooks"]
    assert listed["totalCount"] == 1 and listed["nodes"] == [
        {"id": webhook["id"], "topic": "ORDER_CREATED", "address": "https://hooks.example.com/orders"}]

    changed = api.data(UPDATE, {"id": webhook["id"], "address": "https://hooks.example.com/v2"})["webhookUpdate"]
    assert changed == {"webhook": {"id": webhook["id"], "address": "https://hooks.example.com/v2"}, "userErrors": []}
    assert api.data(DELETE, {"id": webhook["id"]})["webhookDelete"] == {"deletedWebhookId": webhook["id"],
                                                                        "userErrors": []}
    assert api.data(LIST)["webhooks"]["totalCount"] == 0


def test_a_topic_needs_the_read_scope_of_its_resource(world, live):
    _, _, api = _app_api(world, live, scopes="products_write")
    refused = api.data(SUBSCRIBE, {"topic": "ORDER_CANCELLED", "address": "https://hooks.example.com/o"})
    assert refused["webhookCreate"]["webhook"] is None
    assert refused["webhookCreate"]["userErrors"] == [
        {"field": ["input", "topic"], "message": "The topic ORDER_CANCELLED needs the orders_read scope."}]
    # products_write implies products_read
    allowed = api.data(SUBSCRIBE, {"topic": "PRODUCT_DELETED", "address": "https://hooks.example.com/p"})
    assert allowed["webhookCreate"]["userErrors"] == []


def test_private_and_loopback_addresses_are_refused_and_nothing_is_written(world, live):
    _, _, api = _app_api(world, live)
    for address in ("https://10.1.2.3/hooks", "https://169.254.169.254/", "http://hooks.example.com/",
                    "http://127.0.0.1:9000/hooks", "https://localhost/hooks", "not a url"):
        result = api.data(SUBSCRIBE, {"topic": "PRODUCT_UPDATED", "address": address})["webhookCreate"]
        assert result["webhook"] is None, address
        assert result["userErrors"][0]["field"] == ["input", "address"], address
    assert api.data(LIST)["webhooks"]["totalCount"] == 0


def test_the_same_topic_and_address_twice_is_a_user_error(world, live):
    _, _, api = _app_api(world, live)
    variables = {"topic": "PRODUCT_UPDATED", "address": "https://hooks.example.com/p"}
    assert api.data(SUBSCRIBE, variables)["webhookCreate"]["userErrors"] == []
    again = api.data(SUBSCRIBE, variables)["webhookCreate"]
    assert again["webhook"] is None and "already" in again["userErrors"][0]["message"]
    assert api.data(LIST)["webhooks"]["totalCount"] == 1


def test_an_app_sees_and_changes_only_its_own_subscriptions(world, live):
    supplier, _, api = _app_api(world, live)
    other = Api(live.base_url, install(world, supplier.account_id, world.app(), "products_read"))
    webhook = api.data(SUBSCRIBE, {"topic": "PRODUCT_UPDATED", "address": "https://hooks.example.com/a"})[
        "webhookCreate"]["webhook"]
    assert other.data(LIST)["webhooks"]["totalCount"] == 0
    gone = other.data(DELETE, {"id": webhook["id"]})["webhookDelete"]
    assert gone["deletedWebhookId"] is None and gone["userErrors"][0]["field"] == ["input", "id"]
    assert api.data(LIST)["webhooks"]["totalCount"] == 1


def test_a_private_token_cannot_subscribe(world, live):
    supplier = world.supplier()
    api = Api(live.base_url, world.private_token(supplier.account_id, "products_read"))
    refused = api.data(SUBSCRIBE, {"topic": "PRODUCT_UPDATED", "address": "https://hooks.example.com/p"})
    assert refused["webhookCreate"]["webhook"] is None
    assert "app's access token" in refused["webhookCreate"]["userErrors"][0]["message"]
    assert api.data(LIST)["webhooks"]["totalCount"] == 0
