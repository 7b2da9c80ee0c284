"""One exception tree for the whole package.

    OrderchampAuthError
    ├── ScopeError                 an unknown scope in a scope list
    ├── SignatureError             a signed query string that does not verify
    │   ├── MissingParameterError  a parameter the check needs is absent
    │   ├── DuplicateParameterError  a parameter name occurs twice
    │   ├── InvalidSignatureError  the HMAC does not match
    │   └── StaleTimestampError    the timestamp is outside the allowed window
    ├── OAuthError                 an RFC 6749 error with its wire code
    │   ├── InvalidRequestError, InvalidClientError, InvalidGrantError,
    │   │   UnauthorizedClientError, UnsupportedGrantTypeError, InvalidScopeError,
    │   │   AccessDeniedError, UnsupportedResponseTypeError, ServerError
    │   └── (the server renders these; the SDK raises them from error responses)
    └── GlobalIdError              a Relay global ID that does not decode

Server-only branches (fatal authorize errors, validation) and SDK branches (HTTP, GraphQL)
subclass ``OrderchampAuthError`` in their own packages. Messages never carry secrets.
"""

from __future__ import annotations


class OrderchampAuthError(Exception):
    """Root of every error this package raises on purpose."""


class ScopeError(OrderchampAuthError):
    """A scope string names a scope that does not exist."""

    def __init__(self, message: str, *, unknown: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.unknown = unknown


class GlobalIdError(OrderchampAuthError):
    """A global ID is not base64 of ``Type:id`` or names another type."""


class SignatureError(OrderchampAuthError):
    """A signed request did not verify."""


class MissingParameterError(SignatureError):
    def __init__(self, name: str) -> None:
        super().__init__(f"missing parameter: {name}")
        self.name = name


class DuplicateParameterError(SignatureError):
    def __init__(self, name: str) -> None:
        super().__init__(f"parameter occurs more than once: {name}")
        self.name = name


class InvalidSignatureError(SignatureError):
    def __init__(self) -> None:
        super().__init__("signature does not match")


class StaleTimestampError(SignatureError):
    def __init__(self, message: str = "timestamp is outside the allowed window") -> None:
        super().__init__(message)


class OAuthError(OrderchampAuthError):
    """An error with an RFC 6749 code; ``status`` is what the token endpoint answers."""

    error: str = "server_error"
    status: int = 400

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description or self.error)
        self.description = description

    def to_dict(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequestError(OAuthError):
    error = "invalid_request"


class InvalidClientError(OAuthError):
    error = "invalid_client"
    status = 401


class InvalidGrantError(OAuthError):
    error = "invalid_grant"


class UnauthorizedClientError(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantTypeError(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseTypeError(OAuthError):
    error = "unsupported_response_type"


class InvalidScopeError(OAuthError):
    error = "invalid_scope"


class AccessDeniedError(OAuthError):
    error = "access_denied"
    status = 403


class UnsupportedTokenTypeError(OAuthError):
    error = "unsupported_token_type"


class ServerError(OAuthError):
    error = "server_error"
    status = 500

