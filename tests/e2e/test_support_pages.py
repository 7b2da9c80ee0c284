"""Support pages over real HTTP: partners, demo accounts, the review cycle, the accounts list."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from orderchamp_auth.protocol.signing import verify_query_string
from orderchamp_auth.server.admin import create_user

from ..support import PASSWORD, Browser, World, unique
from .partner_support import (
    app_of,
    client_id_from,
    create_via_form,
    partner_member,
    post_button,
    signed_in,
    support_user,
)


@pytest.fixture
def staff(world: World, new_browser) -> Browser:
    return signed_in(new_browser, support_user(world))


def _post(browser: Browser, page: str, action: str, **data: str):
    return post_button(browser, page, action, **data)


def test_support_creates_a_partner_adds_a_member_and_links_their_accounts(live, staff, world, new_browser, platform):
    developer = world.supplier(extra_accounts=1)  # a user with two accounts
    name = unique("Acme Apps")
    created = _post(staff, "/support/partners", "/support/partners", name=name)
    assert created.status_code == 303
    partner_path = created.headers["location"]
    partner_id = int(partner_path.rsplit("/", 1)[1])
    assert f"Partner {name} was created" in staff.http.get(partner_path).text

    added = _post(staff, partner_path, f"{partner_path}/members", member_email=developer.email.upper())
    assert added.status_code == 303
    linked = _post(staff, partner_path, f"{partner_path}/demo-accounts", demo_email=developer.email)
    assert linked.status_code == 303
    page = staff.http.get(partner_path).text
    assert "Linked as demo account:" in page and developer.email in page
    with platform.database.read() as db:
        assert len(db.partners.demo_accounts_of(partner_id)) == 2  # every account of that user

    dev = signed_in(new_browser, developer.email)
    dashboard = dev.http.get("/partners")
    assert dashboard.status_code == 302 and dashboard.headers["location"] == f"/partners/{partner_id}/apps"
    assert name in dev.http.get(dashboard.headers["location"]).text
    assert staff.http.get("/support/partners").text.count(name) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("member_email", "nobody-here@example.com", "No user has the email address nobody-here@example.com."),
        ("member_email", "not an email", "Enter the email address of a user."),
        ("demo_email", "nobody-here@example.com", "No user has the email address nobody-here@example.com."),
    ],
)
def test_adding_an_unknown_user_is_refused(live, staff, world, field, value, message):
    partner = partner_member(world)
    path = f"/support/partners/{partner.partner_id}"
    action = f"{path}/members" if field == "member_email" else f"{path}/demo-accounts"
    response = _post(staff, path, action, **{field: value})
    assert response.status_code == 400
    assert message in response.text


def test_linking_a_user_without_an_account_is_refused(live, staff, world):
    with world.platform.database.write() as db:
        loner = create_user(db, email=f"{unique('loner')}@example.com", password=PASSWORD).email
    partner = partner_member(world, demo_account=False)
    path = f"/support/partners/{partner.partner_id}"
    response = _post(staff, path, f"{path}/demo-accounts", demo_email=loner)
    assert response.status_code == 400 and "is not a user of any account" in response.text


def test_members_and_demo_accounts_can_be_removed(live, staff, world, new_browser):
    member = partner_member(world)
    path = f"/support/partners/{member.partner_id}"
    page = staff.http.get(path).text
    user_id = re.search(rf"{path}/members/(\d+)/remove", page).group(1)
    assert _post(staff, path, f"{path}/demo-accounts/{member.demo_account_id}/unlink").status_code == 303
    assert _post(staff, path, f"{path}/members/{user_id}/remove").status_code == 303
    dev = signed_in(new_browser, member.email)
    assert dev.http.get(f"/partners/{member.partner_id}/apps").status_code == 403


@pytest.mark.parametrize(("name", "message"), [("  ", "Give the partner a name."), ("x" * 201, "At most 200")])
def test_a_partner_needs_a_name(live, staff, name, message):
    response = _post(staff, "/support/partners", "/support/partners", name=name)
    assert response.status_code == 400 and message in response.text


def test_partner_names_are_unique(live, staff):
    name = unique("Twin Partner")
    assert _post(staff, "/support/partners", "/support/partners", name=name).status_code == 303
    again = _post(staff, "/support/partners", "/support/partners", name=name)
    assert again.status_code == 400 and "A partner with this name exists." in again.text


def _install_start(browser: Browser, client_id: str):
    csrf = browser.csrf("/backoffice/integrations")
    return browser.http.post(f"/backoffice/integrations/{client_id}/install", data={"csrf_token": csrf})


def test_submitted_then_verified_app_is_installable_by_every_account(live, staff, world, new_browser, platform):
    member = partner_member(world)
    dev = signed_in(new_browser, member.email)
    client_id = client_id_from(create_via_form(dev, member.partner_id, name=unique("Reviewed")))
    app_path = f"/partners/{member.partner_id}/apps/{client_id}"
    shop = signed_in(new_browser, world.supplier().email)
    assert client_id not in shop.http.get("/backoffice/integrations").text
    assert _install_start(shop, client_id).status_code == 404

    assert post_button(dev, app_path, f"{app_path}/submit").status_code == 303
    queue = staff.http.get("/support/review").text
    assert f"/support/apps/{client_id}" in queue
    assert client_id not in shop.http.get("/backoffice/integrations").text  # still not for everyone

    verified = _post(staff, f"/support/apps/{client_id}", f"/support/apps/{client_id}/verify")
    assert verified.status_code == 303
    assert "is verified" in staff.http.get("/support/review").text
    assert f"/support/apps/{client_id}" not in staff.http.get("/support/review").text
    assert "status-verified" in dev.http.get(app_path).text

    assert client_id in shop.http.get("/backoffice/integrations").text
    started = _install_start(shop, client_id)
    assert started.status_code == 303
    with platform.database.read() as db:
        secret = platform.client_secrets.current_secret(db.apps.get_by_client_id(client_id))
    assert verify_query_string(urlsplit(started.headers["location"]).query, secret)["account_id"]


def test_rejecting_needs_a_reason_which_the_partner_then_sees(live, staff, world, new_browser, platform):
    member = partner_member(world)
    app = app_of(world, member.partner_id)
    dev = signed_in(new_browser, member.email)
    app_path = f"/partners/{member.partner_id}/apps/{app.client_id}"
    post_button(dev, app_path, f"{app_path}/submit")
    review = f"/support/apps/{app.client_id}"

    blank = _post(staff, review, f"{review}/reject", reason="   ")
    assert blank.status_code == 400 and "Tell the partner what to change" in blank.text
    with platform.database.read() as db:
        assert db.apps.get(app.app_id).status == "submitted"

    reason = "The logo is missing & the description says <nothing>."
    assert _post(staff, review, f"{review}/reject", reason=reason).status_code == 303
    page = dev.http.get(app_path).text
    assert "status-rejected" in page
    assert "The logo is missing &amp; the description says &lt;nothing&gt;." in page
    resubmitted = post_button(dev, app_path, f"{app_path}/submit")
    assert resubmitted.status_code == 303
    with platform.database.read() as db:
        stored = db.apps.get(app.app_id)
        assert stored.status == "submitted" and stored.review_note == ""


def test_only_a_submitted_app_can_be_verified_or_rejected(live, staff, world, platform):
    app = app_of(world, partner_member(world).partner_id)
    csrf = staff.csrf("/support/review")
    verify = staff.http.post(f"/support/apps/{app.client_id}/verify", data={"csrf_token": csrf})
    assert verify.status_code == 400 and "only a submitted app can be verified" in verify.text
    reject = staff.http.post(f"/support/apps/{app.client_id}/reject", data={"csrf_token": csrf, "reason": "no"})
    assert reject.status_code == 400
    with platform.database.read() as db:
        assert db.apps.get(app.app_id).status == "draft"
    assert staff.http.post("/support/apps/unknown-client/verify", data={"csrf_token": csrf}).status_code == 404


def test_accounts_list_shows_each_account_with_its_users_and_partners(live, staff, world):
    member = partner_member(world)
    page = staff.http.get("/support/accounts")
    assert page.status_code == 200
    assert member.email in page.text
    assert f"<code>{member.demo_account_id}</code>" in page.text
