"""Signing in, in-process: a password stored with outdated parameters is rehashed."""

from __future__ import annotations

from argon2 import PasswordHasher
from starlette.testclient import TestClient

from orderchamp_auth.server.app import create_app
from orderchamp_auth.server.oauth.passwords import needs_rehash, verify_password

from ...support import PASSWORD, Browser, World, make_settings


def test_a_password_with_outdated_parameters_is_rehashed_at_sign_in(migrated_database_url):
    app = create_app(make_settings(migrated_database_url, 8000))
    platform = app.state.platform
    supplier = World(platform).supplier()
    outdated = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    assert needs_rehash(outdated)
    with platform.database.write() as tx:
        user = tx.users.get_by_email(supplier.email)
        tx.users.set_password_hash(user.id, outdated)
    with TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
        assert Browser("http://127.0.0.1:8000", client).login(supplier.email).status_code == 303
    with platform.database.read() as tx:
        stored = tx.users.get_by_email(supplier.email).password_hash
    assert stored != outdated
    assert not needs_rehash(stored)
    assert verify_password(stored, PASSWORD)
    platform.database.dispose()
