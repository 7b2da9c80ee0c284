"""The SDK's install flow against our platform over real HTTP (issue 5).

The app is ``OrderchampInstallFlow`` (the Starlette integration) under a real uvicorn on its own
loopback port, registered on the platform with that port in its application and redirect URLs.
The browser is one cookie-keeping client that talks to both, as a real browser would: the
signed-in supplier presses Install in the back office and every hop is checked on the way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from orderchamp_auth.client import (
    AccessDeniedByUserError,
    AsyncOrderchampOAuth,
    DuplicateParameterError,
    InMemoryStateStore,
    Installation,
    InvalidSignatureError,
    MissingParameterError,
    OrderchampClient,
    OrderchampClientError,
    OrderchampOAuth,
    SQLiteTokenStore,
    StaleTimestampError,
    StateMismatchError,
    UnauthenticatedError,
)
from orderchamp_auth.client.integrations.starlette import OrderchampInstallFlow, render_error
from orderchamp_auth.protocol.signing import build_signed_url

from ..client.loopback import loopback_socket, serve_on_loopback
from ..support import Browser, LiveServer, PartnerApp, Supplier, World

SCOPES = "account_read,products_read"
OLD_SECRET = "ocs_the-secret-before-the-rotation-0123456789abcdef"


@dataclass
class AppUnderTest:
    """A running app built on the integration, and what it saw."""

    base_url: str
    registration: PartnerApp
    oauth: AsyncOrderchampOAuth
    tokens: SQLiteTokenStore
    installed: list[Installation] = field(default_factory=list)
    errors: list[OrderchampClientError] = field(default_factory=list)

    @property
    def install_url(self) -> str:
        return f"{self.base_url}/install"

    @property
    def callback_url(self) -> str:
        return f"{self.base_url}/callback"


@pytest.fixture
def run_app(live: LiveServer, world: World, tmp_path) -> Iterator[Callable[..., AppUnderTest]]:
    """Start an app on a free port and register it on the platform with that port's URLs."""
    stack: list = []

    def start(*, previous_client_secret: str | None = None, after_install_url: str | None = None,
              client_secret: str | None = None) -> AppUnderTest:
        sock = loopback_socket()
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        registration = world.app(application_url=f"{base}/install", redirect_uris=[f"{base}/callback"])
        oauth = AsyncOrderchampOAuth(
            registration.client_id, client_secret or registration.client_secret,
            previous_client_secret=previous_client_secret,
            web_url=live.base_url, api_url=f"{live.base_url}/v1",
        )
        tokens = SQLiteTokenStore(tmp_path / f"tokens-{registration.client_id}.db")
        under_test = AppUnderTest(base, registration, oauth, tokens)

        def on_install(installation: Installation, request: Request) -> None:
            under_test.installed.append(installation)

        def on_error(request: Request, exc: OrderchampClientError) -> Response:
            under_test.errors.append(exc)
            return render_error(exc)

        flow = OrderchampInstallFlow(
            oauth, scopes=SCOPES, redirect_uri=f"{base}/callback", token_store=tokens,
            on_install=on_install, on_error=on_error, after_install_url=after_install_url,
        )

        async def home(request: Request) -> Response:
            return PlainTextResponse("app home")

        app = Starlette(routes=[Route("/", home), *flow.routes])
        server = serve_on_loopback(app, sock=sock)
        assert server.__enter__() == base
        stack.append((server, tokens))
        return under_test

    yield start
    for server, tokens in reversed(stack):
        server.__exit__(None, None, None)
        tokens.close()


@pytest.fixture
def supplier(world: World) -> Supplier:
    return world.supplier()


@pytest.fixture
def signed_in(browser: Browser, supplier: Supplier) -> Browser:
    assert browser.login(supplier.email).status_code == 303
    return browser


def account_name(platform, account_id: int) -> str:
    with platform.database.read() as db:
        account = db.accounts.get(account_id)
        assert account is not None
        return account.name


def press_install(browser: Browser, app: AppUnderTest) -> str:
    """The Install button of the integration overview; returns the signed install-start URL."""
    overview = browser.http.get("/backoffice/integrations")
    assert overview.status_code == 200 and app.registration.client_id in overview.text
    csrf = browser.csrf("/backoffice/integrations")
    pressed = browser.http.post(f"/backoffice/integrations/{app.registration.client_id}/install",
                                data={"csrf_token": csrf})
    assert pressed.status_code == 303, pressed.text
    location = pressed.headers["location"]
    assert location.startswith(app.install_url + "?")
    return location


