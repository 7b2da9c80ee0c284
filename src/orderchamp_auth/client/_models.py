"""The values the OAuth helper returns. Secrets are kept out of every repr."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, TypeGuard

from orderchamp_auth.protocol.pkce import METHOD_S256, compute_code_challenge, generate_code_verifier
from orderchamp_auth.protocol.scopes import Scope, ScopeSet


class AuthorizationURL(NamedTuple):
    """Where to send the user, and the state that must come back (``url, state = ...``)."""

    url: str
    state: str


@dataclass(frozen=True)
class PKCEPair:
    """A PKCE (RFC 7636, S256) verifier to keep and the challenge to send."""

    verifier: str = field(repr=False)
    challenge: str
    method: str = METHOD_S256


def generate_pkce_pair() -> PKCEPair:
    verifier = generate_code_verifier()
    return PKCEPair(verifier=verifier, challenge=compute_code_challenge(verifier))


@dataclass(frozen=True)
class InstallRequest:
    """A verified install start: Orderchamp sent this account's user to the application URL."""

    account_id: str
    timestamp: float
    params: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class AuthorizationCallback:
    """A verified, approved callback: the code to exchange and what was remembered with the state."""

    account_id: str
    code: str = field(repr=False)
    state: str | None = field(repr=False)
    timestamp: float
    redirect_uri: str | None = None
    code_verifier: str | None = field(default=None, repr=False)
    params: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class AccessToken:
    """A token issued by ``/oauth/access_token``. It does not expire; keep it safe and usable."""

    access_token: str = field(repr=False)
    scopes: ScopeSet
    account_id: str | None
    token_type: str = "bearer"

    def covers(self, required: Iterable[Scope | str] | ScopeSet | str) -> bool:
        """True when the granted scopes cover ``required`` (write implies read)."""
        return self.scopes.covers(as_scope_set(required))

    def missing(self, required: Iterable[Scope | str] | ScopeSet | str) -> ScopeSet:
        """The required scopes this token lacks: ask the user to approve them."""
        return self.scopes.missing(as_scope_set(required))


def as_scope_set(scopes: Iterable[Scope | str] | ScopeSet | str | None) -> ScopeSet:
    """A scope set from a wire string (``"a,b"`` or ``"a b"``), a list, or a set."""
    if scopes is None:
        return ScopeSet()
    if isinstance(scopes, ScopeSet):
        return scopes
    if isinstance(scopes, str):
        return ScopeSet.parse(scopes)
    return ScopeSet(scopes)


def missing_scopes(
    granted: Iterable[Scope | str] | ScopeSet | str | None,
    required: Iterable[Scope | str] | ScopeSet | str | None,
) -> ScopeSet:
    """The required scopes that ``granted`` does not cover; empty when nothing is missing."""
    return as_scope_set(granted).missing(as_scope_set(required))


@dataclass(frozen=True)
class ThrottleStatus:
    """The bucket after a request: ``extensions.cost.throttleStatus``."""

    maximum_available: float
    currently_available: float
    restore_rate: float

    def seconds_until(self, points: float) -> float:
        """How long until ``points`` are available, by the restore rate."""
        missing = points - self.currently_available
        if missing <= 0:
            return 0.0
        return missing / self.restore_rate if self.restore_rate > 0 else float("inf")


@dataclass(frozen=True)
class QueryCost:
    """``extensions.cost`` of a response: what the query was priced at and what it used."""

    requested: int | None
    actual: int | None
    throttle_status: ThrottleStatus | None

    @classmethod
    def from_json(cls, item: object) -> QueryCost | None:
        if not isinstance(item, Mapping):
            return None
        status = item.get("throttleStatus")
        throttle = None
        if isinstance(status, Mapping):
            numbers = [status.get(k) for k in ("maximumAvailable", "currentlyAvailable", "restoreRate")]
            if all(_is_number(n) for n in numbers):
                throttle = ThrottleStatus(*(float(n) for n in numbers))  # type: ignore[arg-type]
        requested, actual = item.get("requestedQueryCost"), item.get("actualQueryCost")
        return cls(int(requested) if _is_number(requested) else None, int(actual) if _is_number(actual) else None,
                   throttle)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
