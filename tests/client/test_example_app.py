"""The example app, installed against the stand-in platform over real HTTP on loopback."""

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "example_app.py"


def load_example():
    if "example_app" not in sys.modules:
        spec = importlib.util.spec_from_file_location("example_app", EXAMPLE)
        module = importlib.util.module_from_spec(spec)
        sys.modules["example_app"] = module
        spec.loader.exec_module(module)
    return sys.modules["example_app"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_settings_come_from_arguments_or_the_environment_and_hide_the_secret():
    example = load_example()
    env = {
        "ORDERCHAMP_CLIENT_ID": "cid",
        "ORDERCHAMP_CLIENT_SECRET": "ocs_env-secret",
        "EXAMPLE_APP_PORT": "9001",
    }
    settings = example.parse_settings([], env)
    assert (settings.client_id, settings.port, settings.callback_url) == (
        "cid",
        9001,
        "http://127.0.0.1:9001/callback",
    )
    settings = example.parse_settings(["--client-secret", "ocs_arg", "--web-url", "http://x"], env)
    assert (settings.client_secret, settings.web_url) == ("ocs_arg", "http://x")
    assert "ocs_arg" not in repr(settings)
    with pytest.raises(SystemExit):
        example.parse_settings([], {})


async def test_the_example_app_installs_and_shows_the_account_and_its_products(loopback_platform):
    platform, web_url = loopback_platform
    platform.redirect_uris = ("http://app.test/callback",)
    example = load_example()
    settings = example.Settings(
        client_id=platform.client_id,
        client_secret=platform.client_secret,
        web_url=web_url,
        api_url=f"{web_url}/v1",
        app_url="http://app.test",
    )
    app = example.create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app.test") as browser,
        httpx.AsyncClient() as to_platform,
    ):
        assert "Not installed" in (await browser.get("/")).text
        start = await browser.get(platform.install_start_url("http://app.test/install"))
        callback = (await to_platform.get(start.headers["location"])).headers["location"]
        done = await browser.get(callback)
        assert (done.status_code, done.headers["location"]) == (303, "/")
        home = await browser.get("/")
        assert "Little Champs on Orderchamp" in home.text
        assert home.text.count("<li>Product ") == 10
        assert (await browser.post("/uninstall")).status_code == 303
        assert "Not installed" in (await browser.get("/")).text
    assert platform.revoked


def test_the_example_app_runs_with_one_command_under_uvicorn(loopback_platform):
    platform, web_url = loopback_platform
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    platform.redirect_uris = (f"{app_url}/callback",)
    env = {**os.environ, "ORDERCHAMP_CLIENT_SECRET": platform.client_secret}
    command = [
        sys.executable,
        str(EXAMPLE),
        "--client-id",
        platform.client_id,
        "--web-url",
        web_url,
        "--api-url",
        f"{web_url}/v1",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with httpx.Client(base_url=app_url) as browser:
            deadline = time.monotonic() + 20
            while True:
                try:
                    browser.get("/")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, (
                        "the example app did not start"
                    )
                    time.sleep(0.1)
            start = browser.get(platform.install_start_url(f"{app_url}/install"))
            callback = httpx.get(start.headers["location"]).headers["location"]
            assert browser.get(callback).status_code == 303
            home = browser.get("/")
            assert "Little Champs on Orderchamp" in home.text and "Product 1<" in home.text
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    assert platform.client_secret not in stderr
    assert "code=" not in stderr
