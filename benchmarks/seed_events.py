#!/usr/bin/env python3
"""What recording webhook events costs the demo seeding (``serve --demo``'s first start).

    benchmarks/seed_events.py [-r ROUNDS]

Seeds the demo catalogue (50 products, 24 customers, 200 orders) into a fresh account of a
temp SQLite database, in turns with and without its event recording, and prints the process
CPU seconds of each (best of the rounds), and the recording's own cost with a cold and a warm
statement cache. Nobody is subscribed: the case of every demo start. A script, not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

from orderchamp_auth.server import demo_catalogue
from orderchamp_auth.server.admin import create_account
from orderchamp_auth.server.api.webhook_payloads import api_payload
from orderchamp_auth.server.store.database import Database
from orderchamp_auth.server.store.migrate import prepare_database

RECORD = demo_catalogue._record_created


def _database() -> Database:
    url = f"sqlite:///{tempfile.mkdtemp()}/seed.sqlite3"
    prepare_database(url)
    return Database(url)


def _seed(database: Database, record: Any) -> float:
    with database.write() as tx:
        account_id = create_account(tx, name="Shop").id
    demo_catalogue._record_created = record  # type: ignore[assignment]
    try:
        start = time.process_time()
        with database.write() as tx:
            demo_catalogue.seed_catalogue(tx, account_id, api_payload)
        return time.process_time() - start
    finally:
        demo_catalogue._record_created = RECORD  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-r", "--rounds", type=int, default=6)
    rounds = parser.parse_args().rounds
    without, with_events = [], []
    for n in range(rounds):  # alternating (which goes first too), each on a fresh database
        for record, times in ((RECORD, with_events), (None, without))[::1 if n % 2 else -1]:
            database = _database()
            times.append(_seed(database, record or (lambda *_args: None)))
            database.dispose()
    own: list[float] = []

    def timed(*args: Any) -> None:
        start = time.process_time()
        RECORD(*args)
        own.append(time.process_time() - start)

    database = _database()
    _seed(database, timed)  # cold: the lookup's statement is compiled here
    _seed(database, timed)  # warm
    database.dispose()
    print(f"seeding, CPU s (best of {rounds}): without events {min(without):.4f}, with {min(with_events):.4f}")
    print(f"recording alone: {own[0] * 1000:.2f} ms cold, {own[1] * 1000:.2f} ms warm "
          f"({own[0] / min(without) * 100:.1f} % of the seeding, cold)")


if __name__ == "__main__":
    main()
