"""The GraphiQL page in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from ..support import World

CHROMIUM = os.environ.get("ORDERCHAMP_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_graphiql_runs_a_query_with_a_pasted_token(live, platform, chromium):
    world = World(platform)
    supplier = world.supplier()
    token = world.private_token(supplier.account_id, "account_read")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
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
    page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
    assert errors == []
    page.close()
