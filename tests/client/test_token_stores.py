"""Token stores: one installation per account, kept usable, replaced on reinstall."""

import os
import stat

import pytest

from orderchamp_auth.client import AccessToken, InMemoryTokenStore, Installation, ScopeSet, SQLiteTokenStore


def installation(
    account_id: str = "1042", token: str = "oca_one", scopes: str = "account_read"
) -> Installation:
    return Installation(
        account_id=account_id, access_token=token, scopes=ScopeSet.parse(scopes), installed_at=5.0
    )


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryTokenStore()
    else:
        sqlite_store = SQLiteTokenStore(tmp_path / "tokens.db")
        yield sqlite_store
        sqlite_store.close()


def test_a_saved_installation_comes_back_with_its_token_and_scopes(store):
    store.save(installation(scopes="products_write,account_read"))
    found = store.get("1042")
    assert found == installation(scopes="products_write,account_read")
    assert found.access_token == "oca_one"
    assert store.get("999") is None


def test_a_reinstall_replaces_the_token(store):
    store.save(installation(token="oca_one"))
    store.save(installation(token="oca_two", scopes="account_read,orders_read"))
    assert store.get("1042").access_token == "oca_two"
    assert store.get("1042").scopes.to_string() == "account_read,orders_read"


def test_deleting_an_installation_forgets_it(store):
    store.save(installation())
    store.delete("1042")
    store.delete("1042")
    assert store.get("1042") is None


def test_the_sqlite_store_persists_across_connections_in_an_owner_only_file(tmp_path):
    path = tmp_path / "tokens.db"
    first = SQLiteTokenStore(path)
    first.save(installation())
    first.close()
    second = SQLiteTokenStore(str(path))
    assert second.get("1042").access_token == "oca_one"
    second.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_an_installation_is_built_from_a_token_and_hides_it_in_repr():
    token = AccessToken("oca_secret_value", ScopeSet.parse("account_read"), "1042")
    made = Installation.from_token(token, account_id="1042", installed_at=1.0)
    assert made.access_token == "oca_secret_value"
    assert "oca_secret_value" not in repr(made)