def reach_consent(browser: Browser, app: AppUnderTest, live: LiveServer) -> httpx.Response:
    """Install button -> the app's install route -> /oauth/authorize: the consent page."""
    started = browser.http.get(press_install(browser, app))
    assert started.status_code == 303, started.text
    assert "orderchamp_app_session" in started.headers["set-cookie"]
    assert "HttpOnly" in started.headers["set-cookie"] and "SameSite=lax" in started.headers["set-cookie"]
    authorize = started.headers["location"]
    assert authorize.startswith(f"{live.base_url}/oauth/authorize?")
    params = dict(parse_qsl(urlsplit(authorize).query))
    assert params["client_id"] == app.registration.client_id
    assert params["redirect_uri"] == app.callback_url
    assert params["scope"] == SCOPES
    assert params["code_challenge_method"] == "S256" and len(params["state"]) >= 32
    consent = browser.http.get(authorize)
    assert consent.status_code == 200, consent.text
    return consent


def signed_callback(browser: Browser, app: AppUnderTest, live: LiveServer, decision: str = "approve") -> str:
    """Everything up to the platform's signed redirect to the app's callback (not yet followed)."""
    consent = reach_consent(browser, app, live)
    answer = browser.decide(consent.text, decision)
    assert answer.status_code == 303, answer.text
    callback = answer.headers["location"]
    assert callback.startswith(app.callback_url + "?")
    return callback


def resigned(callback: str, secret: str, **changes: str) -> str:
    """The callback's parameters, changed as asked, signed again with ``secret``."""
    params = dict(parse_qsl(urlsplit(callback).query, keep_blank_values=True))
    params.pop("signature")
    params.update(changes)
    return build_signed_url(callback.split("?")[0], params, secret)


def api_account_name(live: LiveServer, token: str) -> str:
    with OrderchampClient(token, api_url=f"{live.base_url}/v1") as api:
        return str(api.execute("{ account { name } }").data["account"]["name"])


def test_install_button_to_api_call_through_the_starlette_integration(live, platform, run_app, signed_in,
                                                                      supplier):
    app = run_app()
    callback = signed_callback(signed_in, app, live)
    done = signed_in.http.get(callback)
    assert done.status_code == 303, done.text
    assert app.errors == []

    # Stored, hooked, and the token the platform issued works for the API.
    stored = app.tokens.get(str(supplier.account_id))
    assert stored is not None
    assert [i.account_id for i in app.installed] == [str(supplier.account_id)]
    assert app.installed[0].access_token == stored.access_token
    assert stored.access_token.startswith("oca_")
    assert stored.scopes.to_string() == SCOPES
    assert api_account_name(live, stored.access_token) == account_name(platform, supplier.account_id)

    # By default the user lands on the app's page in their back office (the finish URL).
    assert done.headers["location"] == f"{live.base_url}/oauth/finish?client_id={app.registration.client_id}"
    finish = signed_in.http.get(done.headers["location"])
    assert finish.status_code == 302
    assert finish.headers["location"] == f"/backoffice/apps/{app.registration.client_id}"
    assert signed_in.http.get(finish.headers["location"]).status_code == 200


def test_after_install_url_sends_the_user_to_the_app(live, run_app, signed_in, supplier):
    app = run_app(after_install_url="/")
    done = signed_in.http.get(signed_callback(signed_in, app, live))
    assert (done.status_code, done.headers["location"]) == (303, "/")
    assert app.tokens.get(str(supplier.account_id)) is not None


def test_deny_reaches_the_app_as_access_denied_by_user(live, run_app, signed_in, supplier):
    app = run_app()
    callback = signed_callback(signed_in, app, live, decision="deny")
    answer = signed_in.http.get(callback)
    assert answer.status_code == 403
    assert "Installation cancelled" in answer.text
    [error] = app.errors
    assert isinstance(error, AccessDeniedByUserError)
    assert error.error == "access_denied" and error.account_id == str(supplier.account_id)
    assert app.installed == [] and app.tokens.get(str(supplier.account_id)) is None


def test_deny_with_the_sync_helper_raises_access_denied_by_user(live, signed_in, supplier, world):
    registration = world.app()
    with OrderchampOAuth(registration.client_id, registration.client_secret, web_url=live.base_url,
                         api_url=f"{live.base_url}/v1") as oauth:
        url, state = oauth.authorization_url(["account_read"], registration.redirect_uris[0])
        consent = signed_in.http.get(url)
        assert consent.status_code == 200, consent.text
        callback = signed_in.decide(consent.text, "deny").headers["location"]
        with pytest.raises(AccessDeniedByUserError) as caught:
            oauth.verify_callback(callback, expected_state=state)
        assert caught.value.account_id == str(supplier.account_id)
        assert registration.client_secret not in str(caught.value)


