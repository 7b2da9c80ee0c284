"""A faster executor for our schema, with the same results as graphql-core's.

Most of a response is scalars read straight from the row dicts that the repositories shape.
graphql-core builds a ResolveInfo, argument values and an awaitable check for each of them;
for a 50-product page that is most of the request's time. Two shortcuts, both only for
fields with no resolver of their own, a leaf type and a dict source:

* an object whose whole selection is such fields is built in one loop (``execute_fields``);
* a list of such objects is built in one loop too (``complete_list_value``);
* otherwise each such field with a non-null value is serialized directly (``execute_field``).

Everything else (resolvers, nested objects, lists, nulls of non-null fields, errors) takes
graphql-core's own path, so results and errors are the same (a test compares both).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution import ExecutionContext
from graphql.language import FieldNode
from graphql.pyutils import Path

from ..store.write_lock import is_lock_failure

# (response key, field name, serialize or None for __typename, non-null)
Plan = list[tuple[str, str, Any, bool]]


def _leaf_serializer(parent_type: GraphQLObjectType, node: FieldNode) -> tuple[Any, bool] | None:
    field_def = parent_type.fields.get(node.name.value)
    if field_def is None or field_def.resolve is not None or node.arguments:
        return None
    leaf = get_nullable_type(field_def.type)
    if not is_leaf_type(leaf):
        return None
    return leaf.serialize, is_non_null_type(field_def.type)  # type: ignore[union-attr]


MAX_SERIALIZERS = 4096  # far more than the schema's fields


class FastExecutionContext(ExecutionContext):
    _serializers: dict[int, tuple[Any, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[int, int], Plan | None] = {}

    def _plan(self, parent_type: GraphQLObjectType, fields: dict[str, list[FieldNode]]) -> Plan | None:
        key = (id(parent_type), id(fields))
        if key in self._plans:
            return self._plans[key]
        plan: Plan | None = []
        for response_key, nodes in fields.items():
            node = nodes[0]
            if node.name.value == "__typename":
                plan.append((response_key, "__typename", None, True))  # type: ignore[union-attr]
                continue
            leaf = _leaf_serializer(parent_type, node) if len(nodes) == 1 else None
            if leaf is None:
                plan = None
                break
            plan.append((response_key, node.name.value, leaf[0], leaf[1]))  # type: ignore[union-attr]
        self._plans[key] = plan
        return plan

    def _build(self, plan: Plan, type_name: str, source: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for response_key, name, serialize, non_null in plan:
            if serialize is None:
                result[response_key] = type_name
                continue
            value = source.get(name)
            if value is None:
                if non_null:
                    raise LookupError(name)  # let the standard path report it
                result[response_key] = None
            else:
                result[response_key] = serialize(value)
        return result

    def complete_list_value(
        self, return_type: Any, field_nodes: list[FieldNode], info: Any, path: Path, result: Any
    ) -> Any:
        item_type = get_nullable_type(return_type.of_type)
        if type(result) is list and is_object_type(item_type) and all(type(item) is dict for item in result):
            plan = self._plan(item_type, self.collect_subfields(item_type, field_nodes))
            if plan is not None:
                try:
                    return [self._build(plan, item_type.name, item) for item in result]
                except Exception:  # noqa: S110 - the standard path below reports it properly
                    pass
        return super().complete_list_value(return_type, field_nodes, info, path, result)

    def execute_fields(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None, fields: dict[str, list[FieldNode]]
    ) -> Any:
        if type(source_value) is dict:
            plan = self._plan(parent_type, fields)
            if plan is not None:
                try:
                    return self._build(plan, parent_type.name, source_value)
                except Exception:  # noqa: S110 - the standard path below reports it properly
                    pass
        return super().execute_fields(parent_type, source_value, path, fields)  # type: ignore[arg-type]

    def execute_field(
        self, parent_type: GraphQLObjectType, source: Any, field_nodes: list[FieldNode], path: Path
    ) -> Any:
        if type(source) is dict:
            name = field_nodes[0].name.value
            field_def = parent_type.fields.get(name)
            if field_def is not None and field_def.resolve is None:
                known = self._serializers.get(id(field_def))
                if known is None or known[0] is not field_def:
                    # Keyed by id(), so the entry holds its field: a field of a schema since
                    # dropped could otherwise lend its id, and its serializer, to another one.
                    leaf = get_nullable_type(field_def.type)
                    if len(self._serializers) >= MAX_SERIALIZERS:
                        self._serializers.clear()
                    known = self._serializers[id(field_def)] = (
                        field_def, leaf.serialize if is_leaf_type(leaf) else False)  # type: ignore[union-attr]
                serialize = known[1]
                if serialize:
                    value = source.get(name)
                    if value is not None:
                        try:
                            return serialize(value)
                        except Exception:  # noqa: S110 - the standard path below reports it properly
                            pass
        return super().execute_field(parent_type, source, field_nodes, path)

    def handle_field_error(self, error: GraphQLError, return_type: Any, path: Path) -> None:
        if is_lock_failure(error.original_error):
            # A lock held past the bound fails the whole operation, not one field (the next
            # alias would wait as long again): the write rolls back, answered 503.
            raise error.original_error  # type: ignore[misc]
        super().handle_field_error(error, return_type, path)


def never_awaitable(_value: Any) -> bool:
    """Our resolvers are synchronous; skip graphql-core's awaitable check on every value."""
    return False
