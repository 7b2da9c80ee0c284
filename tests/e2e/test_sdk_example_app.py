"""``examples/example_app.py``, started with its one command, installed on our platform by the
demo supplier and showing the account's name and products (issue 5: the example app)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from orderchamp_auth.server.demo import DEMO_PASSWORD, SUPPLIER_EMAIL, seed_demo

from ..support import Browser, LiveServer, PartnerApp, World, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "example_app.py"


@dataclass
class RunningApp:
    base_url: str
    registration: PartnerApp
    process: subprocess.Popen[str]


def wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the example app did not start: {process.communicate()[1][-2000:]}") from None
            time.sleep(0.1)


@pytest.fixture
def example_app(live: LiveServer, world: World) -> Iterator[RunningApp]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    registration = world.app(application_url=f"{base}/install", redirect_uris=[f"{base}/callback"])
    env = {**os.environ, "ORDERCHAMP_CLIENT_ID": registration.client_id,
           "ORDERCHAMP_CLIENT_SECRET": registration.client_secret}
    command = [sys.executable, str(EXAMPLE), "--web-url", live.base_url, "--api-url", f"{live.base_url}/v1",
               "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until_up(base, process)
    running = RunningApp(base, registration, process)
    yield running
    process.terminate()
    _, stderr = process.communicate(timeout=10)
    assert registration.client_secret not in stderr
    assert "code=" not in stderr and "oca_" not in stderr


@pytest.fixture
def demo_supplier(settings, platform, browser: Browser):
    demo = seed_demo(settings, platform.database, platform.client_secrets)
    assert browser.login(SUPPLIER_EMAIL, DEMO_PASSWORD).status_code == 303
    return demo


def test_example_app_installs_from_the_back_office_and_shows_the_account(live, example_app, demo_supplier,
                                                                         browser):
    http = browser.http
    assert "Not installed" in http.get(f"{example_app.base_url}/").text

    csrf = browser.csrf("/backoffice/integrations")
    install = http.post(f"/backoffice/integrations/{example_app.registration.client_id}/install",
                        data={"csrf_token": csrf})
    assert install.status_code == 303
    to_authorize = http.get(install.headers["location"])
    assert to_authorize.status_code == 303
    consent = http.get(to_authorize.headers["location"])
    assert consent.status_code == 200
    callback = browser.decide(consent.text, "approve").headers["location"]
    done = http.get(callback)
    assert (done.status_code, done.headers["location"]) == (303, "/")

    home = http.get(f"{example_app.base_url}/")
    assert home.status_code == 200
    assert "Little Champs on Orderchamp" in home.text
    assert f"Account <code>{demo_supplier.account_id}</code>" in home.text
    products = re.findall(r"<li>([^<]+)</li>", home.text.split("id=products", 1)[1].split("</ul>", 1)[0])
    assert len(products) == 10 and "No products yet." not in products

    # The app revokes its own token; the platform no longer accepts it.
    assert http.post(f"{example_app.base_url}/uninstall").status_code == 303
    assert "Not installed" in http.get(f"{example_app.base_url}/").text


def test_example_app_refuses_an_install_start_it_cannot_verify(live, example_app, demo_supplier):
    answer = httpx.get(f"{example_app.base_url}/install?account_id={demo_supplier.account_id}"
                       f"&timestamp={int(time.time())}&signature={'0' * 64}")
    assert answer.status_code == 400 and "Invalid installation link" in answer.text