def test_replayed_callback_is_refused_by_state_and_the_token_survives(live, run_app, signed_in, supplier,
                                                                      new_browser):
    app = run_app()
    callback = signed_callback(signed_in, app, live)
    assert signed_in.http.get(callback).status_code == 303
    token = app.tokens.get(str(supplier.account_id)).access_token

    replay = signed_in.http.get(callback)
    assert replay.status_code == 400 and "Installation not recognised" in replay.text
    stranger = new_browser()
    assert stranger.http.get(callback).status_code == 400
    assert [type(e) for e in app.errors] == [StateMismatchError, StateMismatchError]
    assert len(app.installed) == 1
    # The replays never reached the token endpoint: a second exchange of the code would have
    # revoked the token (the platform's reuse rule), and it still works.
    assert app.tokens.get(str(supplier.account_id)).access_token == token
    assert api_account_name(live, token)


def test_callback_in_another_browser_is_refused(live, run_app, signed_in, supplier, new_browser):
    app = run_app()
    callback = signed_callback(signed_in, app, live)
    other = new_browser()
    answer = other.http.get(callback)  # no cookie of the browser that started the install
    assert answer.status_code == 400
    assert [type(e) for e in app.errors] == [StateMismatchError]
    assert app.installed == [] and app.tokens.get(str(supplier.account_id)) is None


def test_tampered_callbacks_are_refused_and_the_genuine_one_still_installs(live, run_app, signed_in,
                                                                           supplier, world):
    app = run_app()
    other = world.supplier()
    callback = signed_callback(signed_in, app, live)
    base, query = callback.split("?")
    tampered = [
        callback.replace(f"account_id={supplier.account_id}", f"account_id={other.account_id}"),
        callback.replace("code=", "code=x"),
        callback[:-1] + ("0" if callback[-1] != "0" else "1"),              # the signature itself
        f"{base}?{query}&scope=orders_write",                               # an added parameter
        f"{base}?{query.split('&signature=')[0]}",                          # no signature
        f"{base}?{query}&code=occ_attacker",                                # a duplicate parameter
        resigned(callback, "ocs_a-secret-that-is-not-the-apps"),            # signed with another key
    ]
    statuses = [signed_in.http.get(url).status_code for url in tampered]
    assert statuses == [400] * len(tampered)
    assert [type(e) for e in app.errors] == [
        InvalidSignatureError, InvalidSignatureError, InvalidSignatureError, InvalidSignatureError,
        MissingParameterError, DuplicateParameterError, InvalidSignatureError,
    ]
    assert app.installed == []
    # A refused signature does not use up the state: the real callback still completes.
    assert signed_in.http.get(callback).status_code == 303
    assert app.tokens.get(str(supplier.account_id)) is not None


def test_stale_callback_is_refused(live, run_app, signed_in, supplier):
    app = run_app()
    callback = signed_callback(signed_in, app, live)
    secret = app.registration.client_secret
    stale = resigned(callback, secret, timestamp=str(int(time.time()) - 3600))
    future = resigned(callback, secret, timestamp=str(int(time.time()) + 3600))
    assert signed_in.http.get(stale).status_code == 400
    assert signed_in.http.get(future).status_code == 400
    assert [type(e) for e in app.errors] == [StaleTimestampError, StaleTimestampError]
    assert app.installed == []
    assert signed_in.http.get(callback).status_code == 303


def test_tampered_and_stale_install_starts_are_refused(live, run_app, signed_in, supplier, world):
    app = run_app()
    start = press_install(signed_in, app)
    other = world.supplier()
    secret = app.registration.client_secret
    refused = [
        start.replace(f"account_id={supplier.account_id}", f"account_id={other.account_id}"),
        resigned(start, secret, timestamp=str(int(time.time()) - 3600)),
        f"{app.install_url}?account_id={supplier.account_id}&timestamp={int(time.time())}",
    ]
    for url in refused:
        answer = signed_in.http.get(url)
        assert answer.status_code == 400 and "location" not in answer.headers
        assert "set-cookie" not in answer.headers
    assert [type(e) for e in app.errors] == [InvalidSignatureError, StaleTimestampError, MissingParameterError]
    assert signed_in.http.get(start).status_code == 303


def test_callback_signed_with_the_previous_secret_is_accepted_during_rotation(live, platform, run_app,
                                                                              signed_in, supplier):
    # The app knows the platform's current secret and keeps the one before it while a
    # rotation settles; a redirect signed with the old one (in flight when the secret
    # changed) still installs, and the code is exchanged with the current secret.
    app = run_app(previous_client_secret=OLD_SECRET)
    callback = signed_callback(signed_in, app, live)
    old_signed = resigned(callback, OLD_SECRET)
    assert old_signed != callback
    done = signed_in.http.get(old_signed)
    assert done.status_code == 303, (done.text, app.errors)
    stored = app.tokens.get(str(supplier.account_id))
    assert api_account_name(live, stored.access_token) == account_name(platform, supplier.account_id)


