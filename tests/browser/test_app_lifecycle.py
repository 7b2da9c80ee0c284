"""The life of a public app, as the people involved see it in a real browser.

Support makes a developer a partner; the partner builds an app and submits it; support
verifies it; a supplier installs it through the app's own install URL, consent, the signed
callback and /oauth/finish, sees what it may do, then uninstalls it and its token dies.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from orderchamp_auth.server.oauth.apps import create_app
from orderchamp_auth.server.store.database import utcnow
from orderchamp_auth.server.web.logos import LOGO_CONTENT_TYPE, normalize_logo

from .people import developer, logo_file, sign_in, staff, supplier


def graphql(base_url: str, token: str) -> httpx.Response:
    return httpx.post(f"{base_url}/v1/graphql", json={"query": "{ account { name } }"},
                      headers={"Authorization": f"Bearer {token}"})


def another_verified_app(world, tmp_path: Path) -> None:
    """A second app in the catalogue, so the overview looks like a real one."""
    with world.platform.database.write() as db:
        partner = db.partners.create("Ledger Labs")
        app, _ = create_app(
            db, world.platform.client_secrets, partner_id=partner.id, name="Invoice Bridge",
            application_url="https://invoice-bridge.example/install",
            redirect_uris=["https://invoice-bridge.example/callback"], verified=True,
            description="Sends your Orderchamp invoices to your accounting software every night.",
        )
        logo = normalize_logo(logo_file(tmp_path, "ledger.png", (204, 92, 40)).read_bytes())
        db.apps.set_logo(app.id, content_type=LOGO_CONTENT_TYPE, data=logo, now=utcnow())


def support_makes_a_partner(page: Page, email: str, dev_email: str, screenshot) -> None:
    sign_in(page, email)
    page.get_by_role("navigation", name="Support").get_by_role("link", name="Partners").click()
    page.get_by_label("Name").fill("Acme Apps")
    page.get_by_role("button", name="Create partner").click()
    expect(page.get_by_role("status")).to_contain_text("Partner Acme Apps was created")
    page.get_by_label("Add a member by email").fill(dev_email)
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_contain_text("can now use the partner dashboard")
    page.get_by_label("Link the accounts of a user (email)").fill(dev_email)
    page.get_by_role("button", name="Link accounts").click()
    expect(page.get_by_role("status")).to_contain_text("Linked as demo account")
    screenshot(page, "support-partner")


def partner_builds_and_submits(page: Page, email: str, server, logo: Path, screenshot) -> tuple[str, str]:
    sign_in(page, email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Partner dashboard").click()
    expect(page.get_by_role("heading", name="Apps", exact=True)).to_be_visible()
    screenshot(page, "partner-apps-empty")
    page.get_by_role("link", name="Create an app").first.click()
    page.get_by_label("Name", exact=True).fill("Stock Sync")
    page.get_by_label("Description").fill("Keeps your Orderchamp stock in step with your warehouse.")
    page.get_by_label("Application URL").fill(server.application_url)
    page.get_by_label("Redirect URL 1").fill(server.redirect_urls[0])
    # Rows are added and removed on the page; focus follows, for keyboard users.
    page.get_by_role("button", name="Add a redirect URL").click()
    expect(page.get_by_label("Redirect URL 2")).to_be_focused()
    page.keyboard.type("https://typo.example/cb")
    page.get_by_role("button", name="Add a redirect URL").click()
    page.get_by_label("Redirect URL 3").fill(server.redirect_urls[1])
    page.get_by_role("button", name="Remove redirect URL 2").click()
    expect(page.get_by_label("Redirect URL 2")).to_have_value(server.redirect_urls[1])
    expect(page.get_by_label("Redirect URL 3")).to_have_count(0)
    page.get_by_label("Logo").set_input_files(str(logo))
    screenshot(page, "partner-app-form")
    page.get_by_role("button", name="Create app").click()

    expect(page.get_by_role("status").first).to_contain_text("Stock Sync was created as a draft")
    expect(page.locator(".status").first).to_have_text("Draft")
    for url in server.redirect_urls:
        expect(page.get_by_text(url, exact=True)).to_be_visible()
    expect(page.get_by_text("https://typo.example/cb")).to_have_count(0)
    page.get_by_role("button", name="Reveal client_secret").click()
    client_id = page.locator("#client-id").input_value()
    secret = page.locator("#client-secret").input_value()
    assert secret.startswith("ocs_")
    page.get_by_role("button", name="Copy client_secret").click()
    expect(page.get_by_role("button", name="Copied client_secret")).to_be_visible()
    screenshot(page, "partner-app-credentials")

    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("status")).to_contain_text("submitted for review")
    expect(page.locator(".status").first).to_have_text("In review")
    page.get_by_role("link", name="Acme Apps").click()
    expect(page.get_by_role("row", name=re.compile("Stock Sync"))).to_contain_text("In review")
    screenshot(page, "partner-apps")
    return client_id, secret


def support_verifies(page: Page, client_id: str, screenshot) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Support").click()
    expect(page.get_by_role("heading", name=re.compile("Review queue"))).to_be_visible()
    screenshot(page, "support-review-queue")
    # This app's row: other tests' apps may wait in the queue too, some named alike.
    row = page.get_by_role("row").filter(has=page.locator(f'a[href="/support/apps/{client_id}"]'))
    row.get_by_role("link", name="Review Stock Sync", exact=True).click()
    expect(page.get_by_text("Keeps your Orderchamp stock in step")).to_be_visible()
    screenshot(page, "support-review-app")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_contain_text("Stock Sync is verified")


def test_an_app_goes_from_partner_to_supplier_and_its_token_dies_on_uninstall(
    live, world, person, partner_app_server, screenshot, tmp_path
):
    server = partner_app_server()
    dev, shop, support_email = developer(world), supplier(world), staff(world)
    another_verified_app(world, tmp_path)

    support = person()
    support_makes_a_partner(support, support_email, dev.email, screenshot)
    client_id, secret = partner_builds_and_submits(person(), dev.email, server, logo_file(tmp_path), screenshot)
    server.start(client_id, secret)
    support_verifies(support, client_id, screenshot)

    page = person()
    sign_in(page, shop.email)
    expect(page).to_have_url(re.compile("/backoffice/integrations$"))
    # This app's card, by its client_id: other tests' apps share the database, some named alike.
    card = page.locator(".app-card", has=page.locator(f'form[action="/backoffice/integrations/{client_id}/install"]'))
    expect(card).to_contain_text("by Acme Apps")
    expect(card.locator("img.logo")).to_be_visible()
    assert card.locator("img.logo").evaluate("logo => logo.naturalWidth") == 256
    card.get_by_role("button", name="Install Stock Sync", exact=True).click()

    # Through the app's install URL to the consent page.
    expect(page).to_have_url(re.compile(r"/oauth/authorize\?"))
    expect(page.get_by_role("heading", name="Connect Stock Sync")).to_be_visible()
    expect(page.locator(".account-chip")).to_contain_text("Little Champs")
    permissions = page.locator("ul.permissions")
    expect(permissions).to_contain_text("Products, product variants and product images")
    expect(permissions).to_contain_text("Create, change and delete your products")
    expect(permissions).to_contain_text("(includes seeing them)")
    expect(permissions).to_contain_text("See your orders")
    screenshot(page, "consent")
    page.get_by_role("button", name="Approve").click()

    # The app exchanged the code and sent the supplier to /oauth/finish: the app's page.
    expect(page).to_have_url(re.compile(f"/backoffice/apps/{client_id}$"))
    expect(page.get_by_text("Installed", exact=True)).to_be_visible()
    expect(page.locator(".access-list")).to_contain_text("See and change")
    screenshot(page, "installed-app")
    installation = server.installation(shop.account_id)
    assert installation is not None
    assert installation.scopes.to_string() == "account_read,products_write,orders_read"
    assert graphql(live.base_url, installation.access_token).status_code == 200

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    installed = page.locator("section", has=page.get_by_role("heading", name=re.compile("Installed apps")))
    mine = page.locator(f'form[action="/backoffice/apps/{client_id}/uninstall"]')
    row = installed.locator(".app-card", has=mine)
    expect(row).to_contain_text("installed")
    expect(row.locator(".access-list")).to_contain_text("Account")
    expect(row.locator(".access-list")).to_contain_text("orders_read")
    screenshot(page, "integrations")

    row.get_by_role("button", name="Uninstall Stock Sync", exact=True).click()  # the confirmation is accepted
    expect(page.get_by_role("status")).to_contain_text("Stock Sync was uninstalled")
    expect(installed.locator(".app-card", has=mine)).to_have_count(0)
    assert graphql(live.base_url, installation.access_token).status_code == 401
