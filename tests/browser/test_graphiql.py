"""The GraphiQL page in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

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
