"""Grants that must not outlive what the user sees (issue 9), over real HTTP.

One live app token per installation; a re-consent, an unlinked demo account or an expired
previous secret takes effect at once; sign-in throttling holds under concurrency; cross-site
form posts are refused.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import update

from orderchamp_auth.protocol.errors import InvalidGrantError
from orderchamp_auth.protocol.tokens import hash_secret
from orderchamp_auth.server.oauth.revocation import uninstall
from orderchamp_auth.server.oauth.token_exchange import (
    IssuedToken,
    TokenRequest,
    exchange_code,
    prepare_exchange,
)
from orderchamp_auth.server.store.database import utcnow
from orderchamp_auth.server.store.models import Installation

from ..support import (
    Browser,
    LiveServer,
    PartnerApp,
    World,
    form_fields,
    free_port,
    make_settings,
    start_live_server,
    unique,
)
from .partner_support import app_of, partner_member, post_button, signed_in, support_user
from .test_install_flow import approve, exchange, graphql

WIDE, NARROW = "account_read,products_read", "account_read"


def _grant(platform, app: PartnerApp, account_id: int) -> tuple[str, list[str]]:
    """What the back office shows (the installation's scopes) and the scopes of its live tokens."""
    with platform.database.read() as db:
        installation = db.installations.get_for(account_id, app.app_id)
        assert installation is not None
        return installation.scopes, [s for _, s in db.tokens.live_scopes_of_installation(installation.id)]


def _token(base_url: str, app: PartnerApp, code: str) -> str:
    response = exchange(base_url, app, code)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def shop(world: World, new_browser):
    supplier = world.supplier()
    return supplier, signed_in(new_browser, supplier.email)


# One live token per installation ----------------------------------------------------------------


def test_reconsent_with_fewer_scopes_revokes_the_wider_token_at_once(live, world, platform, shop):
    supplier, browser = shop
    app = world.app()
    wide = _token(live.base_url, app, approve(browser, app, scope=WIDE)["code"])
    assert graphql(live.base_url, wide).status_code == 200
    code = approve(browser, app, scope=NARROW)["code"]
    # Before the app even exchanges the new code, the wider token no longer works.
    assert graphql(live.base_url, wide).status_code == 401
    assert _grant(platform, app, supplier.account_id) == (NARROW, [])
    narrow = _token(live.base_url, app, code)
    assert _grant(platform, app, supplier.account_id) == (NARROW, [NARROW])
    denied = graphql(live.base_url, narrow, "{ products(first: 1) { edges { node { id } } } }").json()
    assert denied["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


def test_issuing_a_token_revokes_the_earlier_token_of_the_installation(live, world, platform, shop):
    supplier, browser = shop
    app = world.app()
    first = _token(live.base_url, app, approve(browser, app, scope=WIDE)["code"])
    # A re-consent with more scopes leaves the old token working until the new code is exchanged.
    code = approve(browser, app, scope=WIDE + ",orders_read")["code"]
    assert graphql(live.base_url, first).status_code == 200
    second = _token(live.base_url, app, code)
    assert graphql(live.base_url, first).status_code == 401
    assert graphql(live.base_url, second).status_code == 200
    assert _grant(platform, app, supplier.account_id) == (WIDE + ",orders_read", [WIDE + ",orders_read"])


def test_an_older_code_with_wider_scopes_cannot_be_exchanged_after_a_narrower_reconsent(live, world, shop):
    _, browser = shop
    app = world.app()
    older = approve(browser, app, scope=WIDE)["code"]
    narrow = _token(live.base_url, app, approve(browser, app, scope=NARROW)["code"])
    refused = exchange(live.base_url, app, older)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert graphql(live.base_url, narrow).status_code == 200  # the refused code changed nothing


def test_an_older_code_of_the_same_grant_replaces_the_newer_token(live, world, platform, shop):
    """The documented rule: every code of the current grant may be exchanged once, and the
    token issued last is the installation's one live token."""
    supplier, browser = shop
    app = world.app()
    older = approve(browser, app, scope=WIDE)["code"]
    newer = _token(live.base_url, app, approve(browser, app, scope=WIDE)["code"])
    last = _token(live.base_url, app, older)
    assert graphql(live.base_url, newer).status_code == 401
    assert graphql(live.base_url, last).status_code == 200
    assert _grant(platform, app, supplier.account_id) == (WIDE, [WIDE])


def test_concurrent_exchanges_for_one_installation_leave_exactly_one_live_token(live, world, platform, shop):
    supplier, browser = shop
    app = world.app()
    codes = [approve(browser, app, scope=WIDE)["code"] for _ in range(8)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda code: exchange(live.base_url, app, code), codes))
    assert [a.status_code for a in answers] == [200] * 8
    assert _grant(platform, app, supplier.account_id) == (WIDE, [WIDE])
    working = [a for a in answers if graphql(live.base_url, a.json()["access_token"]).status_code == 200]
    assert len(working) == 1


def _exchange_in_a_write(database, request: TokenRequest, prepared) -> object:
    with database.write() as tx:
        return exchange_code(tx, request, utcnow(), prepared)


def _exchange_during(platform, app: PartnerApp, code: str, change) -> object:
    """Exchange ``code`` in another thread while a transaction that ran ``change(db)`` is still
    open; the exchange must wait for it (it is ordered after it), then see what it wrote."""
    request = TokenRequest("authorization_code", code, app.client_id, app.client_secret, None, None)
    with platform.database.read() as tx:
        prepared = prepare_exchange(tx, platform.client_secrets, request, utcnow())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with platform.database.write() as db:
            change(db)
            pending = pool.submit(_exchange_in_a_write, platform.database, request, prepared)
            concurrent.futures.wait([pending], timeout=0.5)
            assert not pending.done(), "the exchange did not wait for the open transaction"
        return pending.result(timeout=30)


def test_an_exchange_waits_for_a_rival_issuance_and_revokes_its_token(live, world, platform, shop):
    supplier, browser = shop
    app = world.app()
    code = approve(browser, app, scope=WIDE)["code"]

    def issue_rival(db) -> None:
        installation = db.installations.get_for(supplier.account_id, app.app_id)
        # Lock the installation's row, as an exchange does (on SQLite the write lock is held anyway).
        db.session.execute(update(Installation).where(Installation.id == installation.id).values(scopes=WIDE))
        db.tokens.create(token_hash=hash_secret(unique("rival")), kind="app", display_prefix="ocat_rival",
                                   name="", account_id=supplier.account_id, installation_id=installation.id,
                                   scopes=WIDE)

    issued = _exchange_during(platform, app, code, issue_rival)
    assert isinstance(issued, IssuedToken) and issued.replaced == 1
    assert _grant(platform, app, supplier.account_id) == (WIDE, [WIDE])


def test_an_exchange_racing_an_uninstall_issues_nothing(live, world, platform, shop):
    supplier, browser = shop
    app = world.app()
    code = approve(browser, app, scope=WIDE)["code"]

    def uninstall_now(db) -> None:
        uninstall(db, db.installations.get_for(supplier.account_id, app.app_id), utcnow())

    outcome = _exchange_during(platform, app, code, uninstall_now)
    assert isinstance(outcome, InvalidGrantError)
    with platform.database.read() as db:
        installation = db.installations.get_for(supplier.account_id, app.app_id)
        assert db.tokens.live_scopes_of_installation(installation.id) == []


@pytest.fixture(scope="module")
def two_workers(migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = free_port()
    server = start_live_server(make_settings(migrated_database_url, port), port,
                               str(tmp_path_factory.mktemp("grants-logs") / "server.log"), workers=2)
    yield server
    server.stop()


def test_a_replaced_token_is_refused_by_every_worker_within_a_second(two_workers, world):
    supplier, app = world.supplier(), world.app()
    browser = Browser(two_workers.base_url)
    try:
        assert browser.login(supplier.email).status_code == 303
        old = _token(two_workers.base_url, app, approve(browser, app, scope=WIDE)["code"])
        code = approve(browser, app, scope=WIDE)["code"]
    finally:
        browser.close()

    def status(token: str) -> int:
        with httpx.Client(base_url=two_workers.base_url) as fresh:  # a new connection: either worker
            return fresh.post("/v1/graphql", json={"query": "{ account { name } }"},
                              headers={"authorization": f"Bearer {token}"}).status_code

    assert {status(old) for _ in range(40)} == {200}  # both workers have it cached
    new = _token(two_workers.base_url, app, code)
    time.sleep(1.2)  # the workers' revocation check interval is one second
    assert {status(old) for _ in range(40)} == {401}
    assert {status(new) for _ in range(10)} == {200}


# Unlinking a demo account -------------------------------------------------------------------------


def test_unlinking_a_demo_account_uninstalls_the_partners_draft_apps_there(live, world, platform, new_browser):
    member = partner_member(world)
    draft = app_of(world, member.partner_id)
    verified = app_of(world, member.partner_id, verified=True)
    demo = signed_in(new_browser, member.email)
    draft_token = _token(live.base_url, draft, approve(demo, draft, scope=NARROW)["code"])
    outstanding = approve(demo, draft, scope=NARROW)["code"]
    verified_token = _token(live.base_url, verified, approve(demo, verified, scope=NARROW)["code"])
    assert graphql(live.base_url, draft_token).status_code == 200

    staff = signed_in(new_browser, support_user(world))
    path = f"/support/partners/{member.partner_id}"
    answer = post_button(staff, path, f"{path}/demo-accounts/{member.demo_account_id}/unlink")
    assert answer.status_code == 303
    assert "uninstalled there" in staff.http.get(answer.headers["location"]).text

    assert graphql(live.base_url, draft_token).status_code == 401
    refused = exchange(live.base_url, draft, outstanding)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    with platform.database.read() as db:
        assert db.installations.get_for(member.demo_account_id, draft.app_id).uninstalled_at is not None
    # The verified app does not depend on the link: it stays installed.
    assert graphql(live.base_url, verified_token).status_code == 200


def test_token_endpoint_refuses_a_code_of_an_app_no_longer_installable_on_the_account(live, world, platform,
                                                                                     new_browser):
    member = partner_member(world)
    draft = app_of(world, member.partner_id)
    code = approve(signed_in(new_browser, member.email), draft, scope=NARROW)["code"]
    # The link disappears by some other path than the support page: the exchange checks again.
    with platform.database.write() as db:
        assert db.partners.unlink_demo_account(member.partner_id, member.demo_account_id)
    refused = exchange(live.base_url, draft, code)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    with platform.database.write() as db:
        db.partners.link_demo_account(member.partner_id, member.demo_account_id)
    # The refused exchange did not burn the code: with the link back, it works.
    assert exchange(live.base_url, draft, code).status_code == 200


# Sign-in throttling under concurrency ---------------------------------------------------------------


def test_forty_concurrent_wrong_passwords_reach_the_password_check_at_most_five_times(live, world, platform):
    supplier = world.supplier()

    async def attack() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=60) as client:
            page = (await client.get("/login")).text
            csrf = dict(form_fields(page, "/login"))["csrf_token"]
            form = {"csrf_token": csrf, "email": supplier.email, "password": "wrong-password"}
            return list(await asyncio.gather(*(client.post("/login", data=form) for _ in range(40))))

    answers = asyncio.run(attack())
    checked = [a for a in answers if a.status_code == 400]
    throttled = [a for a in answers if a.status_code == 429]
    assert len(checked) == 5 and len(throttled) == 35
    assert all("The email or password is not correct." in a.text for a in checked)
    assert all("Too many failed sign-in attempts" in a.text for a in throttled)
    with platform.database.read() as db:
        since = utcnow() - dt.timedelta(hours=1)
        assert db.login_failures.count_for_email(supplier.email, since) == 5
    assert Browser(live.base_url).login(supplier.email).status_code == 429  # even the right password


# Ending a rotation's grace period early ---------------------------------------------------------------


def _authenticates(live, app: PartnerApp, secret: str) -> bool:
    """Whether the token endpoint accepts the secret (an unknown code: invalid_grant, not invalid_client)."""
    answer = httpx.post(f"{live.base_url}/oauth/access_token",
                        json={"client_id": app.client_id, "client_secret": secret, "code": "ocac_unknown"})
    assert answer.json()["error"] in ("invalid_grant", "invalid_client")
    return answer.json()["error"] == "invalid_grant"


def test_expiring_the_previous_secret_ends_its_grace_period_at_once(live, world, new_browser, shop):
    member = partner_member(world)
    app = app_of(world, member.partner_id, verified=True)
    dev = signed_in(new_browser, member.email)
    path = f"/partners/{member.partner_id}/apps/{app.client_id}"
    assert "Expire the previous secret now" in dev.http.get(path).text  # the page says it exists
    rotated = post_button(dev, path, f"{path}/rotate-secret")
    new_secret = re.search(r'id="client-secret" readonly value="(ocs_[^"]+)"', rotated.text).group(1)
    assert f'action="{path}/expire-previous-secret"' in rotated.text
    assert _authenticates(live, app, app.client_secret) and _authenticates(live, app, new_secret)

    answer = post_button(dev, path, f"{path}/expire-previous-secret")
    assert answer.status_code == 303
    after = dev.http.get(path).text
    assert "The previous client secret no longer works." in after
    assert "keeps working until" not in after and f'action="{path}/expire-previous-secret"' not in after
    assert not _authenticates(live, app, app.client_secret)
    rotated_app = replace(app, client_secret=new_secret)  # redirects are signed with the new one
    _, browser = shop
    assert exchange(live.base_url, rotated_app, approve(browser, rotated_app, scope=NARROW)["code"]).status_code == 200


def test_expiring_the_previous_secret_needs_csrf_and_the_partners_own_app(live, world, new_browser):
    member, stranger = partner_member(world), partner_member(world)
    app = app_of(world, member.partner_id, verified=True)
    dev, other = signed_in(new_browser, member.email), signed_in(new_browser, stranger.email)
    path = f"/partners/{member.partner_id}/apps/{app.client_id}"
    assert post_button(dev, path, f"{path}/rotate-secret").status_code == 200

    assert dev.http.post(f"{path}/expire-previous-secret", data={"csrf_token": "forged"}).status_code == 403
    other_csrf = other.csrf(f"/partners/{stranger.partner_id}/apps")
    foreign = f"/partners/{stranger.partner_id}/apps/{app.client_id}/expire-previous-secret"
    assert other.http.post(foreign, data={"csrf_token": other_csrf}).status_code == 404
    assert other.http.post(f"{path}/expire-previous-secret", data={"csrf_token": other_csrf}).status_code == 404
    assert _authenticates(live, app, app.client_secret)  # still in its grace period


# Cross-site form posts ------------------------------------------------------------------------------


def _consent_form(browser: Browser, app: PartnerApp) -> dict[str, str]:
    page = browser.authorize({"response_type": "code", "client_id": app.client_id, "scope": NARROW,
                              "redirect_uri": app.redirect_uris[0]})
    assert page.status_code == 200
    return {**dict(form_fields(page.text, "/oauth/authorize")), "decision": "approve"}


@pytest.mark.parametrize("headers", [
    {"sec-fetch-site": "cross-site"},
    {"origin": "https://evil.example"},
    {"origin": "null"},
    {"origin": "null", "sec-fetch-site": "same-site"},
    {"origin": "http://127.0.0.1:1"},  # our host, another port: another origin
    {"origin": "https://evil.example", "sec-fetch-site": "same-origin"},
], ids=["sec-fetch-site", "foreign-origin", "opaque-origin", "opaque-same-site", "other-port", "origin-wins"])
def test_cross_site_consent_post_is_refused_and_changes_nothing(live, world, platform, shop, headers):
    supplier, browser = shop
    app = world.app()
    form = _consent_form(browser, app)
    refused = browser.http.post("/oauth/authorize", data=form, headers=headers)
    assert refused.status_code == 403 and "location" not in refused.headers
    assert "another website" in refused.text
    with platform.database.read() as db:
        assert db.installations.get_for(supplier.account_id, app.app_id) is None
    # The same form from our own origin (or with no such headers at all) goes through.
    ours = {"origin": live.base_url, "sec-fetch-site": "same-origin"}
    assert browser.http.post("/oauth/authorize", data=form, headers=ours).status_code == 303
    assert browser.http.post("/oauth/authorize", data=_consent_form(browser, app)).status_code == 303
    # A null origin that the browser vouches for as same-origin (a stricter referrer policy).
    vouched = {"origin": "null", "sec-fetch-site": "same-origin"}
    assert browser.http.post("/oauth/authorize", data=_consent_form(browser, app), headers=vouched).status_code == 303
    # The web URL is on loopback: its other loopback names on the same port are ours too.
    aliased = {"origin": live.base_url.replace("127.0.0.1", "localhost")}
    assert browser.http.post("/oauth/authorize", data=_consent_form(browser, app), headers=aliased).status_code == 303


def test_pages_keep_referrers_on_the_origin_so_our_forms_send_their_origin(live):
    # Under no-referrer, browsers would send "Origin: null" with our own form posts.
    assert httpx.get(f"{live.base_url}/login").headers["referrer-policy"] == "same-origin"
    assert httpx.post(f"{live.base_url}/v1/graphql", json={}).headers["referrer-policy"] == "no-referrer"


def test_cross_site_posts_are_refused_on_every_form(live, world, platform, shop):
    supplier, browser = shop
    evil = {"origin": "https://evil.example"}
    csrf = browser.csrf("/backoffice/api")
    made = browser.http.post("/backoffice/api/tokens", headers=evil,
                             data={"csrf_token": csrf, "name": "sneaky", "scopes": ["account_read"]})
    assert made.status_code == 403
    with platform.database.read() as db:
        assert db.tokens.list_private_for_account(supplier.account_id) == []
    assert browser.http.post("/logout", data={"csrf_token": csrf}, headers=evil).status_code == 403
    assert browser.http.get("/backoffice/api").status_code == 200  # still signed in

    stranger = world.supplier()
    anonymous = Browser(live.base_url)
    login = dict(form_fields(anonymous.http.get("/login").text, "/login"))
    login.update(email=stranger.email, password="wrong-password")
    assert anonymous.http.post("/login", data=login, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    with platform.database.read() as db:
        assert db.login_failures.count_for_email(stranger.email, utcnow() - dt.timedelta(hours=1)) == 0
    anonymous.close()


def test_cookies_carry_secure_only_when_the_web_url_is_https(live, world, migrated_database_url):
    from orderchamp_auth.server.app import create_app

    def cookies(response: httpx.Response) -> list[str]:
        return [v for k, v in response.headers.multi_items() if k == "set-cookie"]

    plain = httpx.get(f"{live.base_url}/login")
    assert cookies(plain) and not any("secure" in c.lower() for c in cookies(plain))

    supplier = world.supplier()
    settings = replace(make_settings(migrated_database_url, 443), web_url="https://platform.example",
                       api_url="https://platform.example/v1")
    app = create_app(settings)

    async def visit() -> list[str]:
        seen: list[str] = []
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="https://platform.example") as client:
            page = await client.get("/login")
            seen += cookies(page)
            form = {**dict(form_fields(page.text, "/login")), "email": supplier.email,
                    "password": "correct horse battery"}
            signed = await client.post("/login", data=form, headers={"origin": "https://platform.example"})
            assert signed.status_code == 303
            seen += cookies(signed)
            csrf = dict(form_fields((await client.get("/backoffice/api")).text))["csrf_token"]
            made = await client.post("/backoffice/api/tokens", data={"csrf_token": csrf, "name": "t",
                                                                     "scopes": ["account_read"]})
            seen += cookies(made)  # the sealed one-time reveal
            listing = await client.get("/backoffice/api")
            seen += cookies(listing)  # the reveal's deletion
            revoke = re.search(r'action="(/backoffice/api/tokens/\d+/revoke)"', listing.text).group(1)
            seen += cookies(await client.post(revoke, data={"csrf_token": csrf}))  # a flash
            seen += cookies(await client.get("/backoffice/api"))  # the flash's deletion
            out = await client.post("/logout", data={"csrf_token": csrf})
            seen += cookies(out)
        return seen

    try:
        seen = asyncio.run(visit())
    finally:
        app.state.platform.database.dispose()
    names = {c.split("=", 1)[0] for c in seen}
    assert {"oc_csrf", "oc_session", "oc_reveal", "oc_flash"} <= names
    assert all("; secure" in c.lower() for c in seen), seen
