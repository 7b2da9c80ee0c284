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
    build_schema,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ValidationRule

from .guard import apply_scope_guards
from .limits import MAX_QUERY_LENGTH, depth_limit_rule, node_limit_rule, uses_variable_page_sizes
from .mutations import bind_mutations
from .resolvers import bind_resolvers

SDL = Path(__file__).with_name("schema.graphql")


def build_api_schema() -> GraphQLSchema:
    schema = build_schema(SDL.read_text("utf-8"))
    bind_resolvers(schema)
    bind_mutations(schema)
    apply_scope_guards(schema)
    return schema


@dataclass
class CachedDocument:
    document: DocumentNode | None
    errors: list[GraphQLError]
    # page sizes come from variables: the node bound is checked per request (limits.py)
    variable_paged: bool = False
    # compiled plans (or None: graphql-core's path) by (operation name, scopes); see compiled.py
    plans: dict[tuple[str | None, str], Any] = field(default_factory=dict)


class DocumentCache:
    """Parse and validation results per query text (bounded, least recently used out)."""

    def __init__(self, schema: GraphQLSchema, *, size: int = 1000, rules: list[type[ValidationRule]] | None = None):
        self.schema = schema
        self.size = size
        self.rules = rules
        self._entries: OrderedDict[str, CachedDocument] = OrderedDict()

    def get(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        entry = self.entry(query)
        return entry.document, entry.errors

    def entry(self, query: str) -> CachedDocument:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            return entry
        document, errors = self._compile(query)
        entry = CachedDocument(document, errors, document is not None and uses_variable_page_sizes(document))
        self._entries[query] = entry
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def _compile(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        if len(query) > MAX_QUERY_LENGTH:
            return None, [GraphQLError(f"The query is longer than {MAX_QUERY_LENGTH} characters.",
                                       extensions={"code": "QUERY_TOO_LARGE"})]
        try:
            document = parse(query, max_tokens=5000)
        except GraphQLError as error:
            error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_PARSE_FAILED"}
            return None, [error]
        rules = list(specified_rules) + [depth_limit_rule(), node_limit_rule()] + list(self.rules or [])
        errors = validate(self.schema, document, rules)
        for error in errors:
            error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED", **(error.extensions or {})}
        if errors:
            return None, errors
        return document, []
