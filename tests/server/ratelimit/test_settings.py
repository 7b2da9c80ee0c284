"""The rate-limit settings from the environment: on by default, each number checked."""

from __future__ import annotations

import pytest

from orderchamp_auth.server.settings import SettingsError, load_settings

BASE = {"ORDERCHAMP_SECRET_KEY": "k" * 32, "DATABASE_URL": "sqlite:///x.sqlite3"}


def test_the_limits_are_on_with_orderchamps_numbers_by_default(tmp_path):
    settings = load_settings({**BASE, "ORDERCHAMP_DATA_DIR": str(tmp_path)})
    assert settings.rate_limits
    assert (settings.rate_limit_capacity, settings.rate_limit_restore_rate, settings.rate_limit_max_query_cost) == (
        1000, 50, 1000)
    assert settings.redis_url is None and settings.rate_limit_throttled_apps == frozenset()


def test_each_limit_can_be_changed(tmp_path):
    settings = load_settings({**BASE, "ORDERCHAMP_DATA_DIR": str(tmp_path), "ORDERCHAMP_RATE_LIMITS": "0",
                              "ORDERCHAMP_RATE_LIMIT_BUCKET": "5000", "ORDERCHAMP_RATE_LIMIT_RESTORE_RATE": "250",
                              "ORDERCHAMP_RATE_LIMIT_MAX_QUERY_COST": "2000",
                              "ORDERCHAMP_RATE_LIMIT_THROTTLE_APPS": " abc, def ,",
                              "ORDERCHAMP_REDIS_URL": "redis://127.0.0.1:6379/2",
                              "ORDERCHAMP_REDIS_TIMEOUT_MS": "250"})
    assert not settings.rate_limits
    assert (settings.rate_limit_capacity, settings.rate_limit_restore_rate, settings.rate_limit_max_query_cost) == (
        5000, 250, 2000)
    assert settings.rate_limit_throttled_apps == frozenset({"abc", "def"})
    assert settings.redis_url == "redis://127.0.0.1:6379/2" and settings.redis_timeout_ms == 250


@pytest.mark.parametrize(("name", "value"), [
    ("ORDERCHAMP_RATE_LIMITS", "yes"),
    ("ORDERCHAMP_RATE_LIMIT_BUCKET", "0"),
    ("ORDERCHAMP_RATE_LIMIT_RESTORE_RATE", "fast"),
    ("ORDERCHAMP_RATE_LIMIT_MAX_QUERY_COST", "-1"),
    ("ORDERCHAMP_REDIS_URL", "http://127.0.0.1:6379"),
    ("ORDERCHAMP_REDIS_TIMEOUT_MS", "0"),
])
def test_a_bad_value_is_refused_with_its_name(tmp_path, name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({**BASE, "ORDERCHAMP_DATA_DIR": str(tmp_path), name: value})
