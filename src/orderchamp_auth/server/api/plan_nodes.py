"""The typed nodes of a plan (``plan.py`` compiles them, ``executor.py`` runs them).

An object's plan lists, in response order, its entries: a ``Leaf`` (a column, copied or
checked), a ``Typename``, a ``Denied`` field (null plus ``ACCESS_DENIED``), a ``Parent`` or
``Children`` relation. A connection's plan lists ``Nodes``, ``Edges``, ``PageInfo``,
``TotalCount``; the root's, objects and connections of root fields.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from graphql import FieldNode, GraphQLField, OperationDefinitionNode

from ...protocol.scopes import Scope
from ..store.repositories.catalogue import ChildRead, Projection
from .description import ObjectType, Relation, RootField


@dataclass(frozen=True)
class CoreOnly:
    """The document (with these scopes) is answered by graphql-core, and why."""

    reason: str


@dataclass(slots=True)
class Arguments:
    """A field's arguments as written in the document (values come with the variables).
    ``constant``: their values, coerced once, when the document writes them all out."""

    definition: GraphQLField
    node: FieldNode
    constant: dict[str, Any] | None = None


@dataclass(slots=True)
class Typename:
    key: str
    value: str


@dataclass(slots=True)
class Denied:
    key: str
    scope: Scope
    nodes: list[FieldNode]


@dataclass(slots=True)
class Leaf:
    key: str
    column: int
    # the value to send, from the value read; None: the value as read (see _leaf_check)
    check: Callable[[Any], Any] | None
    non_null: bool
    nodes: list[FieldNode]


@dataclass(slots=True)
class Parent:
    key: str
    slot: int
    relation: Relation
    child: ObjectPlan
    nullable: bool
    nodes: list[FieldNode]
    key_column: int = 0  # set by ObjectPlan.finish


@dataclass(slots=True)
class Children:
    """Children of each object: a connection (``connection``), or a plain list."""

    key: str
    slot: int
    relation: Relation
    child: ObjectPlan
    nullable: bool
    nodes: list[FieldNode]
    connection: ConnectionPlan | None = None
    arguments: Arguments | None = None
    read: ChildRead | None = None  # set by the parent's ObjectPlan.finish


ObjectEntry = Leaf | Typename | Denied | Parent | Children


@dataclass
class ObjectPlan:
    """How to build one object of ``spec`` from a row of ``projection``: ``(id, *fields, *keys)``."""

    spec: ObjectType
    fields: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    entries: list[ObjectEntry] = field(default_factory=list)
    response_keys: tuple[str, ...] = ()
    getter: Callable[[Sequence[Any]], Sequence[Any]] = field(default=itemgetter(0))
    patches: list[ObjectEntry] = field(default_factory=list)  # entries filled in after the copy
    relations: list[Parent | Children] = field(default_factory=list)
    projection: Projection | None = None

    def column(self, name: str) -> int:
        if name not in self.fields:
            self.fields.append(name)
        return 1 + self.fields.index(name)

    def key_column(self, key: str) -> int:
        if key not in self.keys:
            self.keys.append(key)
        return 1 + len(self.fields) + self.keys.index(key)

    def finish(self) -> None:
        """Fix key indexes now that every field is known (keys come after the fields), and
        make the getter that copies every leaf (in response order) in one step."""
        offset = 1 + len(self.fields)
        for entry in self.relations:
            if isinstance(entry, Parent):
                entry.key_column = offset + self.keys.index(entry.relation.key)
            else:  # the child's projection is final: it finished first
                entry.read = ChildRead(entry.child.projection, entry.relation.key,  # type: ignore[arg-type]
                                       entry.relation.order)
        self.projection = self.spec.projection(tuple(self.fields), tuple(self.keys))
        # Every entry gets a key in the first step (non-leaves a placeholder, column 0), so
        # the response keeps the query's order when the rest is filled in afterwards.
        self.response_keys = tuple(entry.key for entry in self.entries)
        columns = [entry.column if isinstance(entry, Leaf) else 0 for entry in self.entries]
        if len(columns) == 1:
            only = columns[0]
            self.getter = lambda row: (row[only],)
        else:
            self.getter = itemgetter(*columns) if columns else (lambda row: ())
        self.patches = [e for e in self.entries if not isinstance(e, Leaf) or e.check is not None]


@dataclass(slots=True)
class Nodes:
    key: str


@dataclass(slots=True)
class Edges:
    key: str
    type_name: str
    fields: list[tuple[str, str] | Denied]  # (response key, "node" / "cursor" / "__typename")


@dataclass(slots=True)
class PageInfo:
    key: str
    fields: list[tuple[str, str] | Denied]


@dataclass(slots=True)
class TotalCount:
    key: str


ConnectionEntry = Nodes | Edges | PageInfo | TotalCount | Typename | Denied


@dataclass
class ConnectionPlan:
    node: ObjectPlan
    entries: list[ConnectionEntry]
    needs_keys: bool = True  # edges or pageInfo: cursors may be written


@dataclass(slots=True)
class RootObject:
    """``account``, ``product(id:)``, ``productVariants(skus:)``: objects by a root field."""

    key: str
    root: RootField
    plan: ObjectPlan
    arguments: Arguments
    nodes: list[FieldNode]


@dataclass(slots=True)
class RootConnection:
    key: str
    root: RootField
    connection: ConnectionPlan
    arguments: Arguments
    nodes: list[FieldNode]


@dataclass(slots=True)
class RootNode:
    """``node(id:)``: the object of the type its ID names. A plan per type that is a node (its
    fields as the document's fragments select them for that type), or the scope that type needs
    and the token lacks (null and ``ACCESS_DENIED``, as graphql-core's ``resolve_node``)."""

    key: str
    plans: dict[str, ObjectPlan | Scope]
    arguments: Arguments
    nodes: list[FieldNode]


RootEntry = RootObject | RootConnection | RootNode | Typename | Denied


@dataclass
class Plan:
    entries: list[RootEntry]
    operation: OperationDefinitionNode
    children: list[Children]  # every connection below an object, whose arguments are bound per run
    has_denied: bool
