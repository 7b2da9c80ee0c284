"""A verified app's edits wait for support (issue 9): over real HTTP, the partner edits, support
reviews, and what users consent to, authorize accepts and installs use stays the verified
version until support approves."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from orderchamp_auth.protocol.signing import verify_query_string

from ..support import Browser, PartnerApp, World, form_fields, unique
from .partner_support import (
    Member,
    app_of,
    client_id_from,
    create_via_form,
    image,
    partner_member,
    post_button,
    signed_in,
    submit_app_form,
    support_user,
)
from .test_install_flow import approve, exchange, graphql

OLD_CALLBACK = "https://app.example.com/callback"
NEW_CALLBACK = "https://elsewhere.example.net/callback"


@pytest.fixture
def member(world: World) -> Member:
    return partner_member(world)


@pytest.fixture
def dev(new_browser, member: Member) -> Browser:
    return signed_in(new_browser, member.email)


@pytest.fixture
def staff(world: World, new_browser) -> Browser:
    return signed_in(new_browser, support_user(world))


@pytest.fixture
def shop(world: World, new_browser) -> Browser:
    return signed_in(new_browser, world.supplier().email)


@pytest.fixture
def verified(world: World, member: Member) -> PartnerApp:
    return app_of(world, member.partner_id, verified=True, redirect_uris=[OLD_CALLBACK])


def _app_path(app: PartnerApp) -> str:
    return f"/partners/{app.partner_id}/apps/{app.client_id}"


def _edit(dev: Browser, app: PartnerApp, **fields: object) -> httpx.Response:
    path = _app_path(app)
    values: dict[str, object] = dict(name="Renamed Sync", application_url="https://elsewhere.example.net/install",
                                     redirect_uris=[NEW_CALLBACK], description="Now somewhere else.")
    values.update(fields)
    return submit_app_form(dev, f"{path}/edit", page=f"{path}/edit", **values)  # type: ignore[arg-type]


def _authorize(browser: Browser, app: PartnerApp, redirect_uri: str) -> httpx.Response:
    return browser.authorize({"response_type": "code", "client_id": app.client_id, "scope": "account_read",
                              "redirect_uri": redirect_uri, "state": "s"})


def _name_of(platform, app: PartnerApp) -> str:
    with platform.database.read() as db:
        return db.apps.get(app.app_id).name


def _install_start(browser: Browser, client_id: str) -> httpx.Response:
    csrf = browser.csrf("/backoffice/integrations")
    return browser.http.post(f"/backoffice/integrations/{client_id}/install", data={"csrf_token": csrf})


def _decide(staff: Browser, app: PartnerApp, decision: str, **data: str) -> httpx.Response:
    page = f"/support/apps/{app.client_id}/changes"
    return post_button(staff, page, f"{page}/{decision}", **data)


def test_editing_a_verified_app_does_not_change_what_users_consent_to(
    live, dev, shop, verified, platform, world
):
    app_name = _name_of(platform, verified)
    edited = _edit(dev, verified)
    assert edited.status_code == 303
    page = dev.http.get(edited.headers["location"]).text
    assert "submitted for review" in page and "Changes awaiting review" in page

    refused = _authorize(shop, verified, NEW_CALLBACK)
    assert refused.status_code == 400 and "not registered" in refused.text
    consent = _authorize(shop, verified, OLD_CALLBACK)
    assert consent.status_code == 200
    assert app_name in consent.text and "Renamed Sync" not in consent.text
    assert "Verified by Orderchamp" in consent.text

    overview = shop.http.get("/backoffice/integrations").text
    assert app_name in overview and "Renamed Sync" not in overview
    started = _install_start(shop, verified.client_id)
    assert started.status_code == 303
    assert started.headers["location"].startswith("https://app.example.com/install?")
    with platform.database.read() as db:
        live_app = db.apps.get(verified.app_id)
        assert [r.url for r in live_app.redirect_uris] == [OLD_CALLBACK]
        assert live_app.status == "verified" and live_app.application_url == "https://app.example.com/install"


def test_an_installed_app_keeps_working_while_its_changes_wait_and_after_approval(
    live, dev, shop, staff, verified
):
    token = exchange(live.base_url, verified, approve(shop, verified, scope="account_read")["code"]).json()
    assert _edit(dev, verified).status_code == 303
    assert graphql(live.base_url, token["access_token"]).status_code == 200
    assert "errors" not in graphql(live.base_url, token["access_token"]).json()
    assert _decide(staff, verified, "approve").status_code == 303
    answer = graphql(live.base_url, token["access_token"]).json()
    assert "errors" not in answer and answer["data"]["account"]["id"]


def test_approved_changes_go_live_and_a_removed_redirect_url_is_refused(live, dev, shop, staff, verified, platform):
    assert _edit(dev, verified).status_code == 303
    queue = staff.http.get("/support/review").text
    assert f"/support/apps/{verified.client_id}/changes" in queue

    review = staff.http.get(f"/support/apps/{verified.client_id}/changes").text
    assert "Renamed Sync" in review and _name_of(platform, verified) in review
    assert re.search(r'class="added">.*?' + re.escape(NEW_CALLBACK), review, re.S)
    assert re.search(r'class="removed">.*?' + re.escape(OLD_CALLBACK), review, re.S)
    assert "https://elsewhere.example.net/install" in review

    approved = _decide(staff, verified, "approve")
    assert approved.status_code == 303
    assert "approved and live" in staff.http.get("/support/review").text

    consent = _authorize(shop, verified, NEW_CALLBACK)
    assert consent.status_code == 200 and "Renamed Sync" in consent.text
    refused = _authorize(shop, verified, OLD_CALLBACK)
    assert refused.status_code == 400 and "not registered" in refused.text
    started = _install_start(shop, verified.client_id)
    assert started.headers["location"].startswith("https://elsewhere.example.net/install?")
    with platform.database.read() as db:
        assert db.apps.get(verified.app_id).status == "verified"
        assert db.app_changes.get_for_app(verified.app_id) is None
    assert "Changes awaiting review" not in dev.http.get(_app_path(verified)).text


def test_rejected_changes_keep_the_verified_version_and_the_partner_sees_why(
    live, dev, shop, staff, verified, platform
):
    app_name = _name_of(platform, verified)
    assert _edit(dev, verified).status_code == 303
    blank = _decide(staff, verified, "reject", reason="  ")
    assert blank.status_code == 400 and "Tell the partner what to change" in blank.text

    reason = "That domain is not yours & <b>we checked</b>."
    assert _decide(staff, verified, "reject", reason=reason).status_code == 303
    page = dev.http.get(_app_path(verified)).text
    assert "Changes not approved" in page
    assert "That domain is not yours &amp; &lt;b&gt;we checked&lt;/b&gt;." in page
    assert f"/support/apps/{verified.client_id}/changes" not in staff.http.get("/support/review").text
    assert _authorize(shop, verified, NEW_CALLBACK).status_code == 400
    assert app_name in _authorize(shop, verified, OLD_CALLBACK).text
    # A rejected request cannot be approved afterwards.
    csrf = staff.csrf("/support/review")
    late = staff.http.post(f"/support/apps/{verified.client_id}/changes/approve", data={"csrf_token": csrf})
    assert late.status_code in (400, 409)
    assert _name_of(platform, verified) == app_name

    # Editing again starts from the rejected changes and submits corrected ones.
    edit_page = dev.http.get(f"{_app_path(verified)}/edit").text
    assert 'value="Renamed Sync"' in edit_page and f'value="{NEW_CALLBACK}"' in edit_page
    assert _edit(dev, verified, redirect_uris=[OLD_CALLBACK, "https://app.example.com/callback-eu"]).status_code == 303
    with platform.database.read() as db:
        change = db.app_changes.get_for_app(verified.app_id)
        assert change.status == "submitted" and change.review_note == ""


def test_a_partner_cannot_approve_their_own_changes(live, dev, verified, platform):
    app_name = _name_of(platform, verified)
    assert _edit(dev, verified).status_code == 303
    csrf = dev.csrf(_app_path(verified))
    assert dev.http.get(f"/support/apps/{verified.client_id}/changes").status_code == 403
    for action in ("approve", "reject"):
        answer = dev.http.post(f"/support/apps/{verified.client_id}/changes/{action}",
                               data={"csrf_token": csrf, "reason": "x"})
        assert answer.status_code == 403
    assert _name_of(platform, verified) == app_name
    with platform.database.read() as db:
        assert db.app_changes.get_for_app(verified.app_id).status == "submitted"


def test_another_partner_cannot_see_or_withdraw_the_changes(live, dev, verified, world, new_browser, platform):
    assert _edit(dev, verified, logo=("logo.png", image("PNG"), "image/png")).status_code == 303
    other = partner_member(world)
    intruder = signed_in(new_browser, other.email)
    csrf = intruder.csrf(f"/partners/{other.partner_id}/apps")
    for partner_id in (verified.partner_id, other.partner_id):
        base = f"/partners/{partner_id}/apps/{verified.client_id}"
        assert intruder.http.get(base).status_code == 404
        assert intruder.http.get(f"{base}/changes/logo").status_code == 404
        assert intruder.http.post(f"{base}/changes/withdraw", data={"csrf_token": csrf}).status_code == 404
    with platform.database.read() as db:
        assert db.app_changes.get_for_app(verified.app_id) is not None


def test_the_partner_withdraws_changes_and_the_verified_version_stays(live, dev, verified, platform):
    app_name = _name_of(platform, verified)
    assert _edit(dev, verified).status_code == 303
    path = _app_path(verified)
    withdrawn = post_button(dev, path, f"{path}/changes/withdraw")
    assert withdrawn.status_code == 303
    page = dev.http.get(path).text
    assert "were withdrawn" in page and "Changes awaiting review" not in page
    with platform.database.read() as db:
        assert db.app_changes.get_for_app(verified.app_id) is None
    assert _name_of(platform, verified) == app_name
    csrf = dev.csrf(path)
    assert dev.http.post(f"{path}/changes/withdraw", data={"csrf_token": csrf}).status_code == 404


def test_changes_replaced_while_support_reviews_them_are_not_approved_unseen(
    live, dev, shop, staff, verified, platform
):
    assert _edit(dev, verified, redirect_uris=["https://elsewhere.example.net/harmless"]).status_code == 303
    page = f"/support/apps/{verified.client_id}/changes"
    seen = dict(form_fields(staff.http.get(page).text, f"{page}/approve"))
    assert _edit(dev, verified, redirect_uris=[NEW_CALLBACK]).status_code == 303
    stale = staff.http.post(f"{page}/approve", data=seen)
    assert stale.status_code == 409 and "review them again" in stale.text
    assert _authorize(shop, verified, NEW_CALLBACK).status_code == 400
    assert _authorize(shop, verified, "https://elsewhere.example.net/harmless").status_code == 400
    with platform.database.read() as db:
        assert [r.url for r in db.apps.get(verified.app_id).redirect_uris] == [OLD_CALLBACK]


def test_an_app_edited_during_its_first_review_is_not_verified_unseen(live, dev, member, staff, platform):
    client_id = client_id_from(create_via_form(dev, member.partner_id, name=unique("First")))
    path = f"/partners/{member.partner_id}/apps/{client_id}"
    assert post_button(dev, path, f"{path}/submit").status_code == 303
    review = f"/support/apps/{client_id}"
    seen = dict(form_fields(staff.http.get(review).text, f"{review}/verify"))
    assert submit_app_form(dev, f"{path}/edit", page=f"{path}/edit", name="Changed while in review",
                           redirect_uris=[NEW_CALLBACK]).status_code == 303
    stale = staff.http.post(f"{review}/verify", data=seen)
    assert stale.status_code == 409 and "review it again" in stale.text
    with platform.database.read() as db:
        assert db.apps.get_by_client_id(client_id).status == "submitted"
    assert post_button(staff, review, f"{review}/verify").status_code == 303


def test_a_new_logo_waits_for_review_while_the_verified_logo_is_served(live, dev, staff, verified):
    assert _edit(dev, verified, logo=("l.png", image("PNG"), "image/png")).status_code == 303
    assert httpx.get(f"{live.base_url}/apps/{verified.client_id}/logo").status_code == 404  # none live yet
    own = dev.http.get(f"{_app_path(verified)}/changes/logo")
    assert own.status_code == 200 and own.headers["content-type"] == "image/png"
    review = staff.http.get(f"/support/apps/{verified.client_id}/changes").text
    assert f"/support/apps/{verified.client_id}/changes/logo" in review
    assert staff.http.get(f"/support/apps/{verified.client_id}/changes/logo").content == own.content
    assert _decide(staff, verified, "approve").status_code == 303
    served = httpx.get(f"{live.base_url}/apps/{verified.client_id}/logo")
    assert served.status_code == 200 and served.content == own.content


def test_saving_a_verified_app_unchanged_leaves_nothing_to_review(live, dev, verified, platform):
    form = f"{_app_path(verified)}/edit"
    page = dev.http.get(form).text
    assert "Saving submits your changes for review" in page
    fields = dict(form_fields(page, form))
    unchanged = submit_app_form(dev, form, page=form, name=fields["name"], description="",
                                application_url=verified.application_url, redirect_uris=[OLD_CALLBACK])
    assert unchanged.status_code == 303
    assert "nothing is waiting for review" in dev.http.get(_app_path(verified)).text
    with platform.database.read() as db:
        assert db.app_changes.get_for_app(verified.app_id) is None


def test_a_draft_app_is_still_changed_at_once(live, dev, member, platform):
    client_id = client_id_from(create_via_form(dev, member.partner_id, name=unique("Draft")))
    path = f"/partners/{member.partner_id}/apps/{client_id}"
    assert submit_app_form(dev, f"{path}/edit", page=f"{path}/edit", name="Draft renamed").status_code == 303
    with platform.database.read() as db:
        app = db.apps.get_by_client_id(client_id)
        assert app.name == "Draft renamed"
        assert db.app_changes.get_for_app(app.id) is None


def test_approved_changes_keep_the_secret_and_show_in_the_integration_overview(live, dev, shop, staff, verified):
    assert _edit(dev, verified).status_code == 303
    assert _decide(staff, verified, "approve").status_code == 303
    started = _install_start(shop, verified.client_id)
    assert verify_query_string(urlsplit(started.headers["location"]).query, verified.client_secret)["account_id"]
    assert "Renamed Sync" in shop.http.get("/backoffice/integrations").text


def test_concurrent_edits_of_a_verified_app_leave_one_change_request(live, dev, verified, platform):
    from concurrent.futures import ThreadPoolExecutor

    path = _app_path(verified)
    csrf = dev.csrf(f"{path}/edit")
    cookies = dict(dev.http.cookies)

    def save(i: int) -> int:
        with httpx.Client(base_url=live.base_url, cookies=cookies, timeout=30) as client:
            return client.post(f"{path}/edit", data={
                "csrf_token": csrf, "name": f"Racer {i}", "description": "", "application_url": verified.application_url,
                "redirect_uri": [OLD_CALLBACK, f"https://app.example.com/cb-{i}"],
            }, files={"logo": ("", b"", "application/octet-stream")}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(save, range(8)))
    assert statuses == [303] * 8
    with platform.database.read() as db:
        change = db.app_changes.get_for_app(verified.app_id)
        i = int(change.name.split()[1])
        assert change.redirect_urls == [OLD_CALLBACK, f"https://app.example.com/cb-{i}"]
        assert [r.url for r in db.apps.get(verified.app_id).redirect_uris] == [OLD_CALLBACK]


# The role rules of tests/e2e/test_roles.py, for the change request's own addresses.
CHANGE_GETS = ["/partners/{partner}/apps/{app}/changes/logo", "/support/apps/{app}/changes",
               "/support/apps/{app}/changes/logo"]
CHANGE_POSTS = ["/partners/{partner}/apps/{app}/changes/withdraw", "/support/apps/{app}/changes/approve",
                "/support/apps/{app}/changes/reject"]


@pytest.mark.parametrize("path", CHANGE_GETS + CHANGE_POSTS)
def test_change_request_addresses_need_the_right_role(live, browser, world, new_browser, dev, verified, path,
                                                      platform):
    assert _edit(dev, verified, logo=("l.png", image("PNG"), "image/png")).status_code == 303
    url = path.format(partner=verified.partner_id, app=verified.client_id)
    signed_out = browser.http.get(url) if path in CHANGE_GETS else browser.http.post(url, data={"reason": "x"})
    assert signed_out.status_code in (303, 403)
    if signed_out.status_code == 303:
        assert signed_out.headers["location"].startswith("/login?next=")
    shop = signed_in(new_browser, world.supplier().email)
    csrf = shop.csrf("/backoffice/integrations")
    answer = shop.http.get(url) if path in CHANGE_GETS else shop.http.post(url, data={"csrf_token": csrf,
                                                                                      "reason": "x"})
    assert answer.status_code == 403
    with platform.database.read() as db:
        assert db.app_changes.get_for_app(verified.app_id).status == "submitted"
    assert _name_of(platform, verified) != "Renamed Sync"
