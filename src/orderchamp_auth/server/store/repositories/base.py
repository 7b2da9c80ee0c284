"""What every repository is: the methods of one concern, run in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from ..transaction import Transaction


class Repository:
    """Runs its statements in ``tx``: on the driver (``tx.statement``/``tx.rows``/``tx.execute``,
    for the hot paths) or with ORM objects through the transaction's session."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    @property
    def session(self) -> Session:
        return self.tx.session


def table_of(model: Any) -> Table:
    """A mapped class's table, typed as one (``__table__`` is declared a ``FromClause``)."""
    return cast(Table, model.__table__)


def rowcount(result: Result[Any]) -> int:
    """How many rows a DML statement changed (``Session.execute`` types its result as a plain
    ``Result``, which has no ``rowcount``)."""
    return cast(CursorResult[Any], result).rowcount or 0
