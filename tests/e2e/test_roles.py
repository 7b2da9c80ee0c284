"""Every role rule, enforced by the server whatever the pages show or hide."""

from __future__ import annotations

import pytest

from ..support import Browser, World
from .partner_support import app_of, partner_member, signed_in, support_user

PARTNER_PAGES = ["/partners", "/partners/{partner}/apps", "/partners/{partner}/apps/new",
                 "/partners/{partner}/apps/{app}", "/partners/{partner}/apps/{app}/edit"]
PARTNER_ACTIONS = ["/partners/{partner}/apps/{app}/secret", "/partners/{partner}/apps/{app}/rotate-secret",
                   "/partners/{partner}/apps/{app}/submit", "/partners/{partner}/apps/{app}/test-install"]
SUPPORT_PAGES = ["/support", "/support/review", "/support/partners", "/support/partners/{partner}",
                 "/support/accounts", "/support/apps/{app}"]
SUPPORT_ACTIONS = ["/support/partners", "/support/partners/{partner}/members",
                   "/support/partners/{partner}/demo-accounts", "/support/apps/{app}/verify",
                   "/support/apps/{app}/reject"]


@pytest.fixture
def target(world: World) -> dict[str, str]:
    member = partner_member(world)
    app = app_of(world, member.partner_id)
    return {"partner": str(member.partner_id), "app": app.client_id, "secret": app.client_secret}


def _as(browser_factory, email: str) -> Browser:
    return signed_in(browser_factory, email)


@pytest.mark.parametrize("path", PARTNER_PAGES + SUPPORT_PAGES)
def test_signed_out_visitors_are_sent_to_the_login_page(live, browser, target, path):
    response = browser.http.get(path.format(**target))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", PARTNER_PAGES)
def test_a_supplier_cannot_reach_partner_pages(live, world, new_browser, target, path):
    shop = _as(new_browser, world.supplier().email)
    response = shop.http.get(path.format(**target))
    assert response.status_code == 403
    assert "ask Orderchamp support to add you" in response.text
    assert target["app"] not in response.text


@pytest.mark.parametrize("path", SUPPORT_PAGES)
def test_a_supplier_cannot_reach_support_pages(live, world, new_browser, target, path):
    shop = _as(new_browser, world.supplier().email)
    response = shop.http.get(path.format(**target))
    assert response.status_code == 403
    assert "for Orderchamp support staff" in response.text


@pytest.mark.parametrize("path", PARTNER_ACTIONS + SUPPORT_ACTIONS)
def test_a_supplier_cannot_post_partner_or_support_actions(live, world, new_browser, target, path):
    shop = _as(new_browser, world.supplier().email)
    csrf = shop.csrf("/backoffice/integrations")
    response = shop.http.post(path.format(**target), data={"csrf_token": csrf, "name": "x", "reason": "x",
                                                           "member_email": "a@b.example", "account_id": "1"})
    assert response.status_code == 403
    assert target["secret"] not in response.text


def test_the_header_links_follow_the_role(live, world, new_browser):
    shop = _as(new_browser, world.supplier().email)
    page = shop.http.get("/backoffice/integrations").text
    assert 'href="/partners"' not in page and 'href="/support"' not in page
    dev = _as(new_browser, partner_member(world).email)
    page = dev.http.get("/backoffice/integrations").text
    assert 'href="/partners"' in page and 'href="/support"' not in page


def test_a_partner_never_sees_another_partners_apps(live, world, new_browser, target):
    other = partner_member(world)
    dev = _as(new_browser, other.email)
    mine = f"/partners/{other.partner_id}"
    theirs = f"/partners/{target['partner']}"
    # Their partner's pages, and their app through my own partner's path: not found, not forbidden.
    for path in [f"{theirs}/apps", f"{theirs}/apps/new", f"{theirs}/apps/{target['app']}",
                 f"{mine}/apps/{target['app']}", f"{mine}/apps/{target['app']}/edit"]:
        response = dev.http.get(path)
        assert response.status_code == 404, path
        assert target["secret"] not in response.text
    csrf = dev.csrf(f"{mine}/apps")
    for path in [f"{mine}/apps/{target['app']}/secret", f"{theirs}/apps/{target['app']}/secret",
                 f"{mine}/apps/{target['app']}/rotate-secret", f"{mine}/apps/{target['app']}/submit",
                 f"{mine}/apps/{target['app']}/test-install"]:
        response = dev.http.post(path, data={"csrf_token": csrf, "account_id": str(other.demo_account_id)})
        assert response.status_code == 404, path
        assert target["secret"] not in response.text
    assert target["app"] not in dev.http.get(f"{mine}/apps").text


