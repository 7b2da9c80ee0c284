"""The benchmark baseline: a bare graphql-core endpoint on the same stack (Starlette route,
JSON body, cached parse and validation) answering a constant account, with no auth and no
database. Mounted only when ``ORDERCHAMP_BENCH_BASELINE=1``; ``benchmarks/`` compares the real,
bearer-authenticated API against it."""

from __future__ import annotations

import orjson
from graphql import build_schema, execute
from starlette.requests import Request
from starlette.responses import Response

from .schema import DocumentCache

_SDL = """
type Account { name: String! type: String! slug: String! }
type Query { account: Account }
"""
_ACCOUNT = {"name": "Little Champs", "type": "SUPPLIER", "slug": "little-champs"}


class BaselineEndpoint:
    def __init__(self) -> None:
        self.schema = build_schema(_SDL)
        self.documents = DocumentCache(self.schema)

    async def handle(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        document, errors = self.documents.get(body["query"])
        if document is None:
            payload = {"errors": [e.formatted for e in errors]}
        else:
            result = execute(self.schema, document, root_value={"account": _ACCOUNT})
            payload = {"data": result.data}  # type: ignore[union-attr]
        return Response(orjson.dumps(payload), media_type="application/json")
