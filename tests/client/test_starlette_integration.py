"""The install flow routes, driven like a browser against a stand-in platform."""

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse

from orderchamp_auth.client import AsyncOrderchampOAuth, InMemoryTokenStore, UnauthenticatedError
from orderchamp_auth.client.integrations.starlette import OrderchampInstallFlow

from .fake_platform import FakePlatform

APP = "http://app.test"


class Harness:
    def __init__(
        self,
        platform: FakePlatform,
        *,
        oauth_secret: str | None = None,
        previous: str | None = None,
        clock=time.time,
        **flow_options,
    ) -> None:
        self.platform = platform
        platform_transport = httpx.ASGITransport(platform.app())
        self.oauth = AsyncOrderchampOAuth(
            platform.client_id,
            oauth_secret or platform.client_secret,
            previous_client_secret=previous,
            web_url="http://platform.test",
            api_url="http://platform.test/v1",
            transport=platform_transport,
            clock=clock,
        )
        self.tokens = InMemoryTokenStore()
        self.installed: list = []
        flow_options.setdefault(
            "on_install", lambda installation, request: self.installed.append(installation)
        )
        self.flow = OrderchampInstallFlow(
            self.oauth,
            scopes="account_read,products_read",
            redirect_uri=f"{APP}/callback",
            token_store=self.tokens,
            **flow_options,
        )
        app = Starlette(routes=[*self.flow.routes])
        self.app_transport = httpx.ASGITransport(app)
        self.browser = httpx.AsyncClient(transport=self.app_transport, base_url=APP)
        self.platform_browser = httpx.AsyncClient(
            transport=platform_transport, base_url="http://platform.test"
        )

    async def start(self) -> httpx.Response:
        return await self.browser.get(self.platform.install_start_url(f"{APP}/install"))

    async def consent(self, start: httpx.Response) -> str:
        """The user approves (or denies, per the platform's decision); returns the callback URL."""
        assert start.status_code == 303, start.text
        answer = await self.platform_browser.get(start.headers["location"])
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    async def install(self) -> httpx.Response:
        return await self.browser.get(await self.consent(await self.start()))


@pytest.fixture
def harness(platform):
    return Harness(platform)


async def test_a_full_install_stores_the_token_calls_the_hook_and_finishes_on_orderchamp(harness):
    start = await harness.start()
    authorize = urlsplit(start.headers["location"])
    query = parse_qs(authorize.query)
    assert authorize.path == "/oauth/authorize"
    assert query["scope"] == ["account_read,products_read"]
    assert query["redirect_uri"] == [f"{APP}/callback"]
    assert query["code_challenge_method"] == ["S256"]
    cookie = start.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie

    done = await harness.browser.get(await harness.consent(start))
    assert done.status_code == 303
    assert (
        done.headers["location"]
        == f"http://platform.test/oauth/finish?client_id={harness.platform.client_id}"
    )
    assert done.headers["cache-control"] == "no-store"

    installation = harness.tokens.get("1042")
    assert installation is not None and harness.installed == [installation]
    assert installation.scopes.to_string() == "account_read,products_read"
    exchange = harness.platform.exchanges[0]
    assert exchange["grant_type"] == "authorization_code" and exchange["redirect_uri"] == f"{APP}/callback"
    assert "code_verifier" in exchange

    async with harness.oauth.api_client(installation.access_token) as api:
        result = await api.execute("{ account { name } }")
    assert result.data == {"account": {"name": "Little Champs", "type": "SUPPLIER"}}


async def test_a_denied_install_shows_a_cancelled_page_and_stores_nothing(harness):
    harness.platform.decision = "deny"
    page = await harness.install()
    assert page.status_code == 403
    assert "declined" in page.text
    assert harness.tokens.get("1042") is None and harness.installed == []
    assert len(harness.oauth.state_store) == 0


