"""The people of the browser tests, created through the platform's services, and what they do first."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from orderchamp_auth.server.admin import create_account, create_user

from ..support import PASSWORD, World, unique


@dataclass
class Shopper:
    email: str
    account_id: int
    account_name: str


def supplier(world: World, account_name: str = "Little Champs") -> Shopper:
    """A supplier with a readable account name (the screenshots show it)."""
    with world.platform.database.write() as db:
        account = create_account(db, name=account_name)
        user = create_user(db, email=f"{unique('sue')}@littlechamps.example", password=PASSWORD)
        db.users.add_to_account(user.id, account.id)
        return Shopper(user.email, account.id, account.name)


def developer(world: World) -> Shopper:
    """A developer with a demo account of their own; support makes them a partner in the pages."""
    return supplier(world, account_name=unique("Acme demo shop"))


def staff(world: World) -> str:
    with world.platform.database.write() as db:
        return create_user(db, email=f"{unique('sam')}@support.example", password=PASSWORD, is_support=True).email


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def logo_file(directory: Path, name: str = "logo.png", color: tuple[int, int, int] = (11, 107, 93)) -> Path:
    """A simple logo: a coloured rounded square with two white bars."""
    image = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 511, 511), radius=110, fill=color)
    draw.rounded_rectangle((120, 150, 392, 215), radius=30, fill="white")
    draw.rounded_rectangle((120, 295, 320, 360), radius=30, fill=(255, 255, 255, 210))
    path = directory / name
    out = io.BytesIO()
    image.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path
