"""One transaction: what ``Database.read()`` and ``Database.write()`` yield, and the only way
to the database.

A transaction runs on one connection. Its statements go straight to that connection's driver
(``driver_statements``: compiled once by SQLAlchemy, cached by the ``Database``); where a
repository still works with ORM objects it asks for ``session``, an ORM session made on first
use and bound to the same connection, so both see one transaction. The repositories are made
on first use too (``tx.tokens``, ``tx.apps``, ...): a transaction that needs one lookup pays
for one object, not for all of them.

The transaction began on the driver before the caller got it (``Database``); SQLAlchemy's
own begin, when the session or a Core execution asks for one, joins it instead of emitting a
second BEGIN (``database._configure_sqlite``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from .driver_statements import CompiledStatement, Converter, StatementCache, execute, execute_many, run
from .repositories.accounts import AccountRepository, UserRepository
from .repositories.app_changes import AppChangeRepository
from .repositories.apps import AppRepository, PartnerRepository
from .repositories.catalogue import CatalogueRepository
from .repositories.catalogue_seed import CatalogueSeedRepository
from .repositories.clients import ClientRepository
from .repositories.grants import AuthorizationCodeRepository, InstallationRepository
from .repositories.sessions import LoginFailureRepository, WebSessionRepository
from .repositories.tokens import TokenRepository
from .repositories.webhook_deliveries import DeliveryRepository
from .repositories.webhooks import SubscriberHint, SubscriptionRepository

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

log = logging.getLogger(__name__)

# Marks a connection whose transaction this module began on the driver (see the module's doc).
DRIVER_BEGUN = "orderchamp_driver_begun"

R = TypeVar("R")


class made_on_first_use(Generic[R]):  # noqa: N801 - used as a decorator, like cached_property
    """``functools.cached_property`` without its lock: on Python 3.11 that takes a lock on the
    first use of the property in every instance, and every transaction is a new instance.
    A transaction belongs to one thread, so there is nothing to lock."""

    def __init__(self, make: Callable[[Any], R]) -> None:
        self.make = make
        self.name = make.__name__
        self.__doc__ = make.__doc__

    def __get__(self, tx: Any, owner: type | None = None) -> R:
        made = tx.__dict__[self.name] = self.make(tx)  # the instance's value shadows this from now on
        return made


class Transaction:
    """One unit of work's transaction, with the repositories that run in it."""

    def __init__(self, statements: StatementCache, connection: Connection, *, writing: bool,
                 subscribers: SubscriberHint | None = None) -> None:
        self._statements = statements
        # The database's hint of who has webhook subscribers (``webhooks.outbox``); none: look up.
        self.subscriber_hint = subscribers
        self._connection = connection
        self.driver: Any = connection.connection.driver_connection
        self.dialect: Dialect = connection.dialect
        self.writing = writing
        self._session: Session | None = None
        self._cursor: Any = None
        self._after_commit: list[Callable[[], None]] = []

    # -- the driver path ---------------------------------------------------------------------

    def statement(self, key: Hashable, build: Callable[[], Any], json_lists: Sequence[str] = (),
                  shaping: Callable[[], dict[str, Converter]] | None = None) -> CompiledStatement:
        """The statement ``key``, built and compiled on its first use in this database."""
        return self._statements.get(key, build, json_lists, shaping)

    @property
    def cursor(self) -> Any:
        """The driver cursor every statement of this transaction runs on: made on first use and
        kept, since making one per statement (what the drivers' ``connection.execute`` does)
        costs a measurable part of a short statement. Each statement's rows are fetched before
        the next runs, so one cursor is enough."""
        cursor = self._cursor
        if cursor is None:
            cursor = self._cursor = self.driver.cursor()
        return cursor

    def rows(self, statement: CompiledStatement, values: dict[str, Any] | None = None) -> list[Any]:
        """The rows of a SELECT (or of DML with RETURNING)."""
        return run(self.cursor, self.dialect, statement, values or {})

    def execute(self, statement: CompiledStatement, values: dict[str, Any] | None = None) -> int:
        """Run DML without RETURNING; the number of rows it changed."""
        return execute(self.cursor, statement, values or {})

    def execute_many(self, statement: CompiledStatement, rows: Sequence[dict[str, Any]]) -> None:
        """Run DML without RETURNING once for each of ``rows`` (their values)."""
        execute_many(self.cursor, statement, rows)

    def _close_cursor(self) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            try:
                cursor.close()
            except Exception:  # noqa: S110 - a cursor of a lost connection: nothing is left to close
                pass

    # -- the ORM, for repositories that load and change objects --------------------------------

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session(bind=self._connection, expire_on_commit=False, autoflush=False)
        return self._session

    def flush(self) -> None:
        """Write the changes made to loaded objects now (a commit writes them anyway)."""
        if self._session is not None:
            self._session.flush()

    def _abandon(self) -> None:
        """The connection is lost: forget the session (its transaction ended with it)."""
        self._close_cursor()
        session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # noqa: S110 - the connection is gone; nothing is left to close
                pass

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed (never when it rolls back);
        a callback that raises is logged, not raised: the commit has happened."""
        if callback not in self._after_commit:
            self._after_commit.append(callback)

    def _end(self, commit: bool) -> None:
        """Commit or roll back, on the driver unless SQLAlchemy took part. A read's loaded
        objects stay usable afterwards (closing the session does not expire them)."""
        self._close_cursor()
        session, connection = self._session, self._connection
        self._session = None
        if session is not None:
            if commit:
                session.commit()
            elif self.writing:
                session.rollback()
            session.close()
        if connection.in_transaction():
            if commit:
                connection.commit()
            else:
                connection.rollback()
        elif commit:
            self.driver.commit()
        else:
            self.driver.rollback()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks if commit else ():
            try:
                callback()
            except Exception:
                log.exception("a callback after the commit failed")

    # -- repositories, made on first use ------------------------------------------------------

    @made_on_first_use
    def accounts(self) -> AccountRepository:
        return AccountRepository(self)

    @made_on_first_use
    def users(self) -> UserRepository:
        return UserRepository(self)

    @made_on_first_use
    def partners(self) -> PartnerRepository:
        return PartnerRepository(self)

    @made_on_first_use
    def apps(self) -> AppRepository:
        return AppRepository(self)

    @made_on_first_use
    def app_changes(self) -> AppChangeRepository:
        return AppChangeRepository(self)

    @made_on_first_use
    def clients(self) -> ClientRepository:
        return ClientRepository(self)

    @made_on_first_use
    def installations(self) -> InstallationRepository:
        return InstallationRepository(self)

    @made_on_first_use
    def codes(self) -> AuthorizationCodeRepository:
        return AuthorizationCodeRepository(self)

    @made_on_first_use
    def tokens(self) -> TokenRepository:
        return TokenRepository(self)

    @made_on_first_use
    def sessions(self) -> WebSessionRepository:
        return WebSessionRepository(self)

    @made_on_first_use
    def login_failures(self) -> LoginFailureRepository:
        return LoginFailureRepository(self)

    def catalogue(self, account_id: int) -> CatalogueRepository:
        """The catalogue of one account (its products, orders, ...)."""
        return CatalogueRepository(self, account_id)

    @made_on_first_use
    def catalogue_seed(self) -> CatalogueSeedRepository:
        """Writes whole catalogues at once (the demo's, test data sets')."""
        return CatalogueSeedRepository(self)

    @made_on_first_use
    def webhook_subscriptions(self) -> SubscriptionRepository:
        return SubscriptionRepository(self)

    @made_on_first_use
    def webhook_deliveries(self) -> DeliveryRepository:
        """The outbox: deliveries, their leases and attempts."""
        return DeliveryRepository(self)
