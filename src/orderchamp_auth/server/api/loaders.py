"""Batch loading for graphql-core's resolvers within one request: no N+1 queries.

graphql-core's synchronous executor resolves a list item by item, depth first. When a page
of parents is loaded, its ids are *primed* into the loaders of their relations (from the
description); the first child lookup then loads the children of every primed parent in one
query. The number of queries grows with the depth of a query, not with the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..store.repositories.catalogue import CatalogueRepository, Projection
from .description import TYPES, ObjectType, Relation


class BatchLoader:
    def __init__(self, fetch: Callable[[list[int]], dict[int, Any]], default: Any = None) -> None:
        self._fetch = fetch
        self._default = default
        self._cache: dict[int, Any] = {}
        self._pending: set[int] = set()

    def prime(self, keys: Iterable[int | None]) -> None:
        self._pending.update(k for k in keys if k is not None and k not in self._cache)

    def load(self, key: int) -> Any:
        if key not in self._cache:
            batch = self._pending | {key}
            self._pending = set()
            found = self._fetch(sorted(batch))
            for k in batch:
                value = found.get(k)
                self._cache[k] = value if value is not None else self._default_value()
        return self._cache[key]

    def _default_value(self) -> Any:
        return list(self._default) if isinstance(self._default, list) else self._default


@cache
def row_keys(spec: ObjectType) -> tuple[str, ...]:
    """The raw columns a row of this type carries for relations: its parents' ids, and the
    column its parent's children relation groups it by."""
    keys = list(spec.keys)
    for owner in TYPES.values():
        for relation in owner.relations:
            if relation.kind == "children" and relation.target == spec.name and relation.key not in keys:
                keys.append(relation.key)
    return tuple(keys)


def full_projection(spec: ObjectType) -> Projection:
    return spec.projection(spec.fields, row_keys(spec))


def as_dicts(spec: ObjectType, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of ``full_projection`` as the dicts graphql-core's default resolver reads."""
    names = _dict_keys(spec)
    type_name = spec.name
    # zip stops at the names: a page's rows carry their sort key after them
    return [{**dict(zip(names, row)), "__typename": type_name} for row in rows]  # noqa: B905


@dataclass(frozen=True, slots=True)
class Shaped:
    """A mutation's object as the API shows it (``full_projection``, ``as_dicts``), to be read
    once the mutation's events are recorded (``mutations.mutation_resolver``): their payloads'
    read may already hold it. ``object_id`` None: the account."""

    type_name: str
    object_id: int | None = None


@cache
def _dict_keys(spec: ObjectType) -> tuple[str, ...]:
    return ("_id", *spec.fields, *(f"_{key}" for key in row_keys(spec)))


class Loaders:
    """The request's loaders, made on first use (most requests need none or few)."""

    def __init__(self, catalogue: CatalogueRepository) -> None:
        self.catalogue = catalogue
        self._loaders: dict[tuple[str, str], BatchLoader] = {}

    def by_id(self, type_name: str) -> BatchLoader:
        loader = self._loaders.get((type_name, ""))
        if loader is None:
            loader = self._loaders[(type_name, "")] = BatchLoader(self._fetch_by_ids(TYPES[type_name]))
        return loader

    def children(self, owner: str, relation: Relation) -> BatchLoader:
        loader = self._loaders.get((owner, relation.field))
        if loader is None:
            loader = self._loaders[(owner, relation.field)] = BatchLoader(self._fetch_children(relation), default=[])
        return loader

    def _fetch_by_ids(self, spec: ObjectType) -> Callable[[list[int]], dict[int, Any]]:
        def fetch(ids: list[int]) -> dict[int, Any]:
            rows = as_dicts(spec, self.catalogue.by_ids(full_projection(spec), ids))
            self.prime_related(spec.name, rows)
            return {row["_id"]: row for row in rows}

        return fetch

    def _fetch_children(self, relation: Relation) -> Callable[[list[int]], dict[int, Any]]:
        spec = TYPES[relation.target]

        def fetch(ids: list[int]) -> dict[int, Any]:
            rows = as_dicts(spec, self.catalogue.children(full_projection(spec), relation.key, ids, relation.order))
            self.prime_related(spec.name, rows)
            grouped: dict[int, list[Any]] = {}
            for row in rows:
                grouped.setdefault(row[f"_{relation.key}"], []).append(row)
            return grouped

        return fetch

    def clear(self) -> None:
        """Forget everything loaded (a mutation changed it)."""
        self._loaders.clear()

    def prime_related(self, type_name: str, rows: Iterable[dict[str, Any]]) -> None:
        relations = TYPES[type_name].relations
        if not relations:
            return
        rows = list(rows)
        for relation in relations:
            if relation.kind == "parent":
                self.by_id(relation.target).prime(row.get(f"_{relation.key}") for row in rows)
            else:
                self.children(type_name, relation).prime(row["_id"] for row in rows)
