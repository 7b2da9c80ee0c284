"""The README's SDK walkthrough: its ``app.py``, copied verbatim, run under uvicorn and installed
from the back office by the demo supplier against the live platform."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from orderchamp_auth.server.demo import DEMO_PASSWORD, SUPPLIER_EMAIL, seed_demo

from ..support import Browser, free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_app() -> str:
    section = README.read_text("utf-8").split("## The SDK\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    [app] = [b for b in blocks if "app = Starlette(" in b]
    return app


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(readme_app(), "utf-8")
    return tmp_path


def test_readme_app_installs_and_shows_the_demo_account(live, world, settings, platform, app_dir, browser: Browser):
    seed_demo(settings, platform.database, platform.client_secrets)
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    registration = world.app(application_url=f"{app_url}/install", redirect_uris=[f"{app_url}/callback"])
    env = {**os.environ, "ORDERCHAMP_CLIENT_ID": registration.client_id,
           "ORDERCHAMP_CLIENT_SECRET": registration.client_secret, "ORDERCHAMP_WEB_URL": live.base_url,
           "APP_URL": app_url}
    command = [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(app_url, timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
                time.sleep(0.1)
        http = browser.http
        assert "Not installed yet" in http.get(f"{app_url}/").text

        assert browser.login(SUPPLIER_EMAIL, DEMO_PASSWORD).status_code == 303
        csrf = browser.csrf("/backoffice/integrations")
        install = http.post(f"/backoffice/integrations/{registration.client_id}/install", data={"csrf_token": csrf})
        authorize = http.get(install.headers["location"])
        consent = http.get(authorize.headers["location"])
        callback = browser.decide(consent.text, "approve").headers["location"]
        assert http.get(callback).headers["location"] == "/"

        home = http.get(f"{app_url}/").text
        assert "<h1>Hello, Little Champs</h1>" in home
        assert home.count("<li>") == 5
        assert (app_dir / "tokens.db").exists()

        csrf = browser.csrf("/backoffice/integrations")
        assert http.post(f"/backoffice/apps/{registration.client_id}/uninstall",
                         data={"csrf_token": csrf}).status_code == 303
        assert "The app was uninstalled" in http.get(f"{app_url}/").text
        assert "Not installed yet" in http.get(f"{app_url}/").text
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "code=" not in stderr and registration.client_secret not in stderr
