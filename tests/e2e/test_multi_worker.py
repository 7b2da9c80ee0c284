"""Two worker processes sharing one database: revocation reaches every worker within a second."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import httpx
import pytest

from orderchamp_auth.protocol.tokens import hash_secret
from orderchamp_auth.server.oauth.private_tokens import revoke_private_token
from orderchamp_auth.server.store.database import utcnow

from ..support import LiveServer, World, free_port, make_settings, start_live_server


@pytest.fixture(scope="module")
def two_workers(migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = free_port()
    server = start_live_server(make_settings(migrated_database_url, port), port,
                               str(tmp_path_factory.mktemp("logs2") / "server.log"), workers=2)
    yield server
    server.stop()


CONNECTIONS = 40


def test_revoked_token_is_refused_by_every_worker_within_a_second(two_workers, platform):
    world = World(platform)
    supplier = world.supplier()
    token = world.private_token(supplier.account_id, "account_read")
    query = {"query": "{ account { name } }"}
    headers = {"authorization": f"Bearer {token}"}
    with contextlib.ExitStack() as stack:
        # Many connections, spread over the two processes, each warming its worker's cache. They
        # stay open: after the revocation each asks once more at once, without a new client's
        # set-up (tens of milliseconds each on a loaded machine) between the revocation and the
        # answers it is checked by.
        clients = [stack.enter_context(httpx.Client(base_url=two_workers.base_url, timeout=10))
                   for _ in range(CONNECTIONS)]
        for client in clients:
            assert client.post("/v1/graphql", json=query, headers=headers).status_code == 200
        with platform.database.write() as db:
            token_id = db.tokens.get_active_by_hash(hash_secret(token)).id
            revoke_private_token(db, account_id=supplier.account_id, token_id=token_id, now=utcnow())
        revoked_at = time.monotonic()
        time.sleep(1.2)
        statuses = [client.post("/v1/graphql", json=query, headers=headers).status_code for client in clients]
        answered_within = time.monotonic() - revoked_at
        assert set(statuses) == {401}, statuses
        # Every answer came a second after the revocation or soon after, not whenever.
        assert answered_within < 10, answered_within
        assert clients[0].get("/healthz").status_code == 200
