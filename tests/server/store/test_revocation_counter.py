"""The revocation counter is the database's: every write that revokes a token, or deletes a
live one, bumps it by one per token (a trigger, migration 0010), whoever writes it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.protocol.tokens import TokenKind, display_prefix, generate_secret, hash_secret
from orderchamp_auth.server.admin import create_account
from orderchamp_auth.server.keys import SecretBox
from orderchamp_auth.server.oauth.apps import create_app
from orderchamp_auth.server.oauth.bearer import BearerAuthenticator
from orderchamp_auth.server.oauth.clients import ClientSecrets
from orderchamp_auth.server.oauth.private_tokens import create_private_token, revoke_private_token
from orderchamp_auth.server.oauth.revocation import uninstall
from orderchamp_auth.server.store.database import Database, utcnow
from orderchamp_auth.server.store.models import AccessToken, TokenKindName

from ...support import TEST_SECRET_KEY, unique


@pytest.fixture
def database(migrated_database_url: str):
    db = Database(migrated_database_url)
    yield db
    db.dispose()


def version(database: Database) -> int:
    with database.read() as tx:
        return tx.tokens.revocation_version()


def private_token(database: Database, account_id: int | None = None) -> tuple[int, int, str]:
    with database.write() as tx:
        if account_id is None:
            account_id = create_account(tx, name="Counter Shop").id
        token, value, _ = create_private_token(tx, SecretBox((TEST_SECRET_KEY,)), account_id=account_id, name="t",
                                               scopes=ScopeSet.parse("account_read"), user_id=None, now=utcnow())
        return account_id, token.id, value


def installation(database: Database) -> tuple[int, int]:
    """``(account id, installation id)`` of a verified app installed on a new account."""
    with database.write() as tx:
        account = create_account(tx, name="Counter Supplier")
        partner = tx.partners.create(unique("Counter Partner"))
        app, _ = create_app(tx, ClientSecrets(SecretBox((TEST_SECRET_KEY,))), partner_id=partner.id,
                            name="Counter App", application_url="https://counter.example/install",
                            redirect_uris=["https://counter.example/callback"], verified=True)
        installation_id = tx.installations.upsert_for_consent(account_id=account.id, app_id=app.id,
                                                              scopes="account_read", user_id=None, now=utcnow())
        return account.id, installation_id


def app_token_values(account_id: int, installation_id: int) -> tuple[dict[str, object], str]:
    value = generate_secret(TokenKind.APP_TOKEN)
    return {"token_hash": hash_secret(value), "kind": TokenKindName.APP.value, "display_prefix": display_prefix(value),
            "name": "", "account_id": account_id, "installation_id": installation_id,
            "authorization_code_id": None, "created_by_user_id": None, "scopes": "account_read",
            "created_at": utcnow(), "last_used_at": None, "revoked_at": None}, value


def two_live_app_tokens(database: Database) -> tuple[int, int, list[str]]:
    """``(account id, installation id, token values)``: two live tokens of one installation,
    as before an installation had one (the exchange revokes both)."""
    account_id, installation_id = installation(database)
    values = []
    with database.write() as tx:
        for _ in range(2):
            row, value = app_token_values(account_id, installation_id)
            tx.tokens.insert_app_token(row)
            values.append(value)
    return account_id, installation_id, values


def test_revoking_a_private_token_in_the_back_office_bumps_once_and_again_not_at_all(database):
    account_id, token_id, _ = private_token(database)
    before = version(database)
    with database.write() as tx:
        revoke_private_token(tx, account_id=account_id, token_id=token_id, now=utcnow())
    assert version(database) == before + 1
    with database.write() as tx:  # already revoked: nothing changes, nothing to drop
        assert tx.tokens.revoke(token_id, utcnow()) == 0
    assert version(database) == before + 1


def test_every_revoking_method_bumps_once_per_token(database):
    account_id, first, _ = private_token(database)
    _, second, _ = private_token(database, account_id)
    before = version(database)
    with database.write() as tx:
        assert tx.tokens.revoke_ids([first, second], utcnow()) == 2
    assert version(database) == before + 2


def test_an_uninstall_bumps_for_each_live_token_of_the_installation(database):
    _, installation_id, _ = two_live_app_tokens(database)
    before = version(database)
    with database.write() as tx:
        assert uninstall(tx, tx.installations.get(installation_id), utcnow()) == 2
    assert version(database) == before + 2


def test_a_write_from_outside_the_server_bumps_too(database, migrated_database_url):
    """An operator's script or another process (the command line) writes with its own
    connection: the database bumps the counter all the same."""
    _, token_id, _ = private_token(database)
    _, deleted_id, _ = private_token(database)
    before = version(database)
    engine = create_engine(database.url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE access_tokens SET revoked_at = created_at WHERE id = :id"), {"id": token_id})
        assert version(database) == before + 1
        with engine.begin() as conn:  # a live token deleted (as a cascade from its account would)
            conn.execute(text("DELETE FROM access_tokens WHERE id = :id"), {"id": deleted_id})
        assert version(database) == before + 2
        with engine.begin() as conn:  # a revoked one deleted, or edited: nothing to drop
            conn.execute(text("UPDATE access_tokens SET name = 'x' WHERE id = :id"), {"id": token_id})
            conn.execute(text("DELETE FROM access_tokens WHERE id = :id"), {"id": token_id})
        assert version(database) == before + 2
    finally:
        engine.dispose()


def test_an_orm_change_of_revoked_at_bumps(database):
    _, token_id, _ = private_token(database)
    before = version(database)
    with database.write() as tx:
        token = tx.session.get(AccessToken, token_id)
        assert token is not None
        token.revoked_at = utcnow()
    assert version(database) == before + 1


def test_the_token_endpoints_write_reads_back_the_version_its_revocation_left(database):
    """The exchange's revocation and insert: on SQLite the counter is read back with this
    transaction's bumps in it, which ``forget`` then trusts not to refresh; with nothing
    revoked there is no version to read (and none is read)."""
    if not database.is_sqlite:
        pytest.skip("PostgreSQL's one statement cannot see the trigger's bumps: no version (test_flow_statements)")
    account_id, installation_id, values = two_live_app_tokens(database)
    hashes = [hash_secret(value) for value in values]
    before = version(database)
    with database.write() as tx:
        revoked, returned = tx.tokens.replace_live_of_installation(
            installation_id, utcnow(), app_token_values(account_id, installation_id)[0])
    assert sorted(revoked) == sorted(hashes)
    assert returned == version(database) == before + 2
    with database.write() as tx:  # nothing live but the new token: one bump
        revoked, returned = tx.tokens.replace_live_of_installation(
            installation_id, utcnow(), app_token_values(account_id, installation_id)[0])
        assert len(revoked) == 1 and returned == before + 3
    other_account, other_installation = installation(database)
    with database.write() as tx:  # an installation's first token revokes nothing
        assert tx.tokens.replace_live_of_installation(
            other_installation, utcnow(), app_token_values(other_account, other_installation)[0]) == ((), None)
    assert version(database) == before + 3


def test_forgetting_several_tokens_revoked_at_once_keeps_the_rest_of_the_cache(database):
    account_id, installation_id, values = two_live_app_tokens(database)
    _, _, kept = private_token(database)
    auth = BearerAuthenticator(check_interval=60.0)
    for value in [*values, kept]:
        with database.read() as tx:
            assert auth.lookup(tx, value) is not None
    with database.write() as tx:
        revoked = tx.tokens.revoke_live_of_installation(installation_id, utcnow())
        tx.tokens.insert_app_token(app_token_values(account_id, installation_id)[0])
        after = tx.tokens.revocation_version()
    auth.forget(revoked, after)
    assert all(auth.cached(value) is None for value in values)
    assert auth.cached(kept) is not None  # two bumps, both this worker's: no refresh due


def test_on_postgresql_revocations_on_two_connections_do_not_wait_for_each_others_commit(database):
    """Each connection bumps its own slot of the counter (migration 0011): a revocation does
    not queue behind another connection's uncommitted one, and the sum counts both."""
    if database.is_sqlite:
        pytest.skip("SQLite serialises its writers: its counter is one row")
    _, first_id, _ = private_token(database)
    _, second_id, _ = private_token(database)
    before = version(database)
    engine = create_engine(database.url, pool_size=8, max_overflow=0)
    revoke = text("UPDATE access_tokens SET revoked_at = created_at WHERE id = :id")
    try:
        with engine.connect() as holding:
            holding.execute(revoke, {"id": first_id})  # uncommitted: its slot's row stays locked
            slot = holding.execute(text("SELECT pg_backend_pid() % 64")).scalar()
            # Another connection, of another slot (one of a few differs, whatever their pids).
            others = [engine.connect() for _ in range(4)]
            try:
                other = next(conn for conn in others
                             if conn.execute(text("SELECT pg_backend_pid() % 64")).scalar() != slot)
                other.rollback()
                other.execute(text("SET LOCAL lock_timeout = '1s'"))
                other.execute(revoke, {"id": second_id})  # a lock wait would raise LockNotAvailable
                other.commit()
                assert version(database) == before + 1
            finally:
                for conn in others:
                    conn.close()
            holding.commit()
        assert version(database) == before + 2
    finally:
        engine.dispose()



def test_a_minute_of_uses_naming_more_tokens_than_a_statement_may_bind_is_written(database):
    """``touch_last_used`` with 70,000 ids: past PostgreSQL's bound on a statement's
    parameters (65,535; SQLite's depends on how it was built, 32,766 by default)."""
    _, token_id, _ = private_token(database)
    at = utcnow().replace(microsecond=0)
    with database.write() as tx:
        tx.tokens.touch_last_used([*range(10**9, 10**9 + 69_999), token_id], at)
    with database.read() as tx:
        assert tx.session.get(AccessToken, token_id).last_used_at == at
