"""Every error rule of SPEC section 7 step 2: error page vs signed error redirect."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest

from orderchamp_auth.protocol.signing import verify_query_string

from ..support import Browser, PartnerApp, Supplier, World

REGISTERED = "https://app.example.com/callback"


@pytest.fixture
def supplier(world: World) -> Supplier:
    return world.supplier()


@pytest.fixture
def app(world: World) -> PartnerApp:
    return world.app(redirect_uris=[REGISTERED])


@pytest.fixture
def signed_in(browser: Browser, supplier: Supplier) -> Browser:
    browser.login(supplier.email)
    return browser


def params_for(app: PartnerApp, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {"response_type": "code", "client_id": app.client_id,
                                     "scope": "account_read", "redirect_uri": REGISTERED, "state": "st"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def assert_error_page(response, *words: str) -> None:
    assert response.status_code == 400, response.text[:300]
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]
    for word in words:
        assert word in response.text


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REGISTERED + "/",
        "https://APP.example.com/callback",
        "https://app.example.com/Callback",
        REGISTERED + "?x=1",
        REGISTERED + "#frag",
        "http://app.example.com/callback",
        "https://app.example.com:443/callback",
        "https://app.example.com:8443/callback",
        "https://app.example.com/x/../callback",
        "https://app.example.com/callback/../evil",
        "https://app.example.com/callbackx",
        "https://app.example.com/callback/evil",
        "https://app.example.com.evil.test/callback",
        "https://app.example.com@evil.test/callback",
        "https://evil.test/?https://app.example.com/callback",
        "https://app.example.com/%63allback",
        " " + REGISTERED,
        REGISTERED + " ",
        "//app.example.com/callback",
        "/callback",
        "javascript:alert(1)",
    ],
)
def test_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(signed_in, app, redirect_uri):
    response = signed_in.authorize(params_for(app, redirect_uri=redirect_uri))
    assert_error_page(response, "redirect URL")


def test_unregistered_redirect_uri_is_refused_before_login_too(browser, app):
    response = browser.authorize(params_for(app, redirect_uri="https://evil.test/cb"))
    assert_error_page(response)


def test_unknown_client_id_gets_an_error_page(signed_in, app):
    assert_error_page(signed_in.authorize(params_for(app, client_id="nope")), "client_id")


def test_missing_client_id_gets_an_error_page(signed_in, app):
    assert_error_page(signed_in.authorize(params_for(app, client_id=None)), "client_id")


def test_duplicated_client_id_gets_an_error_page(signed_in, app):
    query = urlencode(params_for(app)) + "&client_id=" + app.client_id
    assert_error_page(signed_in.http.get("/oauth/authorize?" + query))


def test_duplicated_redirect_uri_gets_an_error_page(signed_in, app):
    query = urlencode(params_for(app)) + "&redirect_uri=" + REGISTERED
    assert_error_page(signed_in.http.get("/oauth/authorize?" + query))


def test_redirect_uri_may_be_left_out_when_the_app_has_exactly_one(signed_in, app):
    assert signed_in.authorize(params_for(app, redirect_uri=None)).status_code == 200


def test_redirect_uri_is_required_when_the_app_has_several(signed_in, world):
    app = world.app(redirect_uris=[REGISTERED, "https://app.example.com/other"])
    assert_error_page(signed_in.authorize(params_for(app, redirect_uri=None)), "several redirect URLs")
    response = signed_in.authorize(params_for(app, redirect_uri="https://app.example.com/other"))
    assert response.status_code == 200


def test_registered_redirect_with_its_own_query_keeps_it_and_signs_it(signed_in, world, supplier):
    registered = "https://app.example.com/cb?shop=a%20b"
    app = world.app(redirect_uris=[registered])
    page = signed_in.authorize(params_for(app, redirect_uri=registered))
    location = signed_in.decide(page.text, "approve").headers["location"]
    assert location.startswith("https://app.example.com/cb?")
    params = verify_query_string(urlsplit(location).query, app.client_secret)
    assert params["shop"] == "a b"
    assert params["account_id"] == str(supplier.account_id)


def signed_error(response, app: PartnerApp) -> dict[str, str]:
    assert response.status_code == 302, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(REGISTERED + "?")
    return verify_query_string(urlsplit(location).query, app.client_secret)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "account_read,nonsense"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge": "a" * 43}, "invalid_request"),
    ],
)
def test_other_errors_go_back_signed_with_state_and_account(signed_in, app, supplier, overrides, error):
    params = signed_error(signed_in.authorize(params_for(app, **overrides)), app)
    assert params["error"] == error
    assert params["state"] == "st"
    assert params["account_id"] == str(supplier.account_id)
    assert "code" not in params
    assert params["timestamp"].isdigit()


def test_duplicated_scope_is_invalid_request(signed_in, app):
    query = urlencode(params_for(app)) + "&scope=orders_read"
    params = signed_error(signed_in.http.get("/oauth/authorize?" + query), app)
    assert params["error"] == "invalid_request"


def test_overlong_state_is_invalid_request(signed_in, app):
    params = signed_error(signed_in.authorize(params_for(app, state="x" * 5000)), app)
    assert params["error"] == "invalid_request"
    assert "state" not in params or len(params["state"]) == 5000


def test_consent_page_shows_app_partner_account_and_scopes_in_words(signed_in, app, supplier):
    page = signed_in.authorize(params_for(app, scope="products_write,account_read"))
    assert page.status_code == 200
    text = page.text
    assert app.client_id in text
    assert "Approve" in text and "Deny" in text
    assert "Create, change and delete your products" in text
    assert "includes seeing them" in text
    assert "See your account details" in text


def test_tampered_consent_form_cannot_change_the_redirect_uri(signed_in, app):
    page = signed_in.authorize(params_for(app))
    response = signed_in.decide(page.text, "approve", redirect_uri="https://evil.test/cb")
    assert_error_page(response)


def test_consent_for_an_account_the_user_does_not_belong_to_is_refused(signed_in, app, world):
    stranger = world.supplier()
    page = signed_in.authorize(params_for(app))
    response = signed_in.decide(page.text, "approve", account_id=str(stranger.account_id))
    assert_error_page(response)


def test_user_with_several_accounts_chooses_which_to_connect(new_browser, world):
    person = world.supplier(extra_accounts=1)
    app = world.app(redirect_uris=[REGISTERED])
    b = new_browser()
    b.login(person.email)
    page = b.authorize(params_for(app))
    assert '<select id="account_id" name="account_id">' in page.text
    import re

    options = re.findall(r'<option value="(\d+)"', page.text)
    assert len(options) == 2
    other = next(o for o in options if o != str(person.account_id)) if str(person.account_id) in options else options[1]
    location = b.decide(page.text, "approve", account_id=other).headers["location"]
    assert verify_query_string(urlsplit(location).query, app.client_secret)["account_id"] == other
