"""End-to-end tests: the fixtures (a live server on loopback, a World) live in tests/conftest.py;
the webhook tests' own (a server whose worker delivers to loopback, a receiver) live here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..support import LiveServer
from .webhook_support import Receiver, start_hooks_server, start_receiver


@pytest.fixture(scope="module")
def hooks(settings, tmp_path_factory) -> Iterator[LiveServer]:
    server = start_hooks_server(settings, str(tmp_path_factory.mktemp("hooks") / "server.log"))
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = start_receiver()
    yield made
    made.close()
