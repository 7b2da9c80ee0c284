"""The README's first hour, run as written in a fresh directory: ``serve --demo`` there, the curl
walkthrough in a second shell in the same directory, and the SDK section's step that fetches
the demo app's credentials from the running platform's directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..support import free_port
from .cli_support import serve

README = Path(__file__).resolve().parents[2] / "README.md"


def section(title: str) -> str:
    return README.read_text("utf-8").split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def fresh_env(web_url: str) -> dict[str, str]:
    # As on a newcomer's machine: no settings, so the data lives in the working directory.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAMP_") and k != "DATABASE_URL"}
    # The one difference from the README: a free port instead of 8000.
    env["ORDERCHAMP_WEB_URL"] = web_url
    return env


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A fresh directory where ``.venv/bin/orderchamp-auth`` is this suite's command."""
    directory = tmp_path / "orderchamp-auth"
    (directory / ".venv" / "bin").mkdir(parents=True)
    (directory / ".venv" / "bin" / "orderchamp-auth").symlink_to(Path(sys.executable).parent / "orderchamp-auth")
    return directory


def run_bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_curl_walkthrough_runs_as_written_next_to_serve_demo(checkout: Path):
    port = free_port()
    env = fresh_env(f"http://127.0.0.1:{port}")
    blocks = bash_blocks(section("Walkthrough: the install flow with curl"))
    assert len(blocks) == 7 and "demo --env" in blocks[0]
    with serve(env, "--demo", "--port", str(port), cwd=checkout) as serving:
        serving.wait_for("serving on ")
        assert (checkout / "orderchamp-auth.sqlite3").is_file() and (checkout / "orderchamp-auth.secret").is_file()
        # Each step echoes a marker so the output shows which answer belongs to which step.
        script = "\n".join(f"{block}\necho '--- step {n}'" for n, block in enumerate(blocks))
        result = run_bash(script, checkout, env)
        assert result.returncode == 0, (result.stdout, result.stderr)
        steps = result.stdout.split("--- step ")
        # serve --demo has the rate limits on: the answer carries its cost after the data
        assert '{"data":{"account":{"name":"Little Champs","type":"SUPPLIER","slug":"little-champs"}},' in steps[1]
        assert '"extensions":{"cost":{"requestedQueryCost":1,"actualQueryCost":1,' in steps[1]
        assert steps[2].split("\n", 1)[1].strip() == "303"
        assert re.search(r"http://127\.0\.0\.1:8001/callback\?account_id=\d+&code=occ_\S+&state=xyz&timestamp=\d+"
                         r"&signature=[0-9a-f]{64}", steps[4])
        assert "signature ok" in steps[5]
        assert re.search(r'"access_token":"oca_[^"]+".*"scope":"account_read,products_read"', steps[6])
        # The private token printed by the walkthrough's first command still works afterwards.
        again = run_bash(blocks[0] + blocks[1], checkout, env)
        assert '"name":"Little Champs"' in again.stdout


def test_the_sdk_section_takes_the_app_credentials_from_the_running_platforms_directory(checkout: Path,
                                                                                         tmp_path: Path):
    sdk = section("The SDK")
    [run_step] = [b for b in bash_blocks(sdk) if "uvicorn app:app" in b]
    credentials = run_step.split("\n.venv/bin/uvicorn", 1)[0].replace("/path/to/orderchamp-auth", str(checkout))
    app_dir = tmp_path / "my-orderchamp-app"
    app_dir.mkdir()
    port = free_port()
    env = fresh_env(f"http://127.0.0.1:{port}")
    with serve(env, "--demo", "--port", str(port), cwd=checkout) as serving:
        serving.wait_for("serving on ")
        printed = {name.strip(): value.strip() for name, _, value in (line.partition(":") for line in serving.stdout)}
        result = run_bash(credentials + '\necho "$ORDERCHAMP_CLIENT_ID $ORDERCHAMP_CLIENT_SECRET"', app_dir, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [printed["client_id"], printed["client_secret"]]
    assert not (app_dir / "orderchamp-auth.sqlite3").exists() and not (app_dir / "orderchamp-auth.secret").exists()