def test_a_partner_cannot_edit_another_partners_app(live, world, new_browser, target, platform):
    other = partner_member(world)
    dev = _as(new_browser, other.email)
    csrf = dev.csrf(f"/partners/{other.partner_id}/apps")
    response = dev.http.post(
        f"/partners/{other.partner_id}/apps/{target['app']}/edit",
        data={"csrf_token": csrf, "name": "Hijacked", "application_url": "https://evil.example/",
              "redirect_uri": "https://evil.example/cb"},
        files={"logo": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 404
    with platform.database.read() as db:
        assert db.apps.get_by_client_id(target["app"]).name != "Hijacked"


def test_a_partner_cannot_review_apps(live, world, new_browser, target, platform):
    member = partner_member(world)
    dev = _as(new_browser, member.email)
    own = app_of(world, member.partner_id)
    csrf = dev.csrf(f"/partners/{member.partner_id}/apps")
    dev.http.post(f"/partners/{member.partner_id}/apps/{own.client_id}/submit", data={"csrf_token": csrf})
    response = dev.http.post(f"/support/apps/{own.client_id}/verify", data={"csrf_token": csrf})
    assert response.status_code == 403
    assert dev.http.get("/support/review").status_code == 403
    with platform.database.read() as db:
        assert db.apps.get(own.app_id).status == "submitted"


def test_support_staff_without_a_partner_cannot_use_the_partner_dashboard(live, world, new_browser, target):
    staff = _as(new_browser, support_user(world))
    assert staff.http.get("/partners").status_code == 403
    response = staff.http.get(f"/partners/{target['partner']}/apps/{target['app']}")
    assert response.status_code == 403
    assert target["secret"] not in response.text
    assert staff.http.get(f"/support/apps/{target['app']}").status_code == 200


def test_support_forms_need_a_csrf_token(live, world, new_browser, target, platform):
    staff = _as(new_browser, support_user(world))
    response = staff.http.post("/support/partners", data={"name": "No Token Partner"})
    assert response.status_code == 403
    response = staff.http.post(f"/support/apps/{target['app']}/verify", data={"csrf_token": "0" * 64})
    assert response.status_code == 403


def test_a_user_with_several_accounts_switches_between_them(live, world, new_browser, platform):
    person = world.supplier(extra_accounts=1)
    b = _as(new_browser, person.email)
    page = b.http.get("/backoffice/api").text
    assert 'id="switch-account"' in page
    import re

    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]+)</option>', page)
    other = next((value, name) for value, selected, name in options if not selected)
    csrf = b.csrf("/backoffice/api")
    switched = b.http.post("/backoffice/account", data={"csrf_token": csrf, "account_id": other[0],
                                                        "next": "/backoffice/api"})
    assert switched.status_code == 303 and switched.headers["location"] == "/backoffice/api"
    after = b.http.get("/backoffice/api").text
    assert f"You are now working in {other[1]}." in after
    assert re.search(rf'<option value="{other[0]}" selected>', after)


def test_switching_to_a_foreign_account_or_without_csrf_is_refused(live, world, new_browser):
    person = world.supplier(extra_accounts=1)
    stranger = world.supplier()
    b = _as(new_browser, person.email)
    csrf = b.csrf("/backoffice/api")
    assert b.http.post("/backoffice/account", data={"csrf_token": csrf,
                                                    "account_id": str(stranger.account_id)}).status_code == 404
    assert b.http.post("/backoffice/account", data={"account_id": str(person.account_id)}).status_code == 403
    # An open redirect through "next" is not possible either.
    away = b.http.post("/backoffice/account", data={"csrf_token": csrf, "account_id": str(person.account_id),
                                                    "next": "//evil.example/"})
    assert away.headers["location"] == "/backoffice"
