"""The partner dashboard over real HTTP: app forms, logos, credentials, review and test installs.

The shared helpers (partner members, support users, images, the app form) are in
``partner_support``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from orderchamp_auth.protocol.signing import verify_query_string
from orderchamp_auth.server.store.database import utcnow

from ..support import Browser, PartnerApp, World, query_of
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
)

# Creating and editing -----------------------------------------------------------------------


@pytest.fixture
def member(world: World) -> Member:
    return partner_member(world)


@pytest.fixture
def dev(new_browser, member: Member) -> Browser:
    return signed_in(new_browser, member.email)


def test_partner_creates_an_app_with_two_redirect_urls_and_it_starts_as_a_draft(live, dev, member, platform):
    response = create_via_form(dev, member.partner_id, name="Stock Sync", redirect_uris=[
        "https://sync.example.com/callback", "", "https://sync.example.com/callback-eu"])
    client_id = client_id_from(response)
    page = dev.http.get(response.headers["location"])
    assert page.status_code == 200
    assert "Stock Sync was created as a draft" in page.text
    assert "https://sync.example.com/callback-eu" in page.text
    assert 'class="status status-draft"' in page.text
    assert client_id in page.text
    with platform.database.read() as db:
        app = db.apps.get_by_client_id(client_id)
        assert [r.url for r in app.redirect_uris] == [
            "https://sync.example.com/callback", "https://sync.example.com/callback-eu"]
        assert app.partner_id == member.partner_id and app.status == "draft"
    listing = dev.http.get(f"/partners/{member.partner_id}/apps").text
    assert "Stock Sync" in listing


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"application_url": ""}, "The application URL is required."),
        ({"application_url": "ftp://sync.example.com/install"}, "must be an absolute http(s) URL"),
        ({"application_url": "/install"}, "must be an absolute http(s) URL"),
        ({"application_url": "http://sync.example.com/install"}, "must use https"),
        ({"application_url": "https://sync.example.com/install#x"}, "must not contain a fragment"),
        ({"application_url": "https://user:pw@sync.example.com/"}, "must not contain a user name or password"),
        ({"application_url": "https://sync.example.com/a b"}, "must not contain spaces"),
        ({"redirect_uris": []}, "At least one redirect URL is required."),
        ({"redirect_uris": ["", "  "]}, "At least one redirect URL is required."),
        ({"redirect_uris": ["https://sync.example.com/cb", "sync.example.com/cb"]}, "must be an absolute http(s) URL"),
        ({"redirect_uris": ["http://sync.example.com/cb"]}, "must use https"),
        ({"redirect_uris": [f"https://sync.example.com/{i}" for i in range(11)]}, "At most 10 redirect URLs."),
        ({"name": "   "}, "The app needs a name."),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"description": "d" * 2001}, "at most 2000 characters"),
    ],
)
def test_app_form_refuses_bad_input_and_says_why(live, dev, member, platform, overrides, field_message):
    response = create_via_form(dev, member.partner_id, **overrides)
    assert response.status_code == 400
    assert field_message in response.text
    assert 'aria-invalid="true"' in response.text
    assert "Nothing was saved" in response.text
    with platform.database.read() as db:
        assert db.apps.list_for_partner(member.partner_id) == []


def test_plain_http_on_localhost_is_allowed_for_development(live, dev, member):
    response = create_via_form(dev, member.partner_id, application_url="http://127.0.0.1:8001/install",
                               redirect_uris=["http://localhost:8001/callback"])
    assert response.status_code == 303


def test_two_apps_of_one_partner_cannot_share_a_name(live, dev, member):
    assert create_via_form(dev, member.partner_id, name="Twin").status_code == 303
    again = create_via_form(dev, member.partner_id, name="Twin")
    assert again.status_code == 400 and "You already have an app with this name." in again.text


def test_app_form_without_csrf_token_is_refused(live, dev, member, platform):
    response = dev.http.post(f"/partners/{member.partner_id}/apps", data={"name": "x"},
                             files={"logo": ("", b"", "application/octet-stream")})
    assert response.status_code == 403
    with platform.database.read() as db:
        assert db.apps.list_for_partner(member.partner_id) == []


def test_app_form_must_be_multipart(live, dev, member):
    csrf = dev.csrf(f"/partners/{member.partner_id}/apps/new")
    response = dev.http.post(f"/partners/{member.partner_id}/apps", data={"csrf_token": csrf, "name": "x"})
    assert response.status_code == 400 and "multipart/form-data" in response.text


def test_editing_adds_and_removes_redirect_urls(live, dev, member):
    created = create_via_form(dev, member.partner_id, redirect_uris=[
        "https://sync.example.com/one", "https://sync.example.com/two"])
    client_id = client_id_from(created)
    base = f"/partners/{member.partner_id}/apps/{client_id}"
    edit_page = dev.http.get(f"{base}/edit").text
    assert 'value="https://sync.example.com/one"' in edit_page and 'value="https://sync.example.com/two"' in edit_page
    edited = submit_app_form(dev, f"{base}/edit", page=f"{base}/edit", name="Stock Sync 2",
                             redirect_uris=["https://sync.example.com/two", "https://sync.example.com/three"])
    assert edited.status_code == 303
    page = dev.http.get(base).text
    assert "Your changes to Stock Sync 2 were saved." in page
    assert "https://sync.example.com/three" in page and "https://sync.example.com/one" not in page
    # The removed URL is no longer accepted at /oauth/authorize (demo account = the developer's).
    refused = dev.authorize({"response_type": "code", "client_id": client_id, "scope": "account_read",
                             "redirect_uri": "https://sync.example.com/one"})
    assert refused.status_code == 400 and "not registered" in refused.text
    accepted = dev.authorize({"response_type": "code", "client_id": client_id, "scope": "account_read",
                              "redirect_uri": "https://sync.example.com/three"})
    assert accepted.status_code == 200


def test_a_failed_edit_changes_nothing_and_keeps_what_was_typed(live, dev, member, platform):
    client_id = client_id_from(create_via_form(dev, member.partner_id, name="Keeper"))
    base = f"/partners/{member.partner_id}/apps/{client_id}"
    failed = submit_app_form(dev, f"{base}/edit", page=f"{base}/edit", name="Renamed",
                             redirect_uris=["https://sync.example.com/ok", "javascript:alert(1)"])
    assert failed.status_code == 400
    assert 'value="Renamed"' in failed.text and "javascript:alert(1)" in failed.text
    with platform.database.read() as db:
        app = db.apps.get_by_client_id(client_id)
        assert app.name == "Keeper"
        assert [r.url for r in app.redirect_uris] == ["https://sync.example.com/callback"]


# Logos --------------------------------------------------------------------------------------


def _logo_of(live, client_id: str) -> httpx.Response:
    return httpx.get(f"{live.base_url}/apps/{client_id}/logo")


@pytest.mark.parametrize(
    "upload",
    [
        ("logo.png", image("PNG"), "image/png"),
        ("logo.jpg", image("JPEG"), "image/jpeg"),
        ("logo.webp", image("WEBP"), "image/webp"),
        # Judged by content, not by name or declared type: a PNG called .jpg is a fine PNG.
        ("logo.jpg", image("PNG"), "image/jpeg"),
    ],
    ids=["png", "jpeg", "webp", "png-named-jpg"],
)
def test_png_jpeg_and_webp_logos_are_accepted_and_served_as_png(live, dev, member, upload):
    client_id = client_id_from(create_via_form(dev, member.partner_id, logo=upload))
    served = _logo_of(live, client_id)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(served.content)) as logo:
        assert logo.format == "PNG"
        assert logo.size[0] == logo.size[1] <= 256


def test_a_large_logo_is_scaled_down_to_256_pixels(live, dev, member):
    client_id = client_id_from(create_via_form(
        dev, member.partner_id, logo=("big.png", image("PNG", size=(1200, 600)), "image/png")))
    with Image.open(io.BytesIO(_logo_of(live, client_id).content)) as logo:
        assert logo.size == (256, 256)


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (("logo.svg", SVG, "image/svg+xml"), "SVG logos are not accepted."),
        (("logo.png", SVG, "image/png"), "SVG logos are not accepted."),
        (("logo.png", b"just some text, honestly\n" * 10, "image/png"), "not a PNG, JPEG or WebP image"),
        (("logo.gif", image("GIF"), "image/gif"), "not a PNG, JPEG or WebP image"),
        (("logo.png", image("PNG")[:60], "image/png"), "not a PNG, JPEG or WebP image"),
        (("logo.png", image("PNG") + b"\0" * (1024 * 1024), "image/png"), "it can be at most 1 MB"),
    ],
    ids=["svg", "svg-named-png", "text-named-png", "gif", "truncated-png", "over-1mb"],
)
def test_other_logo_files_are_refused_with_a_clear_message(live, dev, member, platform, upload, message):
    response = create_via_form(dev, member.partner_id, logo=upload)
    assert response.status_code == 400
    assert message in response.text
    assert "PNG, JPEG or WebP" in response.text
    with platform.database.read() as db:
        assert db.apps.list_for_partner(member.partner_id) == []  # the app was not created either


def test_an_upload_beyond_the_body_limit_is_refused_before_it_is_read(live, dev, member):
    response = create_via_form(dev, member.partner_id, logo=("huge.png", b"\x89PNG" + b"0" * (3 * 1024 * 1024),
                                                             "image/png"))
    assert response.status_code == 413
    assert "A logo can be at most 1 MB" in response.text


def test_a_logo_can_be_replaced_and_removed(live, dev, member):
    client_id = client_id_from(create_via_form(dev, member.partner_id,
                                               logo=("a.png", image("PNG", color="red"), "image/png")))
    base = f"/partners/{member.partner_id}/apps/{client_id}"
    first = _logo_of(live, client_id).content
    assert submit_app_form(dev, f"{base}/edit", page=f"{base}/edit",
                           logo=("b.webp", image("WEBP", color="blue"), "image/webp")).status_code == 303
    assert _logo_of(live, client_id).content != first
    assert submit_app_form(dev, f"{base}/edit", page=f"{base}/edit", remove_logo="1").status_code == 303
    assert _logo_of(live, client_id).status_code == 404


# Credentials --------------------------------------------------------------------------------


def test_client_secret_is_shown_only_in_answer_to_a_post(live, dev, member, world):
    app = app_of(world, member.partner_id)
    path = f"/partners/{member.partner_id}/apps/{app.client_id}"
    page = dev.http.get(path)
    assert app.client_id in page.text and app.client_secret not in page.text
    revealed = post_button(dev, path, f"{path}/secret")
    assert revealed.status_code == 200
    assert f'id="client-secret" readonly value="{app.client_secret}"' in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    assert dev.http.get(f"{path}/secret").status_code == 405


def _token_request(live, client_id: str, secret: str, code: str) -> httpx.Response:
    return httpx.post(f"{live.base_url}/oauth/access_token",
                      json={"client_id": client_id, "client_secret": secret, "code": code})


def _code(browser: Browser, app: PartnerApp) -> str:
    page = browser.authorize({"response_type": "code", "client_id": app.client_id, "scope": "account_read",
                              "redirect_uri": app.redirect_uris[0]})
    assert page.status_code == 200, page.text[:300]
    return query_of(browser.decide(page.text, "approve").headers["location"])["code"]


def test_rotated_secret_keeps_the_old_one_valid_for_the_grace_period(live, dev, member, world, platform,
                                                                    new_browser):
    app = app_of(world, member.partner_id, verified=True)
    supplier = world.supplier()
    shop = signed_in(new_browser, supplier.email)
    path = f"/partners/{member.partner_id}/apps/{app.client_id}"

    rotated = post_button(dev, path, f"{path}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = re.search(r'id="client-secret" readonly value="(ocs_[^"]+)"', rotated.text).group(1)
    assert new_secret != app.client_secret
    assert "The previous one keeps working until" in rotated.text
    assert "24 hours" in rotated.text
    assert "keeps working until" in dev.http.get(path).text

    # Both secrets authenticate at the token endpoint during the grace period ...
    assert _token_request(live, app.client_id, app.client_secret, _code(shop, app)).status_code == 200
    assert _token_request(live, app.client_id, new_secret, _code(shop, app)).status_code == 200
    # ... redirects are signed with the new one ...
    page = shop.authorize({"response_type": "code", "client_id": app.client_id, "scope": "account_read",
                           "redirect_uri": app.redirect_uris[0]})
    location = shop.decide(page.text, "approve").headers["location"]
    verify_query_string(urlsplit(location).query, new_secret)
    # ... and once the grace period is over, only the new secret works.
    with platform.database.write() as db:
        db.apps.get(app.app_id).previous_secret_expires_at = utcnow() - dt.timedelta(seconds=1)
    code = query_of(location)["code"]
    refused = _token_request(live, app.client_id, app.client_secret, code)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert _token_request(live, app.client_id, new_secret, code).status_code == 200
    assert "keeps working until" not in dev.http.get(path).text


# Review and test installs -------------------------------------------------------------------


def test_submitting_a_draft_puts_it_in_review_once(live, dev, member, world, platform):
    app = app_of(world, member.partner_id)
    path = f"/partners/{member.partner_id}/apps/{app.client_id}"
    submitted = post_button(dev, path, f"{path}/submit")
    assert submitted.status_code == 303
    page = dev.http.get(path).text
    assert "was submitted for review" in page and "status-submitted" in page
    with platform.database.read() as db:
        assert db.apps.get(app.app_id).status == "submitted"
    again = dev.http.post(f"{path}/submit", data={"csrf_token": dev.csrf(path)})
    assert again.status_code == 400 and "only a draft or rejected app can be submitted" in again.text


def test_test_install_sends_a_signed_install_for_the_demo_account(live, dev, member, world):
    app = app_of(world, member.partner_id)
    path = f"/partners/{member.partner_id}/apps/{app.client_id}"
    started = post_button(dev, path, f"{path}/test-install")
    assert started.status_code == 303
    location = started.headers["location"]
    assert location.startswith(app.application_url + "?")
    params = verify_query_string(urlsplit(location).query, app.client_secret)
    assert params["account_id"] == str(member.demo_account_id)
    # The draft app's consent page opens on the demo account.
    consent = dev.authorize({"response_type": "code", "client_id": app.client_id, "scope": "products_read",
                             "redirect_uri": app.redirect_uris[0]})
    assert consent.status_code == 200 and "Test install" in consent.text


def test_test_install_refuses_an_account_that_is_not_a_demo_account(live, dev, member, world):
    app = app_of(world, member.partner_id)
    stranger = world.supplier()
    path = f"/partners/{member.partner_id}/apps/{app.client_id}"
    response = dev.http.post(f"{path}/test-install", data={"csrf_token": dev.csrf(path),
                                                           "account_id": str(stranger.account_id)})
    assert response.status_code == 404


def test_without_a_demo_account_the_page_says_to_ask_support(live, world, new_browser):
    lonely = partner_member(world, demo_account=False)
    app = app_of(world, lonely.partner_id)
    b = signed_in(new_browser, lonely.email)
    page = b.http.get(f"/partners/{lonely.partner_id}/apps/{app.client_id}").text
    assert "Ask Orderchamp support to link one" in page
    assert "/test-install" not in page