def test_callback_signed_with_an_old_secret_is_refused_without_rotation(live, run_app, signed_in, supplier):
    app = run_app()
    callback = signed_callback(signed_in, app, live)
    assert signed_in.http.get(resigned(callback, OLD_SECRET)).status_code == 400
    assert [type(e) for e in app.errors] == [InvalidSignatureError]


def test_the_platform_rotates_the_secret_while_an_install_is_in_flight(live, platform, signed_in, supplier,
                                                                       world):
    """A real rotation on the platform (it has no UI for it yet: ``ClientSecrets.rotate``)."""
    import datetime as dt

    from orderchamp_auth.server.store.database import utcnow

    registration = world.app()
    redirect = registration.redirect_uris[0]
    options = dict(web_url=live.base_url, api_url=f"{live.base_url}/v1")
    with OrderchampOAuth(registration.client_id, registration.client_secret, **options) as before:
        url, state = before.authorization_url(["account_read"], redirect)
    consent = signed_in.http.get(url)
    in_flight = signed_in.decide(consent.text, "approve").headers["location"]  # signed with the old secret

    with platform.database.write() as db:
        row = db.apps.get_by_client_id(registration.client_id)
        new_secret = platform.client_secrets.rotate(row, now=utcnow(), grace=dt.timedelta(hours=1))
    assert new_secret != registration.client_secret

    with OrderchampOAuth(registration.client_id, new_secret, **options) as only_new:
        with pytest.raises(InvalidSignatureError):
            only_new.verify_callback(in_flight, expected_state=state)
    with OrderchampOAuth(registration.client_id, new_secret, previous_client_secret=registration.client_secret,
                         **options) as rotating:
        callback = rotating.verify_callback(in_flight, expected_state=state)
        token = rotating.exchange_code(callback.code)
        assert token.account_id == str(supplier.account_id)
        with rotating.api_client(token.access_token) as api:
            assert api.execute("{ account { name } }").data["account"]["name"]
        # Redirects issued after the rotation are signed with the new secret.
        url, state = rotating.authorization_url(["account_read"], redirect)
        fresh = signed_in.decide(signed_in.http.get(url).text, "approve").headers["location"]
        assert rotating.verify_callback(fresh, expected_state=state).account_id == str(supplier.account_id)
        with OrderchampOAuth(registration.client_id, registration.client_secret, **options) as stale_app:
            with pytest.raises(InvalidSignatureError):
                stale_app.verify_callback(fresh, expected_state=state)


def test_sync_helper_install_with_session_bound_state_and_revocation(live, signed_in, supplier, world):
    """The same flow with ``OrderchampOAuth`` alone (no framework): state store, PKCE, revoke."""
    registration = world.app()
    store = InMemoryStateStore()
    with OrderchampOAuth(registration.client_id, registration.client_secret, web_url=live.base_url,
                         api_url=f"{live.base_url}/v1", state_store=store) as oauth:
        start = oauth.begin_authorization(["account_read", "products_read"], registration.redirect_uris[0],
                                          session_key="browser-1")
        consent = signed_in.http.get(start.url)
        callback_url = signed_in.decide(consent.text, "approve").headers["location"]
        with pytest.raises(StateMismatchError):  # another session cannot use it ...
            oauth.verify_callback(callback_url, session_key="browser-2")
        # ... and that attempt used it up: states are single use, whoever presents them.
        with pytest.raises(StateMismatchError):
            oauth.verify_callback(callback_url, session_key="browser-1")

        start = oauth.begin_authorization(["account_read", "products_read"], registration.redirect_uris[0],
                                          session_key="browser-1")
        callback_url = signed_in.decide(signed_in.http.get(start.url).text, "approve").headers["location"]
        callback = oauth.verify_callback(callback_url, session_key="browser-1")
        assert callback.code_verifier and callback.redirect_uri == registration.redirect_uris[0]
        token = oauth.exchange_code(callback.code, redirect_uri=callback.redirect_uri,
                                    code_verifier=callback.code_verifier)
        assert token.covers("account_read") and not token.missing(["products_read"])
        with oauth.api_client(token.access_token) as api:
            assert api.execute("{ account { id } }").data["account"]["id"]
            oauth.revoke_token(token.access_token)
            with pytest.raises(UnauthenticatedError):
                api.execute("{ account { id } }")
