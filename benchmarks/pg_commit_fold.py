#!/usr/bin/env python3
"""PostgreSQL: what folding a write's last statement into its COMMIT's round trip buys.

Three ways to end a transaction whose last statement is an INSERT .. RETURNING, interleaved
(``--rounds`` times each, one after another) on a scratch table of the server that
``DATABASE_URL`` names: ``execute`` (the statement, then ``commit()``: two round trips, as the
token endpoint does), ``one-query`` (``statement; COMMIT`` as one query, which needs
client-side binding: psycopg's ``ClientCursor``) and ``pipeline`` (psycopg's pipeline mode:
the statement and the COMMIT in one flush, and a Sync when the pipeline ends). Prints, per way,
the median time until the commit returned, the median total, and the mean process CPU.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/pg_commit_fold.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time

import psycopg
from psycopg import ClientCursor

TABLE = "oc_bench_commit_fold"
SQL = (f"INSERT INTO {TABLE} (h, at, n) VALUES (%(h)s::VARCHAR, %(at)s::TIMESTAMP WITH TIME ZONE, "
       "%(n)s::BIGINT) RETURNING id")


def values() -> dict[str, object]:
    return {"h": "x" * 64, "at": dt.datetime.now(dt.UTC), "n": 1}


def by_execute(conn: psycopg.Connection) -> float:
    cursor = conn.cursor()
    cursor.execute(SQL, values())
    cursor.fetchall()
    conn.commit()
    return time.perf_counter()


def by_one_query(conn: psycopg.Connection) -> float:
    with ClientCursor(conn) as cursor:
        cursor.execute(SQL + "; COMMIT", values())
        cursor.fetchall()
    committed = time.perf_counter()
    conn.commit()  # nothing left to commit: no round trip
    return committed


def by_pipeline(conn: psycopg.Connection) -> float:
    with conn.pipeline():
        cursor = conn.cursor()
        cursor.execute(SQL, values())
        conn.commit()
        committed = time.perf_counter()
    cursor.fetchall()
    return committed


def by_pipeline_commit(conn: psycopg.Connection) -> float:
    with conn.pipeline():
        cursor = conn.cursor()
        cursor.execute(SQL, values())
        conn.cursor().execute("COMMIT")  # ends it without commit()'s Sync: one for all
    committed = time.perf_counter()
    cursor.fetchall()
    conn.commit()  # nothing left to commit: no round trip
    return committed


WAYS = {"execute": by_execute, "one-query": by_one_query, "pipeline": by_pipeline,
        "pipeline-commit": by_pipeline_commit}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=150)
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, h varchar, at timestamptz, n bigint)")
        conn.commit()
        figures: dict[str, tuple[list[float], list[float], list[float]]] = {name: ([], [], []) for name in WAYS}
        try:
            for _ in range(args.rounds):
                for name, way in WAYS.items():
                    for _ in range(3):
                        conn.execute("SELECT 1").fetchall()  # the transaction is open (BEGIN sent)
                        began, cpu = time.perf_counter(), time.process_time()
                        committed = way(conn)
                        until, total, cpus = figures[name]
                        until.append(committed - began)
                        total.append(time.perf_counter() - began)
                        cpus.append(time.process_time() - cpu)
        finally:
            conn.rollback()
            conn.execute(f"DROP TABLE {TABLE}")
            conn.commit()
    for name, (until, total, cpus) in figures.items():
        print(f"{name:10} until committed {statistics.median(until) * 1e3:6.3f} ms, total "
              f"{statistics.median(total) * 1e3:6.3f} ms, CPU {statistics.mean(cpus) * 1e6:5.0f} µs")


if __name__ == "__main__":
    main()
