"""The fuzz suite: generated input against the live server. Deselect with ``-m "not fuzz"``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from orderchamp_auth.server.store import models as m

from ..support import Browser, World
from .budget import TimeBudget
from .dataset import FuzzWorld, build_fuzz_world
from .oracle import fresh_client

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.fuzz)


@pytest.fixture(scope="session")
def fuzz(live, platform) -> FuzzWorld:
    return build_fuzz_world(World(platform), live.base_url)


@pytest.fixture(scope="session")
def http(fuzz: FuzzWorld) -> Iterator[httpx.Client]:
    """One client for the plain requests (building one costs more than a request), each on a
    fresh connection."""
    client = fresh_client(fuzz.base_url)
    yield client
    client.close()


@pytest.fixture
def budget() -> TimeBudget:
    return TimeBudget()


def signed_in_browser(base_url: str, email: str) -> Browser:
    browser = Browser(base_url, fresh_client(base_url))
    answer = browser.login(email)
    assert answer.status_code == 303, answer.text[:300]
    return browser


@pytest.fixture
def office(fuzz: FuzzWorld) -> Iterator[Browser]:
    browser = signed_in_browser(fuzz.base_url, fuzz.office_user.email)
    yield browser
    browser.close()


def live_tokens_of(platform, account_id: int) -> int:
    with platform.database.read() as db:
        return int(db.session.scalar(select(func.count()).select_from(m.AccessToken).where(
            m.AccessToken.account_id == account_id, m.AccessToken.revoked_at.is_(None))))


def rows_of(platform, account_id: int) -> tuple[int, ...]:
    """How many rows the account has of each kind, and its data version: a fingerprint of it."""
    with platform.database.read() as db:
        counts = tuple(
            int(db.session.scalar(select(func.count()).select_from(model).where(model.account_id == account_id)))
            for model in (m.Product, m.ProductVariant, m.ProductImage, m.Customer, m.Order, m.Shipment)
        )
        version = db.session.scalar(select(m.DataVersion.version).where(m.DataVersion.account_id == account_id))
    return (*counts, version)
