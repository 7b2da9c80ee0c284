"""Webhook addresses: https on public networks only, checked again when delivering (no SSRF)."""

from __future__ import annotations

import asyncio

import pytest

from orderchamp_auth.server.webhooks.addresses import AddressRefused, check_address, resolve_checked


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
