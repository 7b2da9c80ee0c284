"""Webhook payloads in the shape of the API's query results (``{"data":{"product":{...}}}``).

Built by running a fixed GraphQL document for the object through the API's own schema, on the
writer's transaction, with a context that may read everything: the payload is what a query
would have returned just after the change, field for field.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema, execute, parse

from ...protocol.global_ids import encode_global_id
from ...protocol.scopes import ScopeSet
from ..store.transaction import Transaction
from .context import RequestContext

_PRODUCT = """query WebhookProduct($id: ID!) { product(id: $id) {
  id title description brand createdAt updatedAt
  variants(first: 100) { nodes { id title sku price inventoryQuantity inventoryPolicy position } }
  images(first: 50) { nodes { id position originalUrl } } } }"""
_ORDER = """query WebhookOrder($id: ID!) { order(id: $id) {
  id number reference status currency totalPrice isConfirmed isCancelled isFulfilled
  confirmedAt cancelledAt createdAt } }"""
_SHIPMENT = """query WebhookShipment($id: ID!) { shipment: node(id: $id) { ... on Shipment {
  id carrier trackingCode trackingUrl status createdAt updatedAt order { id }
  items { quantity orderProduct { id } } } } }"""
_CUSTOMER = """query WebhookCustomer($id: ID!) { customer(id: $id) { id companyName email address createdAt } }"""
_ACCOUNT = """query WebhookAccount { account { id name type slug currency createdAt } }"""

# topic prefix -> (type name, document)
_DOCUMENTS = {
    "PRODUCT": ("Product", parse(_PRODUCT)),
    "ORDER": ("Order", parse(_ORDER)),
    "SHIPMENT": ("Shipment", parse(_SHIPMENT)),
    "CUSTOMER": ("Customer", parse(_CUSTOMER)),
    "ACCOUNT": ("Account", parse(_ACCOUNT)),
}


class PayloadError(RuntimeError):
    """The fixed document did not run: a bug, never the writer's input."""


def object_payload(schema: GraphQLSchema, tx: Transaction, account_id: int, topic: str,
                   object_id: int | None = None) -> dict[str, Any]:
    """The payload of ``topic`` about the object ``object_id`` of the account (none for account topics)."""
    kind = topic.split("_", 1)[0]
    type_name, document = _DOCUMENTS[kind]
    if topic.endswith("_DELETED"):
        assert object_id is not None
        return {"data": {type_name[0].lower() + type_name[1:]: {"id": encode_global_id(type_name, object_id)}}}
    variables = {} if object_id is None else {"id": encode_global_id(type_name, object_id)}
    context = RequestContext(account_id, ScopeSet.all(), tx)
    result = execute(schema, document, context_value=context, variable_values=variables)
    if result.errors or not isinstance(result.data, dict):  # type: ignore[union-attr]
        raise PayloadError(f"the {kind.lower()} payload document failed: {result.errors}")  # type: ignore[union-attr]
    return {"data": result.data}  # type: ignore[union-attr]


def api_payload(tx: Transaction, account_id: int, topic: str, object_id: int) -> dict[str, Any]:
    """``object_payload`` through the API's schema: the ``ObjectPayloads`` of writers outside the API."""
    return object_payload(api_schema(), tx, account_id, topic, object_id)


_schema: GraphQLSchema | None = None


def api_schema() -> GraphQLSchema:
    """The API's schema, for writers outside the API (back office, CLI, demo seeding)."""
    global _schema
    if _schema is None:
        from .schema import build_api_schema  # the schema binds the mutations, which import this module

        _schema = build_api_schema()
    return _schema
