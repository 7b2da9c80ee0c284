"""The SDK's exceptions: one branch of the package's tree, rooted in ``OrderchampClientError``.

    OrderchampAuthError                      (orderchamp_auth.protocol.errors)
    └── OrderchampClientError                anything the SDK raises on purpose
        ├── RequestVerificationError         a redirect from Orderchamp did not verify
        │   ├── MissingParameterError        a parameter the check needs is absent
        │   ├── DuplicateParameterError      a parameter name occurs twice
        │   ├── InvalidSignatureError        the HMAC does not match
        │   └── StaleTimestampError          the timestamp is outside the allowed window
        ├── StateMismatchError               state absent, unknown, used, expired or another session's
        ├── CallbackError                    a signed callback carrying ``error=<code>``
        │   └── AccessDeniedByUserError      the user pressed Deny (``access_denied``)
        ├── TokenEndpointError               ``/oauth/*`` answered with an RFC 6749 error
        │   ├── ExchangeError                the code could not be exchanged
        │   └── RevocationError              the token could not be revoked
        ├── WebhookVerificationError         a webhook whose signature does not match
        ├── TransportError                   the request never got an answer (network, timeout)
        └── APIError                         the GraphQL API refused a request
            ├── HTTPStatusError              a non-2xx answer that is not a GraphQL error
            ├── InvalidResponseError         an answer that is not what the API promises
            ├── UnauthenticatedError         401 / ``UNAUTHENTICATED``: token revoked, app uninstalled
            ├── ThrottledError               still throttled after the retries allowed
            └── GraphQLError                 the response carried GraphQL ``errors``
                └── AccessDeniedError        ``ACCESS_DENIED``: the token lacks ``required_scope``

The verification errors also subclass their namesakes in ``orderchamp_auth.protocol.errors``
(``except SignatureError`` keeps working), and the OAuth ones subclass ``OAuthError`` so they
carry the RFC 6749 code as ``.error``. No message or repr carries a secret, token or code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orderchamp_auth.protocol import errors as _protocol
from orderchamp_auth.protocol.scopes import Scope, ScopeSet


class OrderchampClientError(_protocol.OrderchampAuthError):
    """Root of every error the SDK raises on purpose."""


# -- verification of signed redirects ---------------------------------------------------------


class RequestVerificationError(OrderchampClientError, _protocol.SignatureError):
    """A signed request from Orderchamp (install start or callback) did not verify."""


class MissingParameterError(RequestVerificationError, _protocol.MissingParameterError):
    pass


class DuplicateParameterError(RequestVerificationError, _protocol.DuplicateParameterError):
    pass


class InvalidSignatureError(RequestVerificationError, _protocol.InvalidSignatureError):
    pass


class StaleTimestampError(RequestVerificationError, _protocol.StaleTimestampError):
    pass


def translate_signature_error(exc: _protocol.SignatureError) -> RequestVerificationError:
    """The SDK twin of a protocol signature error (same message, same attributes)."""
    if isinstance(exc, RequestVerificationError):
        return exc
    if isinstance(exc, _protocol.MissingParameterError):
        return MissingParameterError(exc.name)
    if isinstance(exc, _protocol.DuplicateParameterError):
        return DuplicateParameterError(exc.name)
    if isinstance(exc, _protocol.InvalidSignatureError):
        return InvalidSignatureError()
    if isinstance(exc, _protocol.StaleTimestampError):
        return StaleTimestampError(str(exc))
    return RequestVerificationError(str(exc))


class StateMismatchError(OrderchampClientError):
    """The callback's state is missing, unknown, already used, expired or bound to another session."""


# -- OAuth errors (RFC 6749 codes) -----------------------------------------------------------


class CallbackError(OrderchampClientError, _protocol.OAuthError):
    """The authorization came back signed but with ``error=<code>``; the code is ``.error``."""

    def __init__(self, error: str, description: str | None = None, *, account_id: str | None = None) -> None:
        _protocol.OAuthError.__init__(self, description)
        self.error = error
        self.account_id = account_id
        self.args = (f"authorization failed: {error}" + (f" ({description})" if description else ""),)


