"""Access scopes (SPEC section 2): one enum, one set type that knows write implies read.

Scope lists travel comma-separated (``account_read,products_read``). Parsing also accepts
spaces, drops duplicates and refuses unknown names; writing always uses the canonical order
of the table (resource by resource, read before write), comma-separated, no spaces.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator

from .errors import ScopeError


class Resource(enum.Enum):
    ACCOUNT = "account"
    PRODUCTS = "products"
    ORDERS = "orders"
    FULFILLMENT = "fulfillment"
    CUSTOMERS = "customers"


class Scope(str, enum.Enum):
    ACCOUNT_READ = "account_read"
    ACCOUNT_WRITE = "account_write"
    PRODUCTS_READ = "products_read"
    PRODUCTS_WRITE = "products_write"
    ORDERS_READ = "orders_read"
    ORDERS_WRITE = "orders_write"
    FULFILLMENT_READ = "fulfillment_read"
    FULFILLMENT_WRITE = "fulfillment_write"
    CUSTOMERS_READ = "customers_read"
    CUSTOMERS_WRITE = "customers_write"

    @property
    def resource(self) -> Resource:
        return Resource(self.value.rsplit("_", 1)[0])

    @property
    def is_write(self) -> bool:
        return self.value.endswith("_write")

    @property
    def read_scope(self) -> Scope:
        return Scope(f"{self.resource.value}_read")

    @property
    def description(self) -> str:
        return SCOPE_DESCRIPTIONS[self]

    def __str__(self) -> str:
        return self.value


# The table order of SPEC section 2; enum definition order follows it.
_ORDER: dict[Scope, int] = {scope: i for i, scope in enumerate(Scope)}

RESOURCE_DESCRIPTIONS: dict[Resource, str] = {
    Resource.ACCOUNT: "Account",
    Resource.PRODUCTS: "Products, product variants and product images",
    Resource.ORDERS: "Orders, order products, invoices and invoice items",
    Resource.FULFILLMENT: "Shipments",
    Resource.CUSTOMERS: "Customers",
}

SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.ACCOUNT_READ: "See your account details",
    Scope.ACCOUNT_WRITE: "Change your account details",
    Scope.PRODUCTS_READ: "See your products, variants and product images",
    Scope.PRODUCTS_WRITE: "Create, change and delete your products, variants and images",
    Scope.ORDERS_READ: "See your orders, order lines, invoices and invoice items",
    Scope.ORDERS_WRITE: "Confirm and cancel your orders",
    Scope.FULFILLMENT_READ: "See your shipments",
    Scope.FULFILLMENT_WRITE: "Create and update shipments",
    Scope.CUSTOMERS_READ: "See your customers",
    Scope.CUSTOMERS_WRITE: "Create customers",
}

_SEPARATORS = re.compile(r"[,\s]+")
_BY_VALUE: dict[str, Scope] = {s.value: s for s in Scope}


class ScopeSet:
    """An immutable set of scopes. Membership honours implication: write covers read."""

    __slots__ = ("_scopes", "_effective", "_text")

    def __init__(self, scopes: Iterable[Scope | str] = ()) -> None:
        members: set[Scope] = set()
        unknown: list[str] = []
        for item in scopes:
            if isinstance(item, Scope):
                members.add(item)
            elif item in _BY_VALUE:
                members.add(_BY_VALUE[item])
            else:
                unknown.append(str(item))
        if unknown:
            raise ScopeError(f"unknown scope: {', '.join(unknown)}", unknown=tuple(unknown))
        self._scopes = frozenset(members)
        self._effective = frozenset(members | {s.read_scope for s in members if s.is_write})
        self._text = ",".join(s.value for s in sorted(self._scopes, key=_ORDER.__getitem__))

    @classmethod
    def parse(cls, text: str | None) -> ScopeSet:
        """Parse a wire scope list: commas and/or spaces; duplicates dropped; unknown refused."""
        if not text:
            return cls()
        return cls(part for part in _SEPARATORS.split(text.strip()) if part)

    @staticmethod
    def delimiter_of(text: str | None) -> str:
        """The delimiter a wire list was written with: a space for RFC 6749's space-separated
        lists, else a comma (Orderchamp's own form, and the default)."""
        return " " if text and "," not in text and " " in text.strip() else ","

    @classmethod
    def all(cls) -> ScopeSet:
        return cls(Scope)

    def __contains__(self, scope: object) -> bool:
        if isinstance(scope, str) and not isinstance(scope, Scope):
            scope = _BY_VALUE.get(scope)
        return scope in self._effective

    def __iter__(self) -> Iterator[Scope]:
        return iter(sorted(self._scopes, key=_ORDER.__getitem__))

    def __len__(self) -> int:
        return len(self._scopes)

    def __bool__(self) -> bool:
        return bool(self._scopes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ScopeSet):
            return self._effective == other._effective
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._effective)

    def __or__(self, other: ScopeSet) -> ScopeSet:
        return ScopeSet(self._scopes | other._scopes).normalized()

    def __repr__(self) -> str:
        return f"ScopeSet({self._text!r})"

    def __str__(self) -> str:
        return self._text

    @property
    def effective(self) -> frozenset[Scope]:
        """Every scope granted, implied reads included."""
        return self._effective

    def covers(self, required: Iterable[Scope | str] | ScopeSet) -> bool:
        """True when every required scope is granted (directly or implied)."""
        needed = required if isinstance(required, ScopeSet) else ScopeSet(required)
        return needed._effective <= self._effective

    def missing(self, required: Iterable[Scope | str] | ScopeSet) -> ScopeSet:
        """The required scopes this set does not grant, normalized."""
        needed = required if isinstance(required, ScopeSet) else ScopeSet(required)
        return ScopeSet(s for s in needed._scopes if s not in self._effective).normalized()

    def normalized(self) -> ScopeSet:
        """Drop reads that a write in the same set already implies."""
        return ScopeSet(s for s in self._scopes if s.is_write or Scope(f"{s.resource.value}_write") not in self._scopes)

    def to_string(self, delimiter: str = ",") -> str:
        """Canonical wire form: table order, comma-separated, no spaces (or space-separated,
        for an app that wrote its list as RFC 6749 does)."""
        return self._text if delimiter == "," else self._text.replace(",", delimiter)

    def by_resource(self) -> list[tuple[Resource, list[Scope]]]:
        """Groups for display, in table order."""
        groups: dict[Resource, list[Scope]] = {}
        for scope in self:
            groups.setdefault(scope.resource, []).append(scope)
        return list(groups.items())
