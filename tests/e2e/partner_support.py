"""Partner members, support users, images and the app form: shared by the partner, support,
role and browser tests."""

from __future__ import annotations

import io
from dataclasses import dataclass

import httpx
from PIL import Image

from orderchamp_auth.server.admin import create_account, create_user
from orderchamp_auth.server.oauth.apps import create_app

from ..support import PASSWORD, Browser, PartnerApp, World, form_fields, unique


@dataclass
class Member:
    """A user of a partner, with (by default) a demo account of their own."""

    email: str
    partner_id: int
    demo_account_id: int | None


def partner_member(world: World, *, demo_account: bool = True) -> Member:
    with world.platform.database.write() as db:
        user = create_user(db, email=f"{unique('dev')}@example.com", password=PASSWORD)
        partners = db.partners
        partner = partners.create(unique("Partner"))
        partners.add_member(partner.id, user.id)
        demo_id = None
        if demo_account:
            account = create_account(db, name=unique("Demo shop"))
            db.users.add_to_account(user.id, account.id)
            partners.link_demo_account(partner.id, account.id)
            demo_id = account.id
        return Member(user.email, partner.id, demo_id)


def support_user(world: World) -> str:
    with world.platform.database.write() as db:
        return create_user(db, email=f"{unique('support')}@example.com", password=PASSWORD, is_support=True).email


def app_of(world: World, partner_id: int, *, verified: bool = False,
           redirect_uris: list[str] | None = None) -> PartnerApp:
    uris = redirect_uris or ["https://app.example.com/callback"]
    with world.platform.database.write() as db:
        app, secret = create_app(
            db, world.platform.client_secrets, partner_id=partner_id, name=unique("App"),
            application_url="https://app.example.com/install", redirect_uris=uris, verified=verified,
        )
        return PartnerApp(app.client_id, secret, app.application_url, uris, partner_id, app.id)


def image(fmt: str, size: tuple[int, int] = (64, 48), color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def signed_in(new_browser, email: str) -> Browser:
    b = new_browser()
    assert b.login(email).status_code == 303
    return b


def submit_app_form(
    browser: Browser, action: str, *, page: str, name: str = "Stock Sync",
    application_url: str = "https://sync.example.com/install",
    redirect_uris: list[str] | None = None, description: str = "Keeps stock in step.",
    logo: tuple[str, bytes, str] | None = None, **extra: str,
) -> httpx.Response:
    """Post the create or edit form as a browser does: multipart, CSRF token, an empty file part."""
    csrf = browser.csrf(page)
    data: dict[str, object] = {
        "csrf_token": csrf, "name": name, "description": description, "application_url": application_url,
        "redirect_uri": redirect_uris if redirect_uris is not None else ["https://sync.example.com/callback"],
        **extra,
    }
    files = {"logo": logo or ("", b"", "application/octet-stream")}
    return browser.http.post(action, data=data, files=files)


def create_via_form(browser: Browser, partner_id: int, **kwargs: object) -> httpx.Response:
    return submit_app_form(browser, f"/partners/{partner_id}/apps", page=f"/partners/{partner_id}/apps/new",
                           **kwargs)  # type: ignore[arg-type]


def client_id_from(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"].rsplit("/", 1)[1]


def post_button(browser: Browser, page_path: str, action: str, **data: str) -> httpx.Response:
    page = browser.http.get(page_path)
    assert page.status_code == 200, page.text[:300]
    fields = dict(form_fields(page.text, action))
    fields.update(data)
    return browser.http.post(action, data=fields)
