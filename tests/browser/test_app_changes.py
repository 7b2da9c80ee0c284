"""Edits of a verified app in a real browser: the partner submits them, support reviews the
differences and approves, and only then do suppliers see them."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from ..e2e.partner_support import app_of, partner_member
from .people import logo_file, sign_in, staff, supplier


def test_a_partner_edits_a_verified_app_and_support_approves_the_changes(live, world, person, screenshot, tmp_path):
    member = partner_member(world)
    app = app_of(world, member.partner_id, verified=True, redirect_uris=["https://app.example.com/callback"])
    with world.platform.database.read() as db:
        old_name = db.apps.get(app.app_id).name
    new_callback = "https://app.example.com/callback-eu"

    dev = person()
    sign_in(dev, member.email)
    dev.goto(f"/partners/{member.partner_id}/apps/{app.client_id}/edit")
    expect(dev.get_by_text("Saving submits your changes for review")).to_be_visible()
    dev.get_by_label("Name", exact=True).fill("Shelf Planner EU")
    dev.get_by_role("button", name="Add a redirect URL").click()
    dev.get_by_label("Redirect URL 2").fill(new_callback)
    dev.get_by_label("Logo").set_input_files(str(logo_file(tmp_path)))
    dev.get_by_role("button", name="Submit changes for review").click()

    expect(dev.get_by_role("status")).to_contain_text("submitted for review")
    changes = dev.locator("section.changes-card")
    expect(changes.get_by_role("heading", name=re.compile("Changes awaiting review"))).to_be_visible()
    expect(changes.locator("del")).to_have_text(old_name)
    expect(changes.locator("ins")).to_have_text("Shelf Planner EU")
    expect(changes.locator("li.added")).to_contain_text(new_callback)
    expect(changes.get_by_role("img", name="The proposed logo")).to_be_visible()
    expect(dev.get_by_role("heading", name=old_name)).to_be_visible()  # the live version heads the page
    screenshot(dev, "partner-app-changes")

    shop = person()
    sign_in(shop, supplier(world, account_name="Corner Shop").email)
    shop.goto("/backoffice/integrations")
    expect(shop.get_by_text(old_name, exact=True).first).to_be_visible()
    expect(shop.get_by_text("Shelf Planner EU")).to_have_count(0)

    reviewer = person()
    sign_in(reviewer, staff(world))
    reviewer.goto("/support/review")
    reviewer.get_by_role("link", name=f"Review changes to {old_name}").click()
    expect(reviewer.get_by_role("heading", name=f"Changes to {old_name}")).to_be_visible()
    expect(reviewer.locator("li.added")).to_contain_text(new_callback)
    screenshot(reviewer, "support-review-changes")
    reviewer.get_by_role("button", name="Approve changes").click()
    expect(reviewer.get_by_role("status")).to_contain_text(f"The changes to {old_name} are approved and live")

    dev.reload()
    expect(dev.get_by_role("heading", name="Shelf Planner EU")).to_be_visible()
    expect(dev.locator("section.changes-card")).to_have_count(0)
    shop.reload()
    expect(shop.get_by_text("Shelf Planner EU").first).to_be_visible()
