"""What a resolver gets: the token's account and scopes, a session, the request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ...protocol.scopes import ScopeSet
from ..store.repositories.catalogue import CatalogueRepository
from ..store.transaction import Transaction
from .loaders import Loaders


@dataclass
class RequestContext:
    account_id: int
    scopes: ScopeSet
    source: Transaction  # a write for mutations, a read for queries
    catalogue: CatalogueRepository = field(init=False)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.catalogue = self.source.catalogue(self.account_id)
        self.loaders = Loaders(self.catalogue)

    @property
    def session(self) -> Session:
        return self.catalogue.session
