"""What a resolver gets: the token's account and scopes, and a database session."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ...protocol.scopes import ScopeSet


@dataclass
class RequestContext:
    account_id: int
    scopes: ScopeSet
    session: Session
