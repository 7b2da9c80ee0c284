"""Scope enforcement, declared once per field with ``@scope(requires: "...")`` in the SDL.

At schema build time every field carrying the directive gets its resolver wrapped; a token
without the scope sees that field as null plus an ``ACCESS_DENIED`` error, and the rest of the
query resolves. Guarded fields must be nullable, which ``apply_scope_guards`` checks.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLObjectType, GraphQLSchema, default_field_resolver, is_non_null_type
from graphql.language import StringValueNode

from ...protocol.scopes import Scope

DIRECTIVE = "scope"

FieldScopes = dict[tuple[str, str], Scope]  # (type name, field name) -> the scope it requires


def access_denied(scope: Scope) -> GraphQLError:
    return GraphQLError(
        f"Access denied: this field requires the {scope.value} scope.",
        extensions={"code": "ACCESS_DENIED", "requiredScope": scope.value},
    )


def required_scope_of(field: Any) -> Scope | None:
    node = field.ast_node
    if node is None:
        return None
    for directive in node.directives or ():
        if directive.name.value == DIRECTIVE:
            for argument in directive.arguments:
                if argument.name.value == "requires" and isinstance(argument.value, StringValueNode):
                    return Scope(argument.value.value)
    return None


def field_scopes(schema: GraphQLSchema) -> FieldScopes:
    """Every guarded field's scope, read from the SDL once (the plan compiler checks these)."""
    found: FieldScopes = {}
    for type_name, gql_type in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(gql_type, GraphQLObjectType):
            continue
        for field_name, field in gql_type.fields.items():
            scope = required_scope_of(field)
            if scope is not None:
                found[(type_name, field_name)] = scope
    return found


def _guarded(resolver: Any, scope: Scope) -> Any:
    def resolve(parent: Any, info: Any, **args: Any) -> Any:
        if scope not in info.context.scopes:
            return access_denied(scope)
        return resolver(parent, info, **args)

    return resolve


def apply_scope_guards(schema: GraphQLSchema) -> dict[str, Scope]:
    """Wrap every guarded resolver; return ``{"Type.field": scope}`` for docs and tests."""
    guarded: dict[str, Scope] = {}
    for (type_name, field_name), scope in field_scopes(schema).items():
        field = schema.type_map[type_name].fields[field_name]  # type: ignore[attr-defined]
        if is_non_null_type(field.type):
            raise TypeError(f"{type_name}.{field_name} is guarded by a scope, so it must be nullable")
        field.resolve = _guarded(field.resolve or default_field_resolver, scope)
        guarded[f"{type_name}.{field_name}"] = scope
    return guarded
