"""Private tokens in the back office, sign-in throttling, sign-out, and the account isolation of tokens."""

from __future__ import annotations

import re

import httpx

from orderchamp_auth.protocol.global_ids import encode_global_id

from ..support import Browser, World, form_fields


def api(base: str, token: str, query: str) -> httpx.Response:
    return httpx.post(f"{base}/v1/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"})


def create_token(browser: Browser, name: str, scopes: list[str]) -> httpx.Response:
    csrf = browser.csrf("/backoffice/api")
    return browser.http.post("/backoffice/api/tokens", data={"csrf_token": csrf, "name": name, "scopes": scopes})


def test_private_token_lifecycle_in_the_back_office(live, world: World, browser: Browser):
    supplier = world.supplier()
    browser.login(supplier.email)
    answer = create_token(browser, "My ERP sync", ["products_read", "account_read"])
    assert answer.status_code == 303 and answer.headers["location"] == "/backoffice/api"
    created = browser.http.get("/backoffice/api")
    token = re.search(r'id="new-token" readonly value="(ocp_[^"]+)"', created.text).group(1)
    assert "shown only once" in created.text
    reloaded = browser.http.get("/backoffice/api")
    assert token not in reloaded.text  # a reload shows it no more (and creates nothing)
    assert reloaded.text.count("My ERP sync") == created.text.count("My ERP sync") - 1

    listing = browser.http.get("/backoffice/api").text
    assert "My ERP sync" in listing
    assert token not in listing  # only its prefix is shown again
    assert token[:10] in listing
    assert "account_read" in listing and "products_read" in listing

    response = api(live.base_url, token, "{ account { name } }")
    assert response.status_code == 200 and response.json()["data"]["account"]["name"]

    token_id = re.search(r'action="/backoffice/api/tokens/(\d+)/revoke"', listing).group(1)
    csrf = dict(form_fields(listing, f"/backoffice/api/tokens/{token_id}/revoke"))["csrf_token"]
    revoked = browser.http.post(f"/backoffice/api/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert api(live.base_url, token, "{ account { name } }").status_code == 401
    after = browser.http.get("/backoffice/api").text
    assert "The token “My ERP sync” was revoked." in after
    assert token[:10] not in after


def test_private_token_needs_a_name_and_a_scope(live, world: World, browser: Browser, platform):
    supplier = world.supplier()
    browser.login(supplier.email)
    no_scope = create_token(browser, "nameless scopes", [])
    assert no_scope.status_code == 400 and "Choose at least one scope" in no_scope.text
    no_name = create_token(browser, "  ", ["orders_read"])
    assert no_name.status_code == 400
    bogus = create_token(browser, "bogus", ["root_access"])
    assert bogus.status_code == 400
    assert "new-token" not in bogus.text


def test_revoking_another_accounts_token_is_not_found(live, world: World, new_browser):
    owner, intruder = world.supplier(), world.supplier()
    a = new_browser()
    a.login(owner.email)
    create_token(a, "owner token", ["account_read"])
    token = re.search(r'value="(ocp_[^"]+)"', a.http.get("/backoffice/api").text).group(1)
    token_id = re.search(r'/backoffice/api/tokens/(\d+)/revoke', a.http.get("/backoffice/api").text).group(1)
    b = new_browser()
    b.login(intruder.email)
    response = b.http.post(f"/backoffice/api/tokens/{token_id}/revoke", data={"csrf_token": b.csrf()})
    assert response.status_code == 404
    assert api(live.base_url, token, "{ account { name } }").status_code == 200


def test_revoke_without_csrf_is_refused(live, world: World, browser: Browser):
    supplier = world.supplier()
    browser.login(supplier.email)
    create_token(browser, "keep me", ["account_read"])
    token_id = re.search(r'/backoffice/api/tokens/(\d+)/revoke', browser.http.get("/backoffice/api").text).group(1)
    assert browser.http.post(f"/backoffice/api/tokens/{token_id}/revoke", data={"confirm": "1"}).status_code == 403
    assert "keep me" in browser.http.get("/backoffice/api").text


def test_missing_scope_gives_null_field_and_access_denied(live, world: World):
    supplier = world.supplier()
    token = world.private_token(supplier.account_id, "products_read")
    response = api(live.base_url, token, "{ account { name } }")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"account": None}
    error = body["errors"][0]
    assert error["extensions"] == {"code": "ACCESS_DENIED", "requiredScope": "account_read"}
    assert error["path"] == ["account"]


def test_write_scope_implies_read_on_the_api(live, world: World):
    supplier = world.supplier()
    token = world.private_token(supplier.account_id, "account_write")
    assert api(live.base_url, token, "{ account { name } }").json()["data"]["account"]["name"]


def test_a_token_sees_only_its_own_account(live, world: World):
    mine, theirs = world.supplier(), world.supplier()
    token = world.private_token(mine.account_id, "account_read")
    own = api(live.base_url, token, f'{{ node(id: "{encode_global_id("Account", mine.account_id)}") {{ id }} }}')
    assert own.json()["data"]["node"]["id"] == encode_global_id("Account", mine.account_id)
    other = api(live.base_url, token, f'{{ node(id: "{encode_global_id("Account", theirs.account_id)}") {{ id }} }}')
    assert other.json() == {"data": {"node": None}}
    forged = api(live.base_url, token, '{ node(id: "not-base64!") { id } }')
    assert forged.json() == {"data": {"node": None}}


