"""The install flow's folded statements (PostgreSQL runs each as one statement, SQLite as
several; the answers are the same): the consent's upsert with its code, the exchange's
revocation with its counter bump and insert, the session's user with accounts and partners,
and ``Database.writing_after``."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from orderchamp_auth.protocol.tokens import hash_secret
from orderchamp_auth.server.store.database import utcnow
from orderchamp_auth.server.store.models import AccessToken, AuthorizationCode, TokenKindName

from ...support import World, unique


def _token(installation_id: int, account_id: int, now: dt.datetime) -> dict[str, object]:
    return {"token_hash": hash_secret(unique("token")), "kind": TokenKindName.APP.value, "display_prefix": "oc_",
            "name": "", "account_id": account_id, "installation_id": installation_id,
            "authorization_code_id": None, "created_by_user_id": None, "scopes": "read_products",
            "created_at": now, "last_used_at": None, "revoked_at": None}


def _code(now: dt.datetime) -> dict[str, object]:
    return {"code_hash": hash_secret(unique("code")), "redirect_uri": None, "scope_delimiter": ",",
            "code_challenge": "challenge", "expires_at": now + dt.timedelta(minutes=5)}


def test_consent_records_the_installation_and_its_code_and_lists_the_live_tokens(world: World) -> None:
    supplier, app = world.supplier(), world.app()
    now = utcnow()
    with world.platform.database.write() as db:
        user_id = db.users.get_by_email(supplier.email).id
        first_code = _code(now)
        first = db.installations.consent_with_code(account_id=supplier.account_id, app_id=app.app_id,
                                                   scopes="read_products", user_id=user_id, now=now, code=first_code)
        assert first.live_tokens == ()
        issued = db.tokens.replace_live_of_installation(first.installation_id, now,
                                                        _token(first.installation_id, supplier.account_id, now))
        again = db.installations.consent_with_code(account_id=supplier.account_id, app_id=app.app_id,
                                                   scopes="read_products,read_orders", user_id=user_id, now=now,
                                                   code=_code(now))
        code = db.session.scalar(select(AuthorizationCode).where(
            AuthorizationCode.code_hash == first_code["code_hash"]))
        installation = db.installations.get(first.installation_id)
    assert issued == ((), None)  # nothing was live: no bump
    assert again.installation_id == first.installation_id
    assert [scopes for _, scopes in again.live_tokens] == ["read_products"]
    assert installation is not None and installation.scopes == "read_products,read_orders"
    assert code is not None
    assert (code.installation_id, code.app_id, code.account_id, code.user_id, code.scopes, code.code_challenge,
            code.used_at) == (first.installation_id, app.app_id, supplier.account_id, user_id, "read_products",
                              "challenge", None)


def test_a_new_token_replaces_the_live_ones_and_bumps_the_counter_once_per_token(world: World) -> None:
    supplier, app = world.supplier(), world.app()
    now = utcnow()
    with world.platform.database.write() as db:
        user_id = db.users.get_by_email(supplier.email).id
        installation_id = db.installations.consent_with_code(
            account_id=supplier.account_id, app_id=app.app_id, scopes="read_products", user_id=user_id, now=now,
            code=_code(now)).installation_id
        old = [_token(installation_id, supplier.account_id, now) for _ in range(2)]
        db.tokens.replace_live_of_installation(installation_id, now, old[0])
        db.session.add(AccessToken(**old[1]))  # a second live one, as a race could leave
        db.flush()
    with world.platform.database.write() as db:
        version = db.tokens.revocation_version()
        new = _token(installation_id, supplier.account_id, now)
        replaced = db.tokens.replace_live_of_installation(installation_id, now, new)
    with world.platform.database.read() as db:
        live = db.tokens.live_scopes_of_installation(installation_id)
        live_hashes = {t.token_hash for t in db.tokens.by_hashes([t["token_hash"] for t in [*old, new]]).values()
                       if t.revoked_at is None}
        after = db.tokens.revocation_version()
    hashes, known = replaced
    assert sorted(hashes) == sorted(t["token_hash"] for t in old)
    assert after == version + 2  # the trigger: one bump per token revoked
    # SQLite reads the version back; PostgreSQL's one statement cannot see the trigger's bumps
    assert known == (after if world.platform.database.is_sqlite else None)
    assert len(live) == 1 and live_hashes == {new["token_hash"]}


def test_the_viewer_is_read_with_accounts_and_partners_by_name(world: World) -> None:
    supplier = world.supplier(extra_accounts=2)
    now = utcnow()
    names = [unique("Zeta"), unique("Alpha")]
    viewer_hash, lonely_hash, expired_hash = ("v-" + unique("s"), "l-" + unique("s"), "e-" + unique("s"))
    with world.platform.database.write() as db:
        user = db.users.get_by_email(supplier.email)
        for name in names:
            db.partners.add_member(db.partners.create(name).id, user.id)
        lonely_user = db.users.create(email=f"{unique('lonely')}@example.com", password_hash="x")
        for session_hash, user_id, account_id, expires_at in (
            (viewer_hash, user.id, supplier.account_id, now + dt.timedelta(hours=1)),
            (lonely_hash, lonely_user.id, None, now + dt.timedelta(hours=1)),
            (expired_hash, user.id, None, now - dt.timedelta(seconds=1)),
        ):
            db.sessions.create(session_hash=session_hash, user_id=user_id, account_id=account_id,
                               expires_at=expires_at)
    with world.platform.database.read() as db:
        viewer = db.sessions.find_viewer(viewer_hash, now)
        expected_accounts = db.users.accounts_of(user.id)
        expected_partners = db.partners.partners_of_user(user.id)
        alone = db.sessions.find_viewer(lonely_hash, now)
        expired = db.sessions.find_viewer(expired_hash, now)
    assert viewer is not None
    found_user, accounts, partners = viewer
    assert (found_user.id, found_user.email, found_user.session_account_id) == (user.id, user.email,
                                                                                supplier.account_id)
    assert accounts == expected_accounts and len(accounts) == 3
    assert partners == expected_partners and [p.name for p in partners] == sorted(names)
    assert alone is not None and alone[1:] == ([], [])
    assert expired is None


def test_writing_after_runs_the_write_only_when_the_check_passes(world: World) -> None:
    database = world.platform.database
    supplier = world.supplier()
    seen: list[object] = []

    def check(tx: object) -> str:
        return "checked"

    def refuse(tx: object) -> str:
        raise PermissionError("no")

    def work(tx, checked: str) -> int:  # type: ignore[no-untyped-def]
        seen.append(checked)
        tx.accounts.get(supplier.account_id).name = "Renamed"
        return 7

    async def scenario() -> int:
        with pytest.raises(PermissionError):
            await database.writing_after(refuse, work)
        assert seen == []
        return await database.writing_after(check, work)

    assert asyncio.run(scenario()) == 7
    assert seen == ["checked"]
    with database.read() as db:
        assert db.accounts.get(supplier.account_id).name == "Renamed"
