"""Two worker processes sharing one database: revocation reaches every worker within a second."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from ..support import LiveServer, World, free_port, make_settings, start_live_server


@pytest.fixture(scope="module")
def two_workers(migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = free_port()
    server = start_live_server(make_settings(migrated_database_url, port), port,
                               str(tmp_path_factory.mktemp("logs2") / "server.log"), workers=2)
    yield server
    server.stop()


def test_revoked_token_is_refused_by_every_worker_within_a_second(two_workers, platform):
    world = World(platform)
    supplier = world.supplier()
    token = world.private_token(supplier.account_id, "account_read")
    query = {"query": "{ account { name } }"}
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=two_workers.base_url, timeout=10) as client:
        # Warm both workers' caches: many connections spread over the two processes.
        for _ in range(40):
            with httpx.Client(base_url=two_workers.base_url) as fresh:
                assert fresh.post("/v1/graphql", json=query, headers=headers).status_code == 200
        from orderchamp_auth.protocol.tokens import hash_secret
        from orderchamp_auth.server.oauth.private_tokens import revoke_private_token
        from orderchamp_auth.server.store.database import utcnow

        with platform.database.write() as db:
            token_id = db.tokens.get_active_by_hash(hash_secret(token)).id
            revoke_private_token(db, account_id=supplier.account_id, token_id=token_id, now=utcnow())
        revoked_at = time.monotonic()
        time.sleep(1.2)
        statuses = []
        for _ in range(40):
            with httpx.Client(base_url=two_workers.base_url) as fresh:
                statuses.append(fresh.post("/v1/graphql", json=query, headers=headers).status_code)
        assert time.monotonic() - revoked_at < 10
        assert set(statuses) == {401}
        assert client.get("/healthz").status_code == 200