def test_failed_sign_ins_are_throttled_per_email(live, world: World, browser: Browser):
    supplier = world.supplier()
    for _ in range(5):
        assert browser.login(supplier.email, password="wrong-password").status_code == 400
    throttled = browser.login(supplier.email)
    assert throttled.status_code == 429
    assert "Too many" in throttled.text


def test_sign_in_page_does_not_say_whether_the_email_exists(live, browser: Browser, world: World):
    supplier = world.supplier()
    unknown = browser.login("nobody-here@example.com", password="whatever-123")
    wrong = browser.login(supplier.email, password="whatever-123")
    assert unknown.status_code == wrong.status_code == 400
    assert "The email or password is not correct." in unknown.text
    assert "The email or password is not correct." in wrong.text


def test_sign_out_ends_the_session_on_the_server(live, world: World, browser: Browser):
    supplier = world.supplier()
    browser.login(supplier.email)
    cookie = browser.http.cookies.get("oc_session")
    assert browser.http.get("/backoffice/api").status_code == 200
    csrf = browser.csrf("/backoffice/api")
    assert browser.http.post("/logout", data={"csrf_token": csrf}).status_code == 303
    replay = httpx.get(f"{live.base_url}/backoffice/api", cookies={"oc_session": cookie})
    assert replay.status_code == 303 and replay.headers["location"].startswith("/login")


def test_session_cookie_is_httponly_and_samesite_lax(live, world: World, browser: Browser):
    supplier = world.supplier()
    response = browser.login(supplier.email)
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("oc_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_forged_session_cookie_is_ignored(live):
    response = httpx.get(f"{live.base_url}/backoffice/api", cookies={"oc_session": "abc.def"})
    assert response.status_code == 303


def test_login_next_parameter_cannot_redirect_off_site(live, world: World, browser: Browser):
    supplier = world.supplier()
    page = browser.http.get("/login?next=//evil.test/x")
    fields = dict(form_fields(page.text, "/login"))
    assert fields["next"] == "/backoffice"
    fields.update(email=supplier.email, password="correct horse battery", next="https://evil.test")
    assert browser.http.post("/login", data=fields).headers["location"] == "/backoffice"


def test_back_office_pages_need_a_login(live):
    for path in ("/backoffice/api", "/backoffice/integrations"):
        response = httpx.get(live.base_url + path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_new_token_cookie_is_sealed_and_bound_to_the_session(live, world: World, new_browser):
    supplier = world.supplier()
    owner = new_browser()
    owner.login(supplier.email)
    answer = create_token(owner, "sealed", ["account_read"])
    sealed = answer.cookies.get("oc_reveal")
    assert sealed and "ocp_" not in sealed
    thief = new_browser()
    thief.login(supplier.email)
    thief.http.cookies.set("oc_reveal", sealed, path="/backoffice/api")
    page = thief.http.get("/backoffice/api").text
    assert 'id="new-token"' not in page
    assert 'id="new-token"' in owner.http.get("/backoffice/api").text


def test_a_private_tokens_webhook_secret_is_shown_once_revealed_and_rotated_by_post(live, world: World,
                                                                                    browser: Browser, platform):
    supplier = world.supplier()
    browser.login(supplier.email)
    create_token(browser, "Hook script", ["products_read"])
    created = browser.http.get("/backoffice/api").text
    secret = re.search(r'id="new-webhook-secret" readonly value="(ocw_[^"]+)"', created).group(1)
    listing = browser.http.get("/backoffice/api").text
    assert secret not in listing  # shown once
    token_id = re.search(r'action="/backoffice/api/tokens/(\d+)/webhook-secret"', listing).group(1)
    with platform.database.read() as db:
        stored = db.webhook_subscriptions.signing_secret(int(token_id)).secret_encrypted
    assert secret not in stored and platform.secret_box.decrypt(stored) == secret  # encrypted at rest

    # Revealed only in answer to a POST with the form's CSRF token.
    refused = browser.http.post(f"/backoffice/api/tokens/{token_id}/webhook-secret", data={})
    assert refused.status_code in (400, 403) and secret not in refused.text
    csrf = dict(form_fields(listing, f"/backoffice/api/tokens/{token_id}/webhook-secret"))["csrf_token"]
    shown = browser.http.post(f"/backoffice/api/tokens/{token_id}/webhook-secret", data={"csrf_token": csrf})
    assert shown.status_code == 200 and f'value="{secret}"' in shown.text

    rotated = browser.http.post(f"/backoffice/api/tokens/{token_id}/rotate-webhook-secret",
                                data={"csrf_token": csrf})
    new_secret = re.search(r'id="webhook-secret" readonly value="(ocw_[^"]+)"', rotated.text).group(1)
    assert rotated.status_code == 200 and new_secret != secret and "rotated" in rotated.text
    again = browser.http.post(f"/backoffice/api/tokens/{token_id}/webhook-secret", data={"csrf_token": csrf})
    assert f'value="{new_secret}"' in again.text

    # Another account's user cannot see it.
    stranger = world.supplier()
    other = Browser(live.base_url)
    other.login(stranger.email)
    other_csrf = other.csrf("/backoffice/api")
    refused = other.http.post(f"/backoffice/api/tokens/{token_id}/webhook-secret", data={"csrf_token": other_csrf})
    assert refused.status_code == 404 and new_secret not in refused.text
