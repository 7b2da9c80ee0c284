"""graphql-core's resolvers, generated from the description (``description.py``).

graphql-core answers what plans do not cover (introspection, mutations, ``@include``/``@skip``;
everything when the graphql-core engine is configured); objects are dicts shaped by
``loaders.as_dicts``, so leaf fields use the default resolver. Scopes are declared in ``schema.graphql`` and enforced by ``guard.py``;
only ``node`` checks them here, because its type is known only once the ID is decoded.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema

from ...protocol.errors import GlobalIdError
from ...protocol.global_ids import decode_global_id
from .arguments import child_window, local_id, page_request, text_values
from .connections import Connection, connection_from_list, resolve_total_count
from .description import ROOT_FIELDS, TYPES, Relation, RootField
from .guard import access_denied
from .loaders import as_dicts, full_projection


def resolve_account(_parent: Any, info: Any) -> dict[str, Any] | None:
    spec = TYPES["Account"]
    rows = as_dicts(spec, info.context.catalogue.account(full_projection(spec)))
    return rows[0] if rows else None


def resolve_node(_parent: Any, info: Any, id: str) -> Any:
    try:
        kind, _ = decode_global_id(id)
    except GlobalIdError:
        return None
    spec = TYPES.get(kind)
    object_id = local_id(id, kind)
    if spec is None or spec.node_scope is None or object_id is None:
        return None
    if kind == "Account" and object_id != info.context.account_id:
        return None
    if spec.node_scope not in info.context.scopes:
        return access_denied(spec.node_scope)
    if kind == "Account":
        return resolve_account(None, info)
    return info.context.loaders.by_id(kind).load(object_id)


def _connection(root: RootField) -> Any:
    spec = TYPES[root.type_name]

    def resolve(_parent: Any, info: Any, **args: Any) -> Connection:
        request = page_request(root, args)
        page = info.context.catalogue.page(full_projection(spec), request.window, request.ordering,
                                           request.conditions)
        rows = as_dicts(spec, page.rows)
        info.context.loaders.prime_related(spec.name, rows)
        return Connection(rows, page.keys, page.has_next, page.has_previous, page.count)

    return resolve


def _single(root: RootField) -> Any:
    def resolve(_parent: Any, info: Any, id: str) -> Any:
        object_id = local_id(id, root.type_name)
        return None if object_id is None else info.context.loaders.by_id(root.type_name).load(object_id)

    return resolve


def _by_texts(root: RootField) -> Any:
    spec = TYPES[root.type_name]

    def resolve(_parent: Any, info: Any, **args: Any) -> list[dict[str, Any]]:
        values = text_values(args[root.argument])
        rows = as_dicts(spec, info.context.catalogue.by_texts(full_projection(spec), root.column, values))
        info.context.loaders.prime_related(spec.name, rows)
        return rows

    return resolve


def _relation(owner: str, relation: Relation) -> Any:
    if relation.kind == "parent":
        key = f"_{relation.key}"

        def resolve_parent(parent: dict[str, Any], info: Any) -> Any:
            target = parent.get(key)
            return None if target is None else info.context.loaders.by_id(relation.target).load(target)

        return resolve_parent
    if relation.is_list:
        def resolve_list(parent: dict[str, Any], info: Any) -> list[dict[str, Any]]:
            return list(info.context.loaders.children(owner, relation).load(parent["_id"]))

        return resolve_list

    def resolve_children(parent: dict[str, Any], info: Any, **args: Any) -> Connection:
        window = child_window(args)
        return connection_from_list(info.context.loaders.children(owner, relation).load(parent["_id"]), window)

    return resolve_children


_ROOT_RESOLVERS = {"connection": _connection, "single": _single, "by_texts": _by_texts}


def resolve_type(obj: Any, _info: Any, _type: Any) -> str:
    return str(obj["__typename"])


def bind_resolvers(schema: GraphQLSchema) -> None:
    def field(type_name: str, name: str) -> Any:
        return schema.type_map[type_name].fields[name]  # type: ignore[attr-defined]

    for root in ROOT_FIELDS.values():
        resolver: Any
        if root.kind == "own":
            continue  # bound by its own module
        if root.kind == "account":
            resolver = resolve_account
        elif root.kind == "node":
            resolver = resolve_node
        else:
            resolver = _ROOT_RESOLVERS[root.kind](root)
        field("Query", root.name).resolve = resolver
    for spec in TYPES.values():
        for relation in spec.relations:
            field(spec.name, relation.field).resolve = _relation(spec.name, relation)
    for type_name, gql_type in schema.type_map.items():
        if type_name.endswith("Connection") and hasattr(gql_type, "fields"):
            gql_type.fields["totalCount"].resolve = resolve_total_count  # type: ignore[attr-defined]
    schema.type_map["Node"].resolve_type = resolve_type  # type: ignore[attr-defined]
