"""What a resolver gets: the token's account and scopes, a session, the request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ...protocol.scopes import ScopeSet
from ..store.repositories.catalogue import CatalogueRepository
from .loaders import Loaders


@dataclass
class RequestContext:
    account_id: int
    scopes: ScopeSet
    # An ORM session for mutations; a plain connection in a read-only snapshot for queries.
    source: Session | Connection
    # The token's id (an app's token finds its app by it: webhooks) and whether webhook
    # addresses may be on loopback (``Settings.webhook_allow_loopback``).
    token_id: int | None = None
    allow_loopback_webhooks: bool = False
    catalogue: CatalogueRepository = field(init=False)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.catalogue = CatalogueRepository(self.source, self.account_id)
        self.loaders = Loaders(self.catalogue)

    @property
    def session(self) -> Session:
        return self.catalogue.session
