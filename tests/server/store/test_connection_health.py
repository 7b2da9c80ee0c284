"""A PostgreSQL of our own, restarted and stopped under the running server: no request answers
500; after a restart requests recover; while it is down they answer 503 with Retry-After."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from orderchamp_auth.server.app import build_platform
from orderchamp_auth.server.store.migrate import upgrade_to_head

from ...support import World, free_port, make_settings, start_live_server

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = pytest.mark.skipif(not BINARIES or shutil.which("runuser") is None,
                                reason="needs PostgreSQL's server binaries (initdb, pg_ctl) and runuser")


class Cluster:
    """initdb into a temp dir, on a port of its own, as the postgres user (PostgreSQL refuses root)."""

    def __init__(self) -> None:
        self.bin = BINARIES[-1]
        self.dir = tempfile.mkdtemp(prefix="oc-pg-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self._as_postgres(f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust", "-N")

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-o", options, "-l",
                          f"{self.dir}/log", "-w", "start")

    def stop(self) -> None:
        self._as_postgres(f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    made = Cluster()
    made.start()
    try:
        yield made
    finally:
        made.remove()


class Load:
    """API reads from a few threads, each status counted, until stopped."""

    def __init__(self, base_url: str, token: str, threads: int = 3) -> None:
        self.statuses: Counter[int] = Counter()
        self.retry_after_missing = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(base_url, token)) for _ in range(threads)]

    def _run(self, base_url: str, token: str) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for _ in range(100_000):
                if self._stop.is_set():
                    return
                answer = client.post("/v1/graphql", json={"query": "{ account { name } }"},
                                     headers={"authorization": f"Bearer {token}"})
                with self._lock:
                    self.statuses[answer.status_code] += 1
                    if answer.status_code == 503 and "retry-after" not in answer.headers:
                        self.retry_after_missing += 1

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def _answered(load: Load, at_least: int) -> None:
    """Wait (bounded) until the load has seen ``at_least`` more answers."""
    start = sum(load.statuses.values())
    event = threading.Event()
    for _ in range(600):
        if sum(load.statuses.values()) >= start + at_least:
            return
        event.wait(0.05)
    raise AssertionError(f"the load got no answers: {load.statuses}")


def test_a_restart_under_load_answers_no_500_and_recovers_and_a_stopped_database_answers_503(
    cluster: Cluster, tmp_path
):
    upgrade_to_head(cluster.url)
    port = free_port()
    settings = make_settings(cluster.url, port)
    platform = build_platform(settings)
    try:
        world = World(platform)
        supplier = world.supplier()
        token = world.private_token(supplier.account_id, "account_read")
    finally:
        platform.database.dispose()
    server = start_live_server(settings, port, str(tmp_path / "server.log"))
    try:
        with Load(server.base_url, token) as load:
            _answered(load, 30)
            cluster.stop()
            threading.Event().wait(0.3)  # down for 0.3 s, as in the issue
            cluster.start()
            before = load.statuses[200]
            for _ in range(600):  # bounded: recovered once reads succeed again
                if load.statuses[200] >= before + 30:
                    break
                threading.Event().wait(0.05)
        assert load.statuses[500] == 0, load.statuses
        assert set(load.statuses) <= {200, 503}, load.statuses
        assert load.statuses[200] >= before + 30, load.statuses  # requests recovered
        assert load.retry_after_missing == 0

        cluster.stop()
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            answers = [client.post("/v1/graphql", json={"query": "{ account { name } }"},
                                   headers={"authorization": f"Bearer {token}"}) for _ in range(5)]
            page = client.get("/login")
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "1"
            assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert "psycopg" not in answer.text and "connection" not in answer.text.lower()
        assert page.status_code in (200, 503)  # a page without the database may still render
    finally:
        server.stop()
