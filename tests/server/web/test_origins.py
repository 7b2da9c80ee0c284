"""What counts as our own origin when a form post names one (``web.sessions.check_same_origin``)."""

from __future__ import annotations

import pytest

from orderchamp_auth.server.settings import Settings, origin_of


@pytest.mark.parametrize(("url", "origin"), [
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("HTTPS://Platform.Example:443/some/path", "https://platform.example"),
    ("http://[::1]:80", "http://[::1]"),
    ("https://platform.example:8443", "https://platform.example:8443"),
    ("null", "null"),
    ("ftp://platform.example", "null"),
    ("http://platform.example:99999", "null"),
    ("https://", "null"),
])
def test_origins_are_serialised_as_browsers_send_them(url, origin):
    assert origin_of(url) == origin


def _settings(web_url: str) -> Settings:
    return Settings(database_url="sqlite://", secret_keys=("k" * 16,), web_url=web_url)


def test_a_public_web_url_has_exactly_one_origin():
    assert _settings("https://platform.example").web_origins == {"https://platform.example"}


def test_a_loopback_web_url_accepts_its_other_loopback_names_on_the_same_port_only():
    origins = _settings("http://127.0.0.1:8000").web_origins
    assert origins == {"http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"}
    assert "http://localhost:8001" not in origins and "https://localhost:8000" not in origins


def test_an_unparsable_web_url_matches_no_origin():
    assert _settings("not a url").web_origins == {"null"}  # and "null" is always refused
