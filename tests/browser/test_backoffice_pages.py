"""The supplier's pages in a real browser: denying consent, private tokens, error pages, phones."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from orderchamp_auth.server.oauth.apps import create_app

from ..support import unique
from .people import sign_in, supplier
from .viewports import PHONE


def registered_app(world, server, *, verified: bool = True) -> tuple[str, str]:
    """An app whose URLs are those of the running partner app server."""
    with world.platform.database.write() as db:
        partner = db.partners.create(unique("Acme Apps"))
        app, secret = create_app(
            db, world.platform.client_secrets, partner_id=partner.id, name=unique("Stock Sync"),
            application_url=server.application_url, redirect_uris=server.redirect_urls, verified=verified,
        )
        return app.client_id, secret


def test_denying_on_the_consent_page_installs_nothing(live, world, person, partner_app_server, screenshot):
    server = partner_app_server()
    client_id, secret = registered_app(world, server)
    server.start(client_id, secret)
    shop = supplier(world)
    page = person()
    sign_in(page, shop.email)
    card = page.locator(".app-card", has=page.locator(f'form[action="/backoffice/integrations/{client_id}/install"]'))
    card.get_by_role("button", name=re.compile("^Install")).click()
    expect(page.get_by_role("heading", name=re.compile("^Connect "))).to_be_visible()

    # Keyboard only: focus Deny and press Enter.
    page.get_by_role("button", name="Deny").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Installation cancelled")).to_be_visible()
    assert page.url.startswith(server.redirect_urls[0])
    assert server.installation(shop.account_id) is None
    page.goto("/backoffice/integrations")
    expect(page.locator(".installed-list")).to_have_count(0)
    expect(page.get_by_text("No apps are installed yet.")).to_be_visible()


def test_a_private_token_is_shown_once_and_stops_working_when_revoked(live, world, person, screenshot):
    shop = supplier(world, account_name="Little Champs")
    page = person()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, shop.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API").click()

    # Without a scope the form says what is missing and keeps the name.
    page.get_by_label("Name").fill("ERP sync")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Choose at least one scope.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("ERP sync")

    page.get_by_role("checkbox", name="Account: account_read").check()
    page.get_by_role("checkbox", name="Products, product variants and product images: products_write").check()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("it is shown only once")).to_be_visible()
    token = page.locator("#new-token").input_value()
    assert token.startswith("ocp_")
    copy_token, copy_secret = page.get_by_role("button", name="Copy", exact=True).all()
    copy_token.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    webhook_secret = page.locator("#new-webhook-secret").input_value()
    assert webhook_secret.startswith("ocw_")
    copy_secret.click()
    assert page.evaluate("navigator.clipboard.readText()") == webhook_secret
    screenshot(page, "api-token-created")
    api = httpx.post(f"{live.base_url}/v1/graphql", json={"query": "{ account { name } }"},
                     headers={"Authorization": f"Bearer {token}"})
    assert api.json()["data"]["account"]["name"] == "Little Champs"

    page.goto("/backoffice/api")  # shown once: not on the page any more
    expect(page.locator("#new-token")).to_have_count(0)
    row = page.locator("tr", has_text="ERP sync")
    expect(row).to_contain_text(token[:10])
    expect(row).to_contain_text("products_write")
    expect(page.locator("#new-webhook-secret")).to_have_count(0)
    screenshot(page, "api-tokens")
    row.get_by_role("button", name="Signing secret of ERP sync").click()  # a POST: shown again
    expect(page.locator("#webhook-secret")).to_have_value(webhook_secret)
    page.locator("tr", has_text="ERP sync").get_by_role("button", name="Rotate secret of ERP sync").click()
    expect(page.get_by_role("heading", name=re.compile("rotated"))).to_be_visible()
    rotated = page.locator("#webhook-secret").input_value()
    assert rotated.startswith("ocw_") and rotated != webhook_secret

    # The sandbox's test order (the account has no products yet: it says so).
    page.goto("/backoffice/api")
    page.get_by_role("button", name="Place a test order").click()
    expect(page.get_by_role("status")).to_contain_text("no products to order")
    row = page.locator("tr", has_text="ERP sync")
    row.get_by_role("button", name="Revoke ERP sync").click()  # the confirmation is accepted
    expect(page.get_by_role("status")).to_contain_text("The token “ERP sync” was revoked.")
    assert httpx.post(f"{live.base_url}/v1/graphql", json={"query": "{ account { name } }"},
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_cancelling_the_confirmation_keeps_the_token(live, world, person):
    shop = supplier(world)
    token = world.private_token(shop.account_id, "account_read")
    page = person(confirm=False)
    sign_in(page, shop.email)
    page.goto("/backoffice/api")
    row = page.locator("tr", has_text=token[:10])
    row.get_by_role("button", name=re.compile("^Revoke")).click()
    expect(row).to_be_visible()
    assert httpx.post(f"{live.base_url}/v1/graphql", json={"query": "{ account { name } }"},
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_an_unknown_app_gets_a_page_that_explains_instead_of_a_redirect(live, world, person, screenshot):
    shop = supplier(world)
    page = person()
    page.goto("/login")
    screenshot(page, "login")
    sign_in(page, shop.email)
    response = page.goto("/oauth/authorize?response_type=code&client_id=no-such-app&scope=account_read"
                         "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb")
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="This app cannot be connected")).to_be_visible()
    expect(page.get_by_text("Nothing was connected and no data was shared")).to_be_visible()
    developer = page.locator(".developer")
    expect(developer).to_contain_text("no-such-app")
    expect(developer).to_contain_text("https://evil.example/cb")
    assert page.url.startswith(live.base_url)
    screenshot(page, "error-unknown-app")


def test_the_pages_fit_a_phone(live, world, person, partner_app_server, screenshot):
    server = partner_app_server()
    client_id, secret = registered_app(world, server)
    server.start(client_id, secret)
    shop = supplier(world)
    token_holder = person(phone=True)
    sign_in(token_holder, shop.email)
    # On a phone the layout viewport grows with content that is too wide, so compare with the device.
    width = f"document.documentElement.scrollWidth <= {PHONE['width']}"
    for path, name in [("/backoffice/integrations", "phone-integrations"), ("/backoffice/api", "phone-api")]:
        token_holder.goto(path)
        assert token_holder.evaluate(width), path
        screenshot(token_holder, name)
    token_holder.goto("/backoffice/integrations")
    card = token_holder.locator(".app-card", has=token_holder.locator(
        f'form[action="/backoffice/integrations/{client_id}/install"]'))
    card.get_by_role("button", name=re.compile("^Install")).click()
    expect(token_holder.get_by_role("button", name="Approve")).to_be_visible()
    assert token_holder.evaluate(width)
    screenshot(token_holder, "phone-consent")
    token_holder.get_by_role("button", name="Approve").click()
    expect(token_holder.get_by_text("Installed", exact=True)).to_be_visible()
    token_holder.goto("/backoffice/integrations")
    assert token_holder.evaluate(width)
    screenshot(token_holder, "phone-integrations-installed")
