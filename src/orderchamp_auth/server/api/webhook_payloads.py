"""Webhook payloads in the shape of the API's query results (``{"data":{"product":{...}}}``).

Built by a fixed GraphQL document for the object, run by the API's own plan engine (``plan.py``,
``executor.py``) on the writer's transaction with every scope: the payload is what the query
would have returned just after the change, field for field. Each document is compiled once per
schema, on its first use; one that a plan does not cover is a bug, refused then, never sent to
graphql-core (the equivalence tests hold the plans to graphql-core's answers).
"""

from __future__ import annotations

import weakref
from typing import Any

from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

from ...protocol.global_ids import encode_global_id
from ...protocol.scopes import ScopeSet
from ..store.transaction import Transaction
from .executor import Kept, run_plan
from .guard import field_scopes
from .plan import Plan, compile_plan

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
DOCUMENTS = {
    "PRODUCT": ("Product", _PRODUCT),
    "ORDER": ("Order", _ORDER),
    "SHIPMENT": ("Shipment", _SHIPMENT),
    "CUSTOMER": ("Customer", _CUSTOMER),
    "ACCOUNT": ("Account", _ACCOUNT),
}


class PayloadError(RuntimeError):
    """A fixed document did not compile to a plan or did not run: a bug, never the writer's input."""


# One set of plans per schema: a process has one (tests build a few); weak, so they go with it.
_plans: weakref.WeakKeyDictionary[GraphQLSchema, dict[str, Plan]] = weakref.WeakKeyDictionary()


def _compile(schema: GraphQLSchema) -> dict[str, Plan]:
    scopes, guarded = ScopeSet.all(), field_scopes(schema)
    plans: dict[str, Plan] = {}
    for kind, (_, text) in DOCUMENTS.items():
        document = parse(text)
        errors = validate(schema, document)
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        plan = compile_plan(schema, document, operation, scopes, guarded)
        if errors or not isinstance(plan, Plan):
            raise PayloadError(f"the {kind.lower()} payload document is not planned: {errors or plan}")
        plans[kind] = plan
    return plans


def payload_plans(schema: GraphQLSchema) -> dict[str, Plan]:
    """The payload documents' plans for ``schema``, compiled on first use. Two writers that
    get here at once both compile (a few milliseconds, the same plans) rather than one waiting."""
    plans = _plans.get(schema)
    if plans is None:
        plans = _plans[schema] = _compile(schema)
    return plans


def object_payload(schema: GraphQLSchema, tx: Transaction, account_id: int, topic: str,
                   object_id: int | None = None, kept: Kept | None = None) -> dict[str, Any]:
    """The payload of ``topic`` about the object ``object_id`` of the account (none for account
    topics); the rows read are added to ``kept`` (``run_plan``)."""
    kind = topic.split("_", 1)[0]
    type_name = DOCUMENTS[kind][0]
    if topic.endswith("_DELETED"):
        assert object_id is not None
        return {"data": {type_name[0].lower() + type_name[1:]: {"id": encode_global_id(type_name, object_id)}}}
    variables = {} if object_id is None else {"id": encode_global_id(type_name, object_id)}
    data, errors = run_plan(payload_plans(schema)[kind], tx.catalogue(account_id), variables, kept)
    if errors:
        raise PayloadError(f"the {kind.lower()} payload document failed: {errors}")
    return {"data": data}


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
