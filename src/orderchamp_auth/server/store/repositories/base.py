"""What every repository is: the methods of one concern, run in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
