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


def test_a_private_token_subscribes_with_the_scopes_of_its_topics(world, live):
    supplier = world.supplier()
    api = Api(live.base_url, world.private_token(supplier.account_id, "products_read"))
    made = api.data(SUBSCRIBE, {"topic": "PRODUCT_UPDATED", "address": "https://hooks.example.com/p"})["webhookCreate"]
    assert made["userErrors"] == [] and made["webhook"]["topic"] == "PRODUCT_UPDATED"
    refused = api.data(SUBSCRIBE, {"topic": "ORDER_CREATED", "address": "https://hooks.example.com/o"})["webhookCreate"]
    assert refused["webhook"] is None
    assert refused["userErrors"] == [
        {"field": ["input", "topic"], "message": "The topic ORDER_CREATED needs the orders_read scope."}]
    listed = api.data(LIST)["webhooks"]
    assert listed["totalCount"] == 1 and listed["nodes"][0]["id"] == made["webhook"]["id"]
    # Another private token of the account sees and changes none of them.
    other = Api(live.base_url, world.private_token(supplier.account_id, "products_read"))
    assert other.data(LIST)["webhooks"]["totalCount"] == 0
    gone = other.data(DELETE, {"id": made["webhook"]["id"]})["webhookDelete"]
    assert gone["deletedWebhookId"] is None and gone["userErrors"][0]["field"] == ["input", "id"]
    changed = api.data(UPDATE, {"id": made["webhook"]["id"], "address": "https://hooks.example.com/v2"})
    assert changed["webhookUpdate"]["userErrors"] == []


def test_revoking_a_private_token_removes_its_subscriptions_and_secret(world, live):
    from orderchamp_auth.server.oauth.private_tokens import revoke_private_token
    from orderchamp_auth.server.store.database import utcnow
    from orderchamp_auth.server.store.repositories.webhooks import Owner

    supplier = world.supplier()
    value, _, token_id = world.private_token_with_secret(supplier.account_id, "products_read")
    api = Api(live.base_url, value)
    assert api.data(SUBSCRIBE, {"topic": "PRODUCT_CREATED", "address": "https://hooks.example.com/p"})[
        "webhookCreate"]["userErrors"] == []
    with world.platform.database.write() as db:
        assert db.webhook_subscriptions.count_for(supplier.account_id, Owner(token_id=token_id)) == 1
        revoke_private_token(db, account_id=supplier.account_id, token_id=token_id, now=utcnow())
    with world.platform.database.read() as db:
        assert db.webhook_subscriptions.count_for(supplier.account_id, Owner(token_id=token_id)) == 0
        assert db.webhook_subscriptions.signing_secret(token_id) is None
        assert db.webhook_subscriptions.targets(supplier.account_id, "PRODUCT_CREATED") == []


def test_a_host_that_resolves_to_a_private_address_or_not_at_all_is_a_user_error(world, live):
    _, _, api = _app_api(world, live)
    for address, message in (
            ("https://intranet-hooks.example.com/h", "The address resolves to a private or reserved network address."),
            ("https://no-such-host.invalid/h", "The address's host name does not resolve.")):
        result = api.data(SUBSCRIBE, {"topic": "PRODUCT_UPDATED", "address": address})["webhookCreate"]
        assert result == {"webhook": None, "userErrors": [{"field": ["input", "address"], "message": message}]}
    webhook = api.data(SUBSCRIBE, {"topic": "PRODUCT_UPDATED", "address": "https://hooks.example.com/p"})[
        "webhookCreate"]["webhook"]
    moved = api.data(UPDATE, {"id": webhook["id"], "address": "https://intranet-hooks.example.com/h"})["webhookUpdate"]
    assert moved["webhook"] is None and "private" in moved["userErrors"][0]["message"]
    assert api.data(LIST)["webhooks"]["nodes"][0]["address"] == "https://hooks.example.com/p"


def test_addresses_are_checked_through_aliases_fragments_and_literals(world, live):
    _, _, api = _app_api(world, live)
    document = """mutation { a: webhookCreate(input: {topic: PRODUCT_UPDATED, address: "https://hooks.example.com/a"}) {
      userErrors { message } }
      ...More }
    fragment More on Mutation { b: webhookCreate(input: {topic: PRODUCT_CREATED,
      address: " https://intranet-hooks.example.com/b "}) { userErrors { message } } }"""
    result = api.data(document)
    assert result["a"]["userErrors"] == []
    assert result["b"]["userErrors"] == [{"message": "The address resolves to a private or reserved network address."}]


def test_a_token_older_than_signing_secrets_is_told_to_make_one_first(world, live):
    supplier = world.supplier()
    value, _, token_id = world.private_token_with_secret(supplier.account_id, "products_read")
    with world.platform.database.write() as db:  # as a token made before migration 0009 is
        db.session.delete(db.webhook_subscriptions.signing_secret(token_id))
    api = Api(live.base_url, value)
    refused = api.data(SUBSCRIBE, {"topic": "PRODUCT_UPDATED", "address": "https://hooks.example.com/p"})
    assert refused["webhookCreate"]["webhook"] is None
    assert "no webhook signing secret yet" in refused["webhookCreate"]["userErrors"][0]["message"]
    assert api.data(LIST)["webhooks"]["totalCount"] == 0
