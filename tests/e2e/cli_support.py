"""Running the real ``orderchamp-auth`` command as a subprocess, and ``serve`` until it says so."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..support import TEST_SECRET_KEY

COMMAND = [sys.executable, "-m", "orderchamp_auth.server.cli"]
SERVE_START_BOUND = 90.0  # seconds, generous: two loaded cores and workers that build the app


def cli_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAMP_")}
    env.update({"DATABASE_URL": database_url, "ORDERCHAMP_SECRET_KEY": TEST_SECRET_KEY, **extra})
    return env


def run(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Exit status 2, nothing on stdout, one ``error:`` line on stderr holding each expected text."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if not line.startswith("WARNING ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@dataclass
class Serving:
    process: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _lines: queue.Queue[tuple[str, str | None]] = field(default_factory=queue.Queue)

    def wait_for(self, prefix: str, bound: float = SERVE_START_BOUND) -> str:
        """The first stdout line starting with ``prefix`` (the server must not exit first)."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            try:
                stream, line = self._lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                continue
            if stream == "stdout" and line.startswith(prefix):
                return line
            if self.process.poll() is not None and self._lines.empty():
                break
        raise AssertionError(f"no {prefix!r} line; stdout={self.stdout} stderr={self.stderr[-20:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # our own session: the server and its workers
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def _pump(serving: Serving, name: str, stream: object, sink: list[str]) -> None:
    for raw in stream:  # type: ignore[attr-defined]
        line = raw.rstrip("\n")
        sink.append(line)
        serving._lines.put((name, line))
    serving._lines.put((name, None))


def serve(env: dict[str, str], *args: str, cwd: Path | None = None) -> contextlib.AbstractContextManager[Serving]:
    return running(env, "serve", *args, cwd=cwd)


@contextmanager
def running(env: dict[str, str], *args: str, cwd: Path | None = None) -> Iterator[Serving]:
    """A long-running command (``serve``, ``worker``) in a session of its own, until the block ends."""
    process = subprocess.Popen([*COMMAND, *args], env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    serving = Serving(process)
    threads = [threading.Thread(target=_pump, args=(serving, "stdout", process.stdout, serving.stdout), daemon=True),
               threading.Thread(target=_pump, args=(serving, "stderr", process.stderr, serving.stderr), daemon=True)]
    for thread in threads:
        thread.start()
    try:
        yield serving
    finally:
        serving.stop()
        for thread in threads:
            thread.join(10)


def fresh_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind the suite runs on (DATABASE_URL), dropped afterwards:
    for a module's ``fresh_database_url`` fixture."""
    from ..conftest import _postgres_database

    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgresql", "postgres")):
        yield from _postgres_database(base)
    else:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
