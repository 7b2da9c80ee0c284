"""The GraphiQL page in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import re

from ..support import World
from .conftest import SCREENSHOTS


def test_graphiql_runs_a_query_with_a_pasted_token(live, platform, chromium):
    world = World(platform)
    supplier = world.supplier()
    token = world.private_token(supplier.account_id, "account_read")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(f"{live.base_url}/v1/graphql")
    assert response is not None and response.status == 200
    assert response.headers["x-frame-options"] == "DENY"
    page.wait_for_selector(".graphiql-container", timeout=20_000)
    page.fill("#token", token)
    page.click(".graphiql-execute-button")
    result = page.locator(".result-window")
    result.get_by_text('"slug"').wait_for(timeout=15_000)
    text = result.inner_text()
    assert '"type": "SUPPLIER"' in text
    assert "ACCESS_DENIED" in text  # the default query also asks for products: no products_read
    page.screenshot(path=str(SCREENSHOTS / "graphiql.png"))
    assert errors == []
    page.close()


def test_graphiql_docs_show_the_schema_once_a_token_is_pasted(live, platform, chromium):
    """The page asks for a token before it sends anything (no UNAUTHENTICATED on opening), then
    loads the schema with it: GraphiQL's own introspection query (15 levels deep) passes the limits."""
    world = World(platform)
    token = world.private_token(world.supplier().account_id, "account_read")
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sent: list[tuple[bool, int]] = []  # (is an introspection, status) of every POST to the API
    page.on("response", lambda r: sent.append(("IntrospectionQuery" in (r.request.post_data or ""), r.status))
            if r.request.method == "POST" and r.url.endswith("/v1/graphql") else None)
    page.goto(f"{live.base_url}/v1/graphql")
    page.wait_for_selector(".graphiql-container", timeout=20_000)
    assert page.evaluate("document.activeElement.id") == "token"
    page.fill("#token", token)
    page.get_by_role("button", name=re.compile("Documentation Explorer")).click()
    explorer = page.locator(".graphiql-doc-explorer")
    explorer.get_by_text("Query", exact=True).first.wait_for(timeout=15_000)
    explorer.get_by_text("Query", exact=True).first.click()
    explorer.get_by_text("products", exact=True).first.wait_for(timeout=15_000)
    assert (True, 200) in sent
    assert all(status == 200 for _, status in sent), sent  # nothing went out without the token
    assert errors == []
    page.close()
