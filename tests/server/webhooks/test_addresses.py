"""Webhook addresses: https on public networks only, checked again when delivering (no SSRF)."""

from __future__ import annotations

import asyncio

import pytest

from orderchamp_auth.server.webhooks.addresses import (
    MAX_LOOKUPS,
    AddressRefused,
    check_address,
    check_addresses,
    fixed_hosts_resolver,
    resolve_checked,
)


@pytest.mark.parametrize("address", [
    "http://hooks.example.com/orders",  # plain http off loopback
    "https://10.0.0.7/hooks",
    "https://192.168.1.20/hooks",
    "https://172.16.0.1/hooks",
    "https://169.254.169.254/latest/meta-data",  # the cloud metadata address
    "https://100.64.0.1/hooks",  # carrier-grade NAT
    "https://[fd00::1]/hooks",
    "https://[::ffff:10.0.0.1]/hooks",  # a private IPv4 address in IPv6 form
    "https://0.0.0.0/hooks",
    "https://127.0.0.1/hooks",
    "http://localhost:9000/hooks",
    "https://printer.local/hooks",
    "https://db.internal/hooks",
    "https://intranet/hooks",
    "https://user:pass@hooks.example.com/",
    "ftp://hooks.example.com/",
    "https://hooks.example.com/#frag",
])
def test_private_and_malformed_addresses_are_refused(address):
    assert check_address(address, allow_loopback=False) is not None


def test_public_https_addresses_are_accepted():
    assert check_address("https://hooks.example.com/orders?x=1", allow_loopback=False) is None
    assert check_address("https://93.184.216.34/hooks", allow_loopback=False) is None


def test_loopback_only_when_allowed():
    for address in ("http://127.0.0.1:9000/hooks", "http://localhost:9000/hooks", "http://[::1]:9000/hooks"):
        assert check_address(address, allow_loopback=True) is None
        assert check_address(address, allow_loopback=False) is not None
    # Allowing loopback allows no other private network, and no plain http elsewhere.
    assert check_address("http://10.0.0.1/hooks", allow_loopback=True) is not None
    assert check_address("http://hooks.example.com/", allow_loopback=True) is not None


def _resolver(answers: dict[str, list[str]]):
    async def resolve(host: str, _port: int) -> list[str]:
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    return resolve


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery():
    # Public when subscribing (the form is fine), private when delivering: DNS rebinding.
    assert check_address("https://rebind.example.com/hooks", allow_loopback=False) is None
    for answer in (["10.0.0.5"], ["127.0.0.1"], ["93.184.216.34", "192.168.0.10"], ["::1"], ["169.254.169.254"]):
        with pytest.raises(AddressRefused, match="private or reserved"):
            asyncio.run(resolve_checked("https://rebind.example.com/hooks", allow_loopback=False,
                                        resolver=_resolver({"rebind.example.com": answer})))


def test_a_public_answer_gives_the_address_to_connect_to():
    ip, host, port = asyncio.run(resolve_checked(
        "https://hooks.example.com:8443/x", allow_loopback=False,
        resolver=_resolver({"hooks.example.com": ["93.184.216.34"]})))
    assert (ip, host, port) == ("93.184.216.34", "hooks.example.com", 8443)


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(AddressRefused, match="does not resolve"):
        asyncio.run(resolve_checked("https://gone.example.com/", allow_loopback=False, resolver=_resolver({})))


# Subscribe time: the API looks the hosts up before its write transaction (check_addresses).

def test_subscribe_time_lookups_refuse_private_answers_and_unknown_names():
    resolver = _resolver({"hooks.example.com": ["93.184.216.34"], "rebind.example.com": ["93.184.216.34", "10.0.0.5"]})
    found = asyncio.run(check_addresses(
        ["https://hooks.example.com/a", "https://rebind.example.com/b", "https://gone.example.com/c",
         "https://10.1.2.3/d", "https://93.184.216.34/e"], allow_loopback=False, resolver=resolver))
    assert found == {
        "https://hooks.example.com/a": None,
        "https://rebind.example.com/b": "The address resolves to a private or reserved network address.",
        "https://gone.example.com/c": "The address's host name does not resolve.",
        "https://10.1.2.3/d": "The address must be on a public network.",
        "https://93.184.216.34/e": None,
    }


def test_a_lookup_that_hangs_is_cut_at_the_timeout_and_refused():
    async def hanging(host: str, port: int) -> list[str]:
        await asyncio.sleep(3600)
        return ["93.184.216.34"]

    async def main() -> tuple[dict[str, str | None], bool]:
        ticks = 0

        async def tick() -> None:  # the loop keeps running while the lookup waits
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        found = await check_addresses(["https://slow.example.com/"], allow_loopback=False, resolver=hanging,
                                      timeout=0.2)
        ticker.cancel()
        return found, ticks > 1

    found, loop_ran = asyncio.run(main())
    assert found == {"https://slow.example.com/": "The address's host name did not resolve in time."}
    assert loop_ran


def test_at_most_so_many_addresses_are_looked_up_for_one_request():
    asked: list[str] = []

    async def counting(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["93.184.216.34"]

    addresses = [f"https://h{n}.example.com/" for n in range(MAX_LOOKUPS + 3)]
    found = asyncio.run(check_addresses(addresses + addresses[:2], allow_loopback=False, resolver=counting))
    assert len(asked) == MAX_LOOKUPS  # duplicates asked once, the ones past the bound not at all
    assert [found[a] for a in addresses[:MAX_LOOKUPS]] == [None] * MAX_LOOKUPS
    assert all("At most" in (found[a] or "") for a in addresses[MAX_LOOKUPS:])


def test_fixed_hosts_answer_before_the_fallback_and_are_checked_like_dns():
    fallback = _resolver({"other.example.com": ["93.184.216.34"]})
    resolver = fixed_hosts_resolver({"Hooks.Example.com": "10.0.0.9"}, fallback)
    assert asyncio.run(resolver("hooks.example.com.", 443)) == ["10.0.0.9"]
    assert asyncio.run(resolver("other.example.com", 443)) == ["93.184.216.34"]
    with pytest.raises(AddressRefused, match="private or reserved"):
        asyncio.run(resolve_checked("https://hooks.example.com/", allow_loopback=False, resolver=resolver))


def test_the_fixed_hosts_setting_is_name_ip_pairs(tmp_path):
    from orderchamp_auth.server.settings import SettingsError, load_settings

    base = {"ORDERCHAMP_SECRET_KEY": "k" * 32, "DATABASE_URL": "sqlite:///x.sqlite3", "ORDERCHAMP_DATA_DIR": str(tmp_path)}
    assert load_settings(base).webhook_hosts == ()
    settings = load_settings({**base, "ORDERCHAMP_WEBHOOK_HOSTS": " Hooks.Example.com=93.184.216.34, v6.example.com=2606:2800::1,"})
    assert settings.webhook_hosts == (("hooks.example.com", "93.184.216.34"), ("v6.example.com", "2606:2800::1"))
    for bad in ("hooks.example.com", "hooks.example.com=not-an-ip", "=1.2.3.4"):
        with pytest.raises(SettingsError, match="ORDERCHAMP_WEBHOOK_HOSTS"):
            load_settings({**base, "ORDERCHAMP_WEBHOOK_HOSTS": bad})
