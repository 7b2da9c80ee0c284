"""The benchmark baseline: a bare graphql-core endpoint on the same stack (Starlette route,
JSON body, cached parse and validation) answering a constant account, with no auth and no
database. ``profile_api.py`` mounts it in process; for ``bench.py --baseline-path``, serve the
app with it mounted at ``/bench/graphql-baseline``:

    ORDERCHAMP_DATA_DIR=... uvicorn --factory graphql_baseline:app_with_baseline --app-dir benchmarks
"""

from __future__ import annotations

import orjson
from graphql import build_schema, execute
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderchamp_auth.server.api.schema import DocumentCache
from orderchamp_auth.server.app import create_app

PATH = "/bench/graphql-baseline"

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


def mount_baseline(app: Starlette) -> Starlette:
    """``app`` with the baseline at ``PATH`` (before its own routes)."""
    app.router.routes.insert(0, Route(PATH, BaselineEndpoint().handle, methods=["POST"]))
    return app


def app_with_baseline() -> Starlette:
    """The real app (settings from the environment) with the baseline mounted."""
    return mount_baseline(create_app())
