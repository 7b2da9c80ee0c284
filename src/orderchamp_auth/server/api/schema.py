"""Building the executable schema and caching parsed, validated documents per query text."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ValidationRule

from .cost import document_costs
from .guard import apply_scope_guards
from .limits import MAX_QUERY_LENGTH, measure
from .mutations import bind_mutations
from .node_bound import NodeBound
from .resolvers import bind_resolvers
from .webhook_mutations import bind_webhooks

SDL = Path(__file__).with_name("schema.graphql")


def build_api_schema(sdl: str | None = None) -> GraphQLSchema:
    """The executable schema of ``schema.graphql`` (or of ``sdl``, a variant of it for tests)."""
    schema = build_schema(SDL.read_text("utf-8") if sdl is None else sdl)
    bind_resolvers(schema)
    bind_mutations(schema)
    bind_webhooks(schema)
    apply_scope_guards(schema)
    document_costs(schema)
    return schema


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation of a cached document, found by the request's ``operationName``."""

    node: OperationDefinitionNode
    name: str | None  # its own name: plans are filed under it, never under the raw request field
    # page sizes come from variables: the node bound is checked per request (limits.py)
    node_bound: NodeBound | None = None


@dataclass
class CachedDocument:
    document: DocumentNode | None
    errors: list[GraphQLError]
    # by operationName as a request gives it (None: the document's only operation)
    operations: dict[str | None, Operation] = field(default_factory=dict)
    # each operation's engine (a plan, or CoreOnly) by (operation name, scopes); see plan.py.
    # At most MAX_PLANS: a document has few operations, and tokens few distinct scope sets.
    plans: dict[tuple[str | None, str], Any] = field(default_factory=dict)
    # each operation's price where it depends on no variable (throttle.py), by its own name
    costs: dict[str | None, Any] = field(default_factory=dict)


MAX_PLANS = 32


def add_plan(cached: CachedDocument, key: tuple[str | None, str], plan: Any) -> None:
    if len(cached.plans) >= MAX_PLANS:
        del cached.plans[next(iter(cached.plans))]
    cached.plans[key] = plan


def _operations(document: DocumentNode, node_bounds: dict[str | None, NodeBound]) -> dict[str | None, Operation]:
    found = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else None
            found.append(Operation(definition, name, node_bounds.get(name)))
    operations: dict[str | None, Operation] = {op.name: op for op in found if op.name is not None}
    if len(found) == 1:
        operations[None] = found[0]
    return operations


class DocumentCache:
    """Parse and validation results per query text, least recently used out: at most ``size``
    documents and ``max_bytes`` of query text (a parsed document takes ~100 times its text).

    ``lookup`` and ``store`` run on the event loop; ``compile`` may run in a thread."""

    def __init__(self, schema: GraphQLSchema, *, size: int = 1000, max_bytes: int = 512 * 1024,
                 rules: list[type[ValidationRule]] | None = None):
        self.schema = schema
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self.rules = rules
        self._entries: OrderedDict[str, CachedDocument] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        entry = self.entry(query)
        return entry.document, entry.errors

    def entry(self, query: str) -> CachedDocument:
        entry = self.lookup(query)
        return entry if entry is not None else self.store(query, self.compile(query))

    def lookup(self, query: str) -> CachedDocument | None:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
        return entry

    def store(self, query: str, entry: CachedDocument) -> CachedDocument:
        if len(query) > MAX_QUERY_LENGTH:
            return entry  # refused before parsing: nothing worth keeping
        existing = self._entries.get(query)
        if existing is not None:
            return existing  # compiled twice at once: keep the first and its plans
        self._entries[query] = entry
        self.bytes += len(query)
        while len(self._entries) > self.size or self.bytes > self.max_bytes:
            evicted, _ = self._entries.popitem(last=False)
            self.bytes -= len(evicted)
        return entry

    def compile(self, query: str) -> CachedDocument:
        """Parse, measure against the budgets (limits.py), then validate; no shared state."""
        if len(query) > MAX_QUERY_LENGTH:
            return CachedDocument(None, [GraphQLError(f"The query is longer than {MAX_QUERY_LENGTH} characters.",
                                                      extensions={"code": "QUERY_TOO_LARGE"})])
        try:
            document = parse(query, max_tokens=5000)
        except GraphQLError as syntax_error:
            syntax_error.extensions = {**(syntax_error.extensions or {}), "code": "GRAPHQL_PARSE_FAILED"}
            return CachedDocument(None, [syntax_error])
        measured = measure(document)
        if measured.errors:
            return CachedDocument(None, measured.errors)
        errors = validate(self.schema, document, list(specified_rules) + list(self.rules or []))
        for error in errors:
            error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED", **(error.extensions or {})}
        if errors:
            return CachedDocument(None, errors)
        return CachedDocument(document, [], _operations(document, measured.node_bounds))
