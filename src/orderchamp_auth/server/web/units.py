"""A request's one transaction: how the pages' handlers reach the database.

A handler runs its database work as one unit, ``work(tx)``: a plain function of one
``Transaction`` that reads or changes what the page needs and returns it. The handler acts on
the result (cookies, flash messages, the bearer cache) only once the unit has returned, that is
once its transaction committed; ``work`` itself does nothing outside ``tx``.

Which thread runs the unit follows the rule in ``store.write_lock``. Pages run theirs in
Starlette's thread pool (``in_read``, ``in_write``): they load ORM objects and lists, work the
event loop should not wait for, and a write there may wait for its lock within its bound. The
lookups every request makes (the session) and the OAuth endpoints' short units run from the
event loop itself with ``db.reading``/``db.writing``, where the database decides.

Before its unit, a page reads the signed-in user once (``sessions.current_user``, cached for
the request): that read authenticates the request, as the bearer lookup does for the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from ..store.transaction import Transaction
from .platform import Platform

T = TypeVar("T")


async def in_read(platform: Platform, work: Callable[[Transaction], T]) -> T:
    """``work(tx)`` in one read transaction, off the event loop."""

    def run() -> T:
        with platform.database.read() as tx:
            return work(tx)

    return await run_in_threadpool(run)


async def in_write(platform: Platform, work: Callable[[Transaction], T]) -> T:
    """``work(tx)`` in one write transaction, off the event loop: committed when it returns,
    rolled back (nothing written) when it raises."""

    def run() -> T:
        with platform.database.write() as tx:
            return work(tx)

    return await run_in_threadpool(run)