async def test_a_replayed_callback_is_refused_by_its_spent_state(harness):
    callback = await harness.consent(await harness.start())
    assert (await harness.browser.get(callback)).status_code == 303
    replay = await harness.browser.get(callback)
    assert replay.status_code == 400
    assert "StateMismatchError" in replay.text
    assert len(harness.platform.exchanges) == 1


async def test_a_callback_opened_in_another_browser_is_refused(harness):
    callback = await harness.consent(await harness.start())
    stranger = httpx.AsyncClient(transport=harness.app_transport, base_url=APP)
    answer = await stranger.get(callback)
    assert answer.status_code == 400 and "StateMismatchError" in answer.text
    assert harness.platform.exchanges == []


async def test_a_tampered_callback_is_refused_without_exchanging(harness):
    callback = await harness.consent(await harness.start())
    answer = await harness.browser.get(callback.replace("account_id=1042", "account_id=1043"))
    assert answer.status_code == 400 and "InvalidSignatureError" in answer.text
    assert harness.platform.exchanges == []


async def test_a_stale_callback_is_refused(platform):
    now = [time.time()]
    harness = Harness(platform, clock=lambda: now[0])
    callback = await harness.consent(await harness.start())
    now[0] += 301
    answer = await harness.browser.get(callback)
    assert answer.status_code == 400 and "StaleTimestampError" in answer.text


async def test_an_install_start_with_a_bad_signature_is_refused_without_a_cookie(harness):
    url = harness.platform.install_start_url(f"{APP}/install").replace("signature=", "signature=0")
    answer = await harness.browser.get(url)
    assert answer.status_code == 400 and "set-cookie" not in answer.headers
    assert answer.headers["x-frame-options"] == "DENY"


async def test_the_install_still_works_with_the_previous_secret_during_rotation():
    platform = FakePlatform(signing_secret="ocs_old-secret")
    assert (await Harness(platform).start()).status_code == 400
    rotated = Harness(platform, previous="ocs_old-secret")
    assert (await rotated.install()).status_code == 303
    assert rotated.tokens.get("1042") is not None


async def test_a_failed_exchange_shows_an_error_page_without_the_code(harness):
    callback = await harness.consent(await harness.start())
    code = parse_qs(urlsplit(callback).query)["code"][0]
    harness.platform.codes.clear()
    answer = await harness.browser.get(callback)
    assert answer.status_code == 502 and "ExchangeError" in answer.text
    assert code not in answer.text
    assert harness.tokens.get("1042") is None


async def test_the_hook_may_answer_and_the_app_page_may_replace_the_finish_url(platform):
    async def on_install(installation, request):
        return PlainTextResponse(f"welcome {installation.account_id}")

    assert (await Harness(platform, on_install=on_install).install()).text == "welcome 1042"
    answer = await Harness(platform, after_install_url="/dashboard").install()
    assert answer.headers["location"] == "/dashboard"


async def test_errors_can_be_rendered_by_the_app(harness):
    harness.flow.on_error = lambda request, exc: PlainTextResponse(f"custom {exc.__class__.__name__}", 418)
    answer = await harness.browser.get(f"{APP}/install?account_id=1")
    assert (answer.status_code, answer.text) == (418, "custom MissingParameterError")


async def test_the_session_key_of_the_flow_identifies_the_browser_for_the_app(harness):
    start = await harness.start()
    key = harness.browser.cookies.get("orderchamp_app_session")
    assert key and len(key) >= 32
    again = await harness.start()
    assert harness.browser.cookies.get("orderchamp_app_session") == key
    assert start.headers["location"] != again.headers["location"]


async def test_a_revoked_token_is_refused_by_the_api_as_unauthenticated(harness):
    await harness.install()
    token = harness.tokens.get("1042").access_token
    await harness.oauth.revoke_token(token)
    async with harness.oauth.api_client(token) as api:
        with pytest.raises(UnauthenticatedError):
            await api.execute("{ account { name } }")
