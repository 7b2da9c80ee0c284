"""Failed sign-ins are throttled per client address too (in-process, with a low limit)."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx

from orderchamp_auth.server.app import create_app

from ...support import World, make_settings


async def test_failed_sign_ins_are_throttled_per_address(migrated_database_url):
    settings = replace(make_settings(migrated_database_url, 8000), login_max_failures_per_address=3)
    app = create_app(settings)
    world = World(app.state.platform)
    victims = [world.supplier() for _ in range(4)]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        async def attempt(email: str, password: str) -> int:
            page = (await client.get("/login")).text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            response = await client.post("/login", data={"csrf_token": csrf, "email": email, "password": password})
            return response.status_code

        # Three different accounts, one failure each: the address reaches its limit.
        assert [await attempt(v.email, "wrong-password") for v in victims[:3]] == [400, 400, 400]
        # Now even a correct password from this address is refused.
        assert await attempt(victims[3].email, "correct horse battery") == 429
    app.state.platform.database.dispose()


async def test_concurrent_failures_from_one_address_stop_at_its_limit(migrated_database_url):
    import asyncio

    settings = replace(make_settings(migrated_database_url, 8000), login_max_failures_per_address=3)
    app = create_app(settings)
    world = World(app.state.platform)
    victims = [world.supplier() for _ in range(12)]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        page = (await client.get("/login")).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answers = await asyncio.gather(*(
            client.post("/login", data={"csrf_token": csrf, "email": v.email, "password": "wrong-password"})
            for v in victims
        ))
    # Each attempt is counted before its password is checked: only three get that far.
    assert sorted(a.status_code for a in answers) == [400] * 3 + [429] * 9
    app.state.platform.database.dispose()
