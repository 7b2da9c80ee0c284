"""The small things a newcomer sees first: error pages that say what happened once, and an icon."""

from __future__ import annotations

import re

import httpx
import pytest

from orderchamp_auth.server.demo import format_demo, seed_demo


def _heading_and_message(page: str) -> tuple[str, str]:
    card = re.search(r'<section class="card error-card"[^>]*>\s*<h1>(.*?)</h1>\s*<p>(.*?)</p>', page, re.S)
    assert card, page[:2000]
    return card.group(1).strip(), card.group(2).strip()


@pytest.mark.parametrize("path", ["/no/such/page", "/static/no-such-file.css"])
def test_unknown_address_says_page_not_found_once(live, path):
    response = httpx.get(live.base_url + path)
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    heading, message = _heading_and_message(response.text)
    assert heading == "Page not found"
    # Not Starlette's status phrase repeated under the title, but what to do about it.
    assert "not found" not in message.lower() and "link" in message
    assert "<title>Page not found · Orderchamp</title>" in response.text


def test_wrong_method_page_says_method_not_allowed_once(live):
    response = httpx.put(live.base_url + "/healthz")
    assert response.status_code == 405 and response.headers["content-type"].startswith("text/html")
    heading, message = _heading_and_message(response.text)
    assert heading == "Method not allowed"
    assert "not allowed" not in message.lower() and message


def test_favicon_ico_answers_with_an_icon_rather_than_a_404(live):
    response = httpx.get(live.base_url + "/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/")
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file, not a page


def test_every_page_links_an_icon_that_loads(live):
    page = httpx.get(live.base_url + "/login")
    links = re.findall(r'<link rel="icon" href="([^"]+)"', page.text)
    assert "/favicon.ico" in links and "/static/favicon.svg" in links
    for href in links:
        icon = httpx.get(live.base_url + href)
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/"), href
    assert httpx.get(live.base_url + "/static/favicon.svg").text.lstrip().startswith("<svg")


def test_every_line_of_the_demo_banner_names_its_value_with_a_colon(platform, settings):
    data = seed_demo(settings, platform.database, platform.client_secrets)
    lines = format_demo(data).splitlines()[1:]
    assert lines and all(re.match(r"  [a-zA-Z_ ()]+: +\S", line) for line in lines), lines
    assert f"  application_url: {data.application_url}" in lines
