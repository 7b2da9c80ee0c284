"""Playwright (sync API) driving Debian's chromium against the live server of the e2e tests.

The live server, its platform and the World are the fixtures of ``tests/conftest.py``.
Never a downloaded browser: CI installs Debian's ``chromium`` (``.ci/run``), and a missing
browser is a failure, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser as Chromium
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from .partner_app import PartnerAppServer
from .viewports import DESKTOP, PHONE

CHROMIUM = os.environ.get("ORDERCHAMP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


# Module scope, not session: while Playwright's sync API is running it holds an event loop on
# the main thread, and the async tests that run after the browser tests would find it there.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Chromium]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Debian's chromium is required at {CHROMIUM} (apt-get install chromium)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def person(chromium: Chromium, live) -> Iterator[Callable[..., Page]]:
    """A fresh browser profile per person (their own cookies), on a desktop or a phone viewport."""
    contexts: list[BrowserContext] = []

    def open_page(*, phone: bool = False, confirm: bool = True) -> Page:
        context = chromium.new_context(
            base_url=live.base_url, viewport=PHONE if phone else DESKTOP, is_mobile=phone, has_touch=phone,
            device_scale_factor=2 if phone else 1,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        # Confirmation dialogs (revoke, rotate, uninstall): accepted, or cancelled with confirm=False.
        page.on("dialog", lambda dialog: dialog.accept() if confirm else dialog.dismiss())
        return page

    yield open_page
    for context in contexts:
        context.close()


# Every field a person can fill in needs a label (or an aria-label) that names it.
UNLABELLED_FIELDS = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.name || e.id || e.outerHTML)"""


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Keep a picture of a key page, after checking that every field on it is labelled."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        assert page.evaluate(UNLABELLED_FIELDS) == [], f"unlabelled fields on {name}"
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def partner_app_server(live) -> Iterator[Callable[..., PartnerAppServer]]:
    """Small apps on their own loopback ports, stopped after the test."""
    started: list[PartnerAppServer] = []

    def make() -> PartnerAppServer:
        server = PartnerAppServer(platform_url=live.base_url)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
