"""The fuzz data set: two accounts with data that tells them apart, tokens of every scope, an
installable app with codes to exchange, and the people of the back office, dashboard and support."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy import select, update

from orderchamp_auth.protocol.global_ids import encode_global_id
from orderchamp_auth.protocol.scopes import Scope
from orderchamp_auth.server.admin import create_account, create_user
from orderchamp_auth.server.api.webhook_payloads import api_payload
from orderchamp_auth.server.demo_catalogue import seed_catalogue
from orderchamp_auth.server.store import models as m

from ..e2e.partner_support import app_of
from ..support import PASSWORD, Browser, PartnerApp, World, form_fields, query_of, unique

# GraphQL type name of each model with a global ID.
NODE_MODELS = {
    "Product": m.Product, "ProductVariant": m.ProductVariant, "ProductImage": m.ProductImage,
    "Customer": m.Customer, "Order": m.Order, "OrderProduct": m.OrderProduct, "Invoice": m.Invoice,
    "InvoiceItem": m.InvoiceItem, "Shipment": m.Shipment,
}
ALL_SCOPES = ",".join(s.value for s in Scope)


@dataclass
class Person:
    email: str
    user_id: int


@dataclass
class FuzzWorld:
    base_url: str
    home_account: int
    home_user: Person
    other_account: int
    marker: str  # in every name of the other account's data, and nowhere else
    home_ids: dict[str, list[str]]  # global IDs of the home account, by type
    foreign_ids: set[str]  # every global ID of the other account
    tokens: dict[str, str]  # a private token on the home account per scope, and "all"
    app: PartnerApp  # verified, installed on the home account through consent
    codes: list[str]  # authorization codes for the app, not yet exchanged
    app_tokens: list[str]  # the app's tokens: one replaced (revoked), then the live one
    office_user: Person  # back office: a user of two accounts of their own
    office_accounts: list[int]
    office_token_ids: list[int]
    partner_user: Person
    partner_id: int
    partner_apps: list[PartnerApp]
    rival_app: PartnerApp  # another partner's app: its pages and secret are never shown
    support_user: Person
    support_partner_id: int
    support_apps: list[PartnerApp]
    login_user: Person  # the login fuzz may lock them out
    home_token_ids: list[int] = field(default_factory=list)

    @property
    def foreign_markers(self) -> list[str]:
        return [self.marker, self.rival_app.client_secret]


def _person(world: World, *, support: bool = False) -> Person:
    with world.platform.database.write() as db:
        user = create_user(db, email=f"{unique('fuzz')}@example.com", password=PASSWORD, is_support=support)
        return Person(user.email, user.id)


def _account_of(world: World, person: Person, name: str) -> int:
    with world.platform.database.write() as db:
        account = create_account(db, name=name)
        db.users.add_to_account(person.user_id, account.id)
        return account.id


def _mark_other_account(world: World, account_id: int, marker: str) -> None:
    """Put the marker into every text the API can show of the other account."""
    with world.platform.database.write() as db:
        db.session.execute(update(m.Product).where(m.Product.account_id == account_id)
                   .values(title=marker + " " + m.Product.title, brand=marker))
        db.session.execute(update(m.ProductVariant).where(m.ProductVariant.account_id == account_id)
                   .values(title=marker + " " + m.ProductVariant.title, sku=marker + "-" + m.ProductVariant.sku))
        db.session.execute(update(m.ProductImage).where(m.ProductImage.account_id == account_id)
                   .values(original_url="https://cdn.example.com/" + marker + ".jpg"))
        db.session.execute(update(m.Customer).where(m.Customer.account_id == account_id)
                   .values(company_name=marker + " " + m.Customer.company_name, address=marker))
        db.session.execute(update(m.Order).where(m.Order.account_id == account_id).values(reference=marker))
        db.session.execute(update(m.OrderProduct).where(m.OrderProduct.account_id == account_id)
                   .values(title=marker, sku=marker))
        db.session.execute(update(m.Invoice).where(m.Invoice.account_id == account_id)
                   .values(number=marker + "-" + m.Invoice.number))
        db.session.execute(update(m.InvoiceItem).where(m.InvoiceItem.account_id == account_id).values(title=marker))
        db.session.execute(update(m.Shipment).where(m.Shipment.account_id == account_id)
                   .values(carrier=marker, tracking_code=marker, tracking_url="https://t.example/" + marker))


def global_ids_of(world: World, account_id: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"Account": [encode_global_id("Account", account_id)]}
    with world.platform.database.read() as db:
        for type_name, model in NODE_MODELS.items():
            rows = db.session.scalars(select(model.id).where(model.account_id == account_id).order_by(model.id))
            found[type_name] = [encode_global_id(type_name, row) for row in rows]
    return found


def _approve(browser: Browser, app: PartnerApp, scope: str, state: str) -> str:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": app.redirect_uris[0],
              "scope": scope, "state": state}
    page = browser.http.get("/oauth/authorize?" + urlencode(params))
    assert page.status_code == 200, page.text[:300]
    fields = dict(form_fields(page.text, "/oauth/authorize"))
    fields["decision"] = "approve"
    answer = browser.http.post("/oauth/authorize", data=fields)
    assert answer.status_code == 303, answer.text[:300]
    return query_of(answer.headers["location"])["code"]


def build_fuzz_world(world: World, base_url: str) -> FuzzWorld:
    marker = f"Elsewhere{uuid.uuid4().hex[:10]}"
    home_user = _person(world)
    home = _account_of(world, home_user, unique("Home shop"))
    stranger = _person(world)
    other = _account_of(world, stranger, f"{marker} shop")
    with world.platform.database.write() as db:
        seed_catalogue(db, home, api_payload, products=10, orders=16)
        seed_catalogue(db, other, api_payload, products=10, orders=16)
    _mark_other_account(world, other, marker)
    foreign = {gid for ids in global_ids_of(world, other).values() for gid in ids}

    tokens = {scope.value: world.private_token(home, scope.value) for scope in Scope}
    tokens["all"] = world.private_token(home, ALL_SCOPES)

    app = world.app(verified=True, redirect_uris=["https://fuzz-app.example.com/callback",
                                                  "https://fuzz-app.example.com/other"])
    browser = Browser(base_url)
    try:
        assert browser.login(home_user.email).status_code == 303
        def exchange(code: str) -> str:
            answer = browser.http.post("/oauth/access_token", json={
                "grant_type": "authorization_code", "code": code, "client_id": app.client_id,
                "client_secret": app.client_secret})
            assert answer.status_code == 200, answer.text
            return answer.json()["access_token"]

        # An installation has one live token, and only a code of its latest consent exchanges:
        # the first token is replaced (revoked) by the last, which stays live.
        exchanged = [exchange(_approve(browser, app, "account_read", "s0"))]
        codes = [_approve(browser, app, scope, f"s{i}") for i, scope in
                 enumerate([ALL_SCOPES, "products_read,orders_write", "customers_read",
                            ALL_SCOPES, "fulfillment_write", "products_read", ALL_SCOPES], start=1)]
        exchanged.append(exchange(codes.pop()))
    finally:
        browser.close()

    office_user = _person(world)
    office_accounts = [_account_of(world, office_user, unique("Office shop")) for _ in range(2)]
    office_tokens = [world.private_token(office_accounts[0], "products_read") for _ in range(3)]
    del office_tokens  # their ids are what the forms name
    with world.platform.database.read() as db:
        office_token_ids = list(db.session.scalars(select(m.AccessToken.id).where(
            m.AccessToken.account_id == office_accounts[0])))
        home_token_ids = list(db.session.scalars(select(m.AccessToken.id).where(m.AccessToken.account_id == home)))

    partner_user = _person(world)
    with world.platform.database.write() as db:
        partners = db.partners
        partner = partners.create(unique("Fuzz partner"))
        partners.add_member(partner.id, partner_user.user_id)
    demo = _account_of(world, partner_user, unique("Fuzz demo"))
    with world.platform.database.write() as db:
        db.partners.link_demo_account(partner.id, demo)
    partner_apps = [app_of(world, partner.id), app_of(world, partner.id, verified=True)]
    rival = world.app(verified=False)

    support_user = _person(world, support=True)
    with world.platform.database.write() as db:
        support_partner = db.partners.create(unique("Reviewed partner"))
    support_apps = [app_of(world, support_partner.id) for _ in range(2)]

    return FuzzWorld(
        base_url=base_url, home_account=home, home_user=home_user, other_account=other, marker=marker,
        home_ids=global_ids_of(world, home), foreign_ids=foreign, tokens=tokens, app=app, codes=codes,
        app_tokens=exchanged, office_user=office_user, office_accounts=office_accounts,
        office_token_ids=office_token_ids, partner_user=partner_user, partner_id=partner.id,
        partner_apps=partner_apps, rival_app=rival, support_user=support_user,
        support_partner_id=support_partner.id, support_apps=support_apps, login_user=_person(world), home_token_ids=home_token_ids,
    )
