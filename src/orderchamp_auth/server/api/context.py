"""What a graphql-core resolver gets: the token's account and scopes, the transaction's
source (an ORM session for mutations), the catalogue repository and the request's loaders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from ...protocol.scopes import ScopeSet
from ..store.repositories.catalogue import CatalogueRepository
from ..store.repositories.catalogue_writes import CatalogueWrites
from ..store.transaction import Transaction
from .loaders import Loaders


@dataclass
class RequestContext:
    account_id: int
    scopes: ScopeSet
    source: Transaction  # a write for mutations, a read for queries
    catalogue: CatalogueRepository = None  # type: ignore[assignment]  # made from ``source`` when not given
    # The token's id (an app's token finds its app by it: webhooks) and whether webhook
    # addresses may be on loopback (``Settings.webhook_allow_loopback``).
    token_id: int | None = None
    allow_loopback_webhooks: bool = False
    # What the endpoint's lookups, before the transaction, found wrong with each webhook
    # address of the request (None: nothing); an address not in it is not subscribed to.
    webhook_addresses: Mapping[str, str | None] = field(default_factory=dict)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        if self.catalogue is None:
            self.catalogue = self.source.catalogue(self.account_id)
        self.loaders = Loaders(self.catalogue)

    @cached_property
    def writes(self) -> CatalogueWrites:
        """The mutations' way to change data (needs an ORM session: a write transaction)."""
        return CatalogueWrites(self.catalogue.session, self.account_id)
