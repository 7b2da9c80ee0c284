"""Partner and support pages in a real browser: test installs of drafts, rejection, rotation, roles."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from orderchamp_auth.server.oauth.apps import create_app

from ..e2e.partner_support import partner_member
from .people import sign_in, staff, supplier


def draft_app(world, partner_id: int, server, name: str = "Stock Sync") -> tuple[str, str]:
    with world.platform.database.write() as db:
        app, secret = create_app(
            db, world.platform.client_secrets, partner_id=partner_id, name=name,
            application_url=server.application_url, redirect_uris=server.redirect_urls,
        )
        return app.client_id, secret


def test_a_draft_app_is_offered_only_on_the_partners_demo_account(live, world, person, partner_app_server,
                                                                  screenshot):
    server = partner_app_server()
    member = partner_member(world)
    client_id, secret = draft_app(world, member.partner_id, server)
    server.start(client_id, secret)

    outsider = person()
    sign_in(outsider, supplier(world).email)
    expect(outsider.locator(f'form[action="/backoffice/integrations/{client_id}/install"]')).to_have_count(0)

    dev = person()
    sign_in(dev, member.email)
    card = dev.locator(".app-card", has=dev.locator(f'form[action="/backoffice/integrations/{client_id}/install"]'))
    expect(card).to_contain_text("Test install")

    # The dashboard's Test install goes through the app, like a real install.
    dev.goto(f"/partners/{member.partner_id}/apps/{client_id}")
    dev.get_by_role("button", name=re.compile("^Test install on ")).click()
    expect(dev.get_by_role("heading", name="Connect Stock Sync")).to_be_visible()
    expect(dev.get_by_text("Test install · not verified")).to_be_visible()
    screenshot(dev, "consent-test-install")
    dev.get_by_role("button", name="Approve").click()
    expect(dev).to_have_url(re.compile(f"/backoffice/apps/{client_id}$"))
    expect(dev.get_by_text("Installed", exact=True)).to_be_visible()
    assert server.installation(member.demo_account_id) is not None


def test_a_rejected_app_shows_the_reviewers_reason_to_its_partner(live, world, person, partner_app_server,
                                                                  screenshot):
    server = partner_app_server()
    member = partner_member(world)
    client_id, _ = draft_app(world, member.partner_id, server, name="Half Done")
    dev = person()
    sign_in(dev, member.email)
    dev.goto(f"/partners/{member.partner_id}/apps/{client_id}")
    dev.get_by_role("button", name="Submit for review").click()

    support = person()
    sign_in(support, staff(world))
    support.get_by_role("link", name="Review Half Done").click()
    support.get_by_role("button", name="Reject").click()
    expect(support.get_by_text("Tell the partner what to change")).to_be_visible()
    support.get_by_label("Reason for rejecting").fill("Please add a logo and describe what the app does.")
    support.get_by_role("button", name="Reject").click()
    expect(support.get_by_role("status")).to_contain_text("Half Done was rejected")

    dev.reload()
    expect(dev.locator(".status").first).to_have_text("Rejected")
    expect(dev.locator(".review-note")).to_have_text("Please add a logo and describe what the app does.")
    screenshot(dev, "partner-app-rejected")
    dev.get_by_role("button", name="Submit again").click()
    expect(dev.locator(".status").first).to_have_text("In review")


def test_rotating_the_secret_asks_first_and_shows_the_grace_period(live, world, person, partner_app_server,
                                                                   screenshot):
    server = partner_app_server()
    member = partner_member(world)
    client_id, secret = draft_app(world, member.partner_id, server, name="Rotator")
    cautious = person(confirm=False)
    sign_in(cautious, member.email)
    cautious.goto(f"/partners/{member.partner_id}/apps/{client_id}")
    cautious.get_by_role("button", name="Rotate secret").click()  # cancelled in the dialog
    cautious.get_by_role("button", name="Reveal client_secret").click()
    expect(cautious.locator("#client-secret")).to_have_value(secret)

    dev = person()
    sign_in(dev, member.email)
    dev.goto(f"/partners/{member.partner_id}/apps/{client_id}")
    dev.get_by_role("button", name="Rotate secret").click()
    expect(dev.get_by_text("A new client secret was issued")).to_contain_text("keeps working until")
    new_secret = dev.locator("#client-secret").input_value()
    assert new_secret.startswith("ocs_") and new_secret != secret
    screenshot(dev, "partner-secret-rotated")


def test_each_role_sees_only_its_own_pages(live, world, person, partner_app_server, screenshot):
    server = partner_app_server()
    owner = partner_member(world)
    client_id, _ = draft_app(world, owner.partner_id, server, name="Private Plans")
    rival = partner_member(world)

    shop = person()
    sign_in(shop, supplier(world).email)
    nav = shop.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Partner dashboard")).to_have_count(0)
    expect(nav.get_by_role("link", name="Support")).to_have_count(0)
    for path in ["/partners", f"/partners/{owner.partner_id}/apps/{client_id}", "/support/review"]:
        response = shop.goto(path)
        assert response is not None and response.status == 403, path
        expect(shop.get_by_role("heading", name="You do not have access to this page")).to_be_visible()
    screenshot(shop, "forbidden")

    other = person()
    sign_in(other, rival.email)
    for path in [f"/partners/{owner.partner_id}/apps", f"/partners/{rival.partner_id}/apps/{client_id}"]:
        response = other.goto(path)
        assert response is not None and response.status == 404, path
        expect(other.get_by_text("Private Plans")).to_have_count(0)
    assert other.goto("/support/review").status == 403
