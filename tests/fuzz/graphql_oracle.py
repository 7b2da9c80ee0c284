"""Reading a GraphQL answer against the query and the token: scopes and account isolation.

The answer is walked with the schema along the operation's selections. Each object must be of
a type the token's scopes may read (write implies read); each ``@scope`` field the token lacks
must be null with an ``ACCESS_DENIED`` error at its path; no string anywhere in ``data`` may be
a global ID of the other account or carry its marker.
"""

from __future__ import annotations

from typing import Any

import httpx
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    parse,
)
from graphql.execution.collect_fields import collect_fields

from orderchamp_auth.server.api.guard import required_scope_of
from orderchamp_auth.server.api.schema import SDL

from .oracle import expect

# SPEC section 2: which scope reads each type.
TYPE_SCOPE = {
    "Account": "account_read", "Product": "products_read", "ProductVariant": "products_read",
    "ProductImage": "products_read", "Order": "orders_read", "OrderProduct": "orders_read",
    "Invoice": "orders_read", "InvoiceItem": "orders_read", "Shipment": "fulfillment_read",
    "ShipmentItem": "fulfillment_read", "Customer": "customers_read",
}
# Each root mutation field needs its write scope (the @scope of the SDL says which).


def sdl() -> str:
    return SDL.read_text("utf-8")


def granted(scopes: set[str], needed: str) -> bool:
    return needed in scopes or needed.replace("_read", "_write") in scopes


def add_typename_to_nodes(document: DocumentNode) -> DocumentNode:
    """``__typename`` in the selections of every ``node`` field, so the walk knows the type
    behind the ``Node`` interface (harmless where the type is concrete)."""

    def visit(selection_set: SelectionSetNode | None, under_node: bool) -> None:
        if selection_set is None:
            return
        selections = list(selection_set.selections)
        if under_node and not any(isinstance(s, FieldNode) and s.name.value == "__typename" and s.alias is None
                                  for s in selections):
            selections.append(FieldNode(name=NameNode(value="__typename"), arguments=(), directives=()))
            selection_set.selections = tuple(selections)
        for selection in selections:
            is_field = isinstance(selection, FieldNode)
            visit(getattr(selection, "selection_set", None), is_field and selection.name.value == "node")

    for definition in document.definitions:
        visit(getattr(definition, "selection_set", None), False)
    return document


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


class AnswerCheck:
    def __init__(self, schema: GraphQLSchema, scopes: set[str], foreign_ids: set[str], marker: str) -> None:
        self.schema = schema
        self.scopes = scopes
        self.foreign_ids = foreign_ids
        self.marker = marker

    def check(self, response: httpx.Response, query: str, operation_name: Any, variables: Any) -> None:
        expect(response.status_code in (200, 400, 413), "an unexpected status", response)
        try:
            body = response.json()
        except ValueError:
            expect(False, "not JSON", response)
            return
        if not isinstance(body, dict):
            expect(False, "not a JSON object", response)
            return
        errors = body.get("errors") or []
        for error in errors:
            if error.get("path") is not None:
                expect((error.get("extensions") or {}).get("code"), "an execution error without a code", response,
                       str(error)[:300])
        data = body.get("data")
        if data is None:
            return
        self._strings(data, response)
        try:
            document = parse(query)
        except Exception:  # noqa: BLE001 - the server answered data for it; nothing to walk
            return
        operation = _operation(document, operation_name if isinstance(operation_name, str) else None)
        if operation is None:
            return
        root = self.schema.mutation_type if operation.operation == OperationType.MUTATION else self.schema.query_type
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        denied = {tuple(e.get("path") or ()) for e in errors
                  if (e.get("extensions") or {}).get("code") == "ACCESS_DENIED"}
        self._object(response, data, root, [operation.selection_set], fragments,
                     variables if isinstance(variables, dict) else {}, [], denied)

    def _strings(self, value: Any, response: httpx.Response) -> None:
        if isinstance(value, str):
            expect(value not in self.foreign_ids, "another account's global ID in data", response, value)
            expect(self.marker not in value, "another account's data", response, value[:200])
        elif isinstance(value, dict):
            for item in value.values():
                self._strings(item, response)
        elif isinstance(value, list):
            for item in value:
                self._strings(item, response)

    def _object(self, response, data: Any, type_: Any, selection_sets: list[SelectionSetNode],
                fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any], path: list[Any],
                denied: set[tuple[Any, ...]]) -> None:
        if not isinstance(data, dict):
            return
        if is_abstract_type(type_):
            runtime = self.schema.get_type(str(data.get("__typename", "")))
            if not isinstance(runtime, GraphQLObjectType):
                return
            type_ = runtime
        if not isinstance(type_, GraphQLObjectType):
            return
        needed = TYPE_SCOPE.get(type_.name)
        if needed is not None:
            expect(granted(self.scopes, needed), "an object of a scope the token lacks", response,
                   f"{type_.name} at {path} needs {needed}")
        fields: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            for key, nodes in collect_fields(self.schema, fragments, variables, type_, selection_set).items():
                fields.setdefault(key, []).extend(nodes)
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if key not in data or name.startswith("__"):
                continue
            field = type_.fields.get(name)
            if field is None:
                continue
            value = data[key]
            scope = required_scope_of(field)
            if scope is not None and not granted(self.scopes, scope.value):
                expect(value is None, "data of a field whose scope the token lacks", response,
                       f"{type_.name}.{name} at {path + [key]} needs {scope.value}")
                expect(tuple(path + [key]) in denied, "no ACCESS_DENIED for a field whose scope the token lacks",
                       response, f"{type_.name}.{name} at {path + [key]}")
                continue
            subsets = [n.selection_set for n in nodes if n.selection_set is not None]
            if subsets:
                self._value(response, value, field.type, subsets, fragments, variables, path + [key], denied)

    def _value(self, response, value: Any, type_: Any, subsets, fragments, variables, path, denied) -> None:
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            if isinstance(value, list):
                for index, item in enumerate(value):
                    self._value(response, item, type_.of_type, subsets, fragments, variables, path + [index], denied)
            return
        self._object(response, value, get_named_type(type_), subsets, fragments, variables, path, denied)
