"""Make the README's screenshots from the demo data.

Starts ``orderchamp-auth serve --demo`` in a temporary directory on a free port, signs in as
the demo supplier in Debian's chromium (never a downloaded browser) and captures the demo
app's consent page and the integrations overview into this directory.

    .venv/bin/python docs/screenshots/make_screenshots.py

Needs the dev extra (Playwright) and ``/usr/bin/chromium`` (``ORDERCHAMP_CHROMIUM`` names another).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from playwright.sync_api import expect, sync_playwright

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("ORDERCHAMP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 860}  # the browser tests' desktop
START_BOUND = 90.0  # seconds for serve to answer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_credentials(directory: Path, env: dict[str, str]) -> dict:
    command = [sys.executable, "-m", "orderchamp_auth.server.cli", "demo", "--json"]
    out = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def wait_until_served(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_BOUND
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serve exited with status {process.returncode}")
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"serve did not answer within {START_BOUND:.0f} s")


def capture(web_url: str, demo: dict) -> None:
    if not Path(CHROMIUM).is_file():
        raise SystemExit(f"Debian's chromium is required at {CHROMIUM} (apt-get install chromium)")
    supplier = demo["users"]["supplier"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=web_url, viewport=VIEWPORT).new_page()
            page.goto("/login")
            page.get_by_label("Email").fill(supplier["email"])
            page.get_by_label("Password").fill(supplier["password"])
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()

            page.goto("/backoffice/integrations")
            expect(page.locator(".app-card", has_text="Demo App")).to_be_visible()
            page.screenshot(path=str(HERE / "integrations.png"), full_page=True)

            # What the demo app's install link leads to: its consent page.
            query = urlencode({"response_type": "code", "client_id": demo["client_id"],
                               "scope": "account_read,products_read",  # what the README's app.py asks
                               "redirect_uri": demo["redirect_urls"][0], "state": "screenshot"})
            page.goto(f"/oauth/authorize?{query}")
            expect(page.get_by_role("heading", name="Connect Demo App")).to_be_visible()
            page.screenshot(path=str(HERE / "consent.png"), full_page=True)
        finally:
            browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="orderchamp-screenshots-") as tmp:
        directory = Path(tmp)
        port = free_port()
        web_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAMP_") and k != "DATABASE_URL"}
        env["ORDERCHAMP_WEB_URL"] = web_url
        serve = subprocess.Popen(
            [sys.executable, "-m", "orderchamp_auth.server.cli", "serve", "--demo", "--port", str(port),
             "--no-access-log"],
            cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            wait_until_served(web_url, serve)
            capture(web_url, demo_credentials(directory, env))
        finally:
            os.killpg(serve.pid, signal.SIGTERM)
            serve.wait(30)
    print(f"wrote {HERE / 'consent.png'} and {HERE / 'integrations.png'}")


if __name__ == "__main__":
    main()
