"""How much the fuzz suite may spend: examples per test and seconds per test, from the environment.

``ORDERCHAMP_FUZZ_EXAMPLES`` sets hypothesis' ``max_examples`` for every fuzz test (the default
keeps the whole suite to a minute or two per database in CI); ``ORDERCHAMP_FUZZ_SECONDS`` caps
each test's wall time as a safety net. The examples are derandomized, so every run sends the
same requests in the same order: a failure in CI reproduces on a developer's machine.
"""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, Phase, assume, settings

EXAMPLES = int(os.environ.get("ORDERCHAMP_FUZZ_EXAMPLES", "40"))
SECONDS_PER_TEST = float(os.environ.get("ORDERCHAMP_FUZZ_SECONDS", "15"))

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    # No explain phase: it replays a failure hundreds of times, each a request to the server.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    # The live server and the fixtures are shared by every example on purpose (a session is
    # signed in once); generated GraphQL documents and bodies are large by design.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


class TimeBudget:
    """Ends a test's search once its seconds are spent: later examples are discarded unsent.

    The number of examples is the real bound (and deterministic); this only keeps a slow
    machine from running a test for ever. A failure found before the budget ends is still
    reported, with the requests noted.
    """

    def __init__(self, seconds: float = SECONDS_PER_TEST) -> None:
        self.seconds = seconds
        self.started: float | None = None

    def spend(self) -> None:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        assume(now - self.started < self.seconds)
