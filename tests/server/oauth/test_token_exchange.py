"""The token endpoint's two steps (``prepare_exchange`` before the write, ``exchange_code`` in
it), called directly: the read's verdict on a code is the one the write acts on, a code the
read did not see is still checked, a failed check burns the code as before, and two exchanges
prepared for one code give one token."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from orderchamp_auth.protocol.errors import InvalidClientError, InvalidGrantError
from orderchamp_auth.protocol.pkce import compute_code_challenge, generate_code_verifier
from orderchamp_auth.protocol.tokens import hash_secret
from orderchamp_auth.server.oauth.token_exchange import (
    CodeReplayError,
    IssuedToken,
    TokenRequest,
    exchange_code,
    prepare_exchange,
)
from orderchamp_auth.server.store.database import utcnow
from orderchamp_auth.server.store.models import AuthorizationCode

from ...support import PartnerApp, World, unique

SCOPES = "account_read,products_read"
REDIRECT = "https://app.example.com/callback"


def _code(world: World, app: PartnerApp, challenge: str | None) -> str:
    """A fresh code of the app on a new supplier's account (consent recorded), as the consent
    POST writes it."""
    supplier = world.supplier()
    code, now = unique("occ_code"), utcnow()
    with world.platform.database.write() as db:
        user_id = db.users.get_by_email(supplier.email).id
        db.installations.consent_with_code(
            account_id=supplier.account_id, app_id=app.app_id, scopes=SCOPES, user_id=user_id, now=now,
            code={"code_hash": hash_secret(code), "redirect_uri": REDIRECT, "scope_delimiter": ",",
                  "code_challenge": challenge, "expires_at": now + dt.timedelta(minutes=5)})
    return code


def _request(app: PartnerApp, code: str, verifier: str | None, secret: str | None = None) -> TokenRequest:
    return TokenRequest("authorization_code", code, app.client_id, secret or app.client_secret, REDIRECT, verifier)


def _prepare(world: World, request: TokenRequest):
    with world.platform.database.read() as tx:
        return prepare_exchange(tx, world.platform.client_secrets, request, utcnow())


def _exchange(world: World, request: TokenRequest, prepared) -> IssuedToken | Exception:
    with world.platform.database.write() as tx:
        return exchange_code(tx, request, utcnow(), prepared)


def _used_at(world: World, code: str) -> dt.datetime | None:
    with world.platform.database.read() as tx:
        return tx.session.scalars(select(AuthorizationCode.used_at).where(
            AuthorizationCode.code_hash == hash_secret(code))).one()


def test_the_read_checks_the_code_and_the_write_issues_the_token_it_made(world: World) -> None:
    app, verifier = world.app(), generate_code_verifier()
    code = _code(world, app, compute_code_challenge(verifier))
    request = _request(app, code, verifier)
    prepared = _prepare(world, request)
    assert prepared.code_id is not None and prepared.refusal is None
    assert prepared.token_hash == hash_secret(prepared.token)
    issued = _exchange(world, request, prepared)
    assert isinstance(issued, IssuedToken) and issued.access_token == prepared.token
    with world.platform.database.read() as tx:
        grant = tx.tokens.find_active_grant(prepared.token_hash)
    assert grant is not None and grant.scopes == SCOPES


def test_a_wrong_verifier_found_by_the_read_still_burns_the_code(world: World) -> None:
    app, verifier = world.app(), generate_code_verifier()
    code = _code(world, app, compute_code_challenge(verifier))
    wrong = _request(app, code, generate_code_verifier())
    prepared = _prepare(world, wrong)
    assert isinstance(prepared.refusal, InvalidGrantError)
    refused = _exchange(world, wrong, prepared)
    assert isinstance(refused, InvalidGrantError) and "code_verifier" in refused.description
    assert _used_at(world, code) is not None  # burnt: the claim ran and was committed
    with world.platform.database.read() as tx:
        assert tx.tokens.find_active_grant(prepared.token_hash) is None
    # the right verifier now meets a used code: a replay (which revokes the nothing it issued)
    right = _request(app, code, verifier)
    again = _exchange(world, right, _prepare(world, right))
    assert isinstance(again, CodeReplayError)


@pytest.mark.parametrize("verifier", [None, "wrong"])
def test_a_code_the_read_did_not_see_is_checked_in_the_write(world: World, verifier: str | None) -> None:
    app, right = world.app(), generate_code_verifier()
    code = _code(world, app, compute_code_challenge(right))
    request = _request(app, code, generate_code_verifier() if verifier else None)
    unseen = dataclasses.replace(_prepare(world, request), code_id=None, refusal=None)
    refused = _exchange(world, request, unseen)
    assert isinstance(refused, InvalidGrantError) and "code_verifier" in refused.description
    assert _used_at(world, code) is not None


def test_a_wrong_secret_is_refused_before_the_code_is_touched(world: World) -> None:
    app, verifier = world.app(), generate_code_verifier()
    code = _code(world, app, compute_code_challenge(verifier))
    with pytest.raises(InvalidClientError):
        _prepare(world, _request(app, code, verifier, secret="ocs_wrong"))
    assert _used_at(world, code) is None


def test_another_apps_code_is_not_read_for_the_client(world: World) -> None:
    owner, other = world.app(), world.app()
    code = _code(world, owner, None)
    prepared = _prepare(world, _request(other, code, None))
    assert prepared.code_id is None
    refused = _exchange(world, _request(other, code, None), prepared)
    assert type(refused) is InvalidGrantError
    assert _used_at(world, code) is None


def test_two_exchanges_prepared_for_one_code_give_one_token(world: World) -> None:
    app, verifier = world.app(), generate_code_verifier()
    code = _code(world, app, compute_code_challenge(verifier))
    request = _request(app, code, verifier)
    first, second = _prepare(world, request), _prepare(world, request)
    assert first.token != second.token
    outcomes = [_exchange(world, request, first), _exchange(world, request, second)]
    assert isinstance(outcomes[0], IssuedToken)
    assert isinstance(outcomes[1], CodeReplayError)  # the claim is atomic: the second finds the code used
    with world.platform.database.read() as tx:
        assert tx.tokens.find_active_grant(first.token_hash) is None  # the replay revoked it
        assert tx.tokens.find_active_grant(second.token_hash) is None