class AccessDeniedByUserError(CallbackError, _protocol.AccessDeniedError):
    """The user declined the installation on Orderchamp's consent page."""

    def __init__(
        self, error: str = "access_denied", description: str | None = None, *, account_id: str | None = None
    ) -> None:
        super().__init__(error, description, account_id=account_id)
        self.args = ("the user declined the installation",)


class TokenEndpointError(OrderchampClientError, _protocol.OAuthError):
    """An ``/oauth/*`` endpoint refused the request. ``.error`` is the RFC 6749 code."""

    action = "request"

    def __init__(self, error: str, description: str | None = None, *, status_code: int | None = None) -> None:
        _protocol.OAuthError.__init__(self, description)
        self.error = error
        self.status_code = status_code
        if status_code is not None:
            self.status = status_code
        detail = f" ({description})" if description else ""
        self.args = (f"{self.action} failed: {error}{detail}",)


class ExchangeError(TokenEndpointError):
    """The authorization code could not be exchanged (``invalid_grant``, ``invalid_client``...)."""

    action = "code exchange"


class RevocationError(TokenEndpointError):
    """The token could not be revoked."""

    action = "token revocation"


class WebhookVerificationError(OrderchampClientError, _protocol.SignatureError):
    """A webhook's ``X-Orderchamp-Signature`` is missing or does not match its body."""


class TransportError(OrderchampClientError):
    """The request got no answer: connection refused, DNS, timeout. The cause is chained."""


# -- the GraphQL API -------------------------------------------------------------------------


class APIError(OrderchampClientError):
    """The API refused or garbled a request. ``status_code`` is the HTTP status, if any."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class HTTPStatusError(APIError):
    """A non-2xx answer that carries no GraphQL errors."""


class InvalidResponseError(APIError):
    """An answer that is not a GraphQL response (not JSON, wrong shape)."""


class UnauthenticatedError(APIError):
    """The token is unknown or revoked: usually the account uninstalled the app."""


class ThrottledError(APIError):
    """Still throttled after the retries the policy allows. ``retry_after`` is the last hint."""

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


@dataclass(frozen=True)
class GraphQLErrorDetail:
    """One entry of a GraphQL response's ``errors`` list."""

    message: str
    path: tuple[str | int, ...] = ()
    locations: tuple[Mapping[str, int], ...] = ()
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        code = self.extensions.get("code")
        return code if isinstance(code, str) else None

    @property
    def required_scope(self) -> str | None:
        scope = self.extensions.get("requiredScope")
        return scope if isinstance(scope, str) else None

    @classmethod
    def from_json(cls, item: object) -> GraphQLErrorDetail:
        if not isinstance(item, Mapping):
            return cls(message=str(item))
        path = item.get("path")
        locations = item.get("locations")
        extensions = item.get("extensions")
        return cls(
            message=str(item.get("message", "")),
            path=tuple(p for p in path if isinstance(p, (str, int))) if isinstance(path, list) else (),
            locations=tuple(loc for loc in locations if isinstance(loc, Mapping))
            if isinstance(locations, list)
            else (),
            extensions=dict(extensions) if isinstance(extensions, Mapping) else {},
        )


class GraphQLError(APIError):
    """The response carried GraphQL ``errors``; ``data`` holds whatever did resolve."""

    def __init__(
        self,
        errors: Sequence[GraphQLErrorDetail],
        *,
        data: Mapping[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        first = errors[0].message if errors else "GraphQL error"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first}{more}", status_code=status_code)
        self.errors = tuple(errors)
        self.data = data


class AccessDeniedError(GraphQLError):
    """A field needs a scope the token was not granted; ask the user to approve it.

    ``required_scope`` names the first missing scope; ``required_scopes`` all of them.
    """

    @property
    def required_scope(self) -> str | None:
        for error in self.errors:
            if error.code == "ACCESS_DENIED" and error.required_scope:
                return error.required_scope
        return None

    @property
    def required_scopes(self) -> ScopeSet:
        known = {s.value for s in Scope}
        names = [e.required_scope for e in self.errors if e.code == "ACCESS_DENIED"]
        return ScopeSet(n for n in names if n is not None and n in known)
