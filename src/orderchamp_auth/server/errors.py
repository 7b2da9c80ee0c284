"""The platform's own branches of the exception tree (root: ``OrderchampAuthError``).

Rendered in one place, at the edge (``web.errors``): OAuth errors as RFC 6749 JSON or signed
redirects, the rest as HTML error pages with their status.
"""

from __future__ import annotations

from ..protocol.errors import OrderchampAuthError


class PlatformError(OrderchampAuthError):
    status = 400
    title = "Something is wrong with this request"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title:
            self.title = title


class FatalAuthorizeError(PlatformError):
    """An authorize request that must not redirect: unknown app or unregistered redirect URL.

    RFC 6749 section 4.1.2.1: the redirect URI cannot be trusted, so the user sees a page.
    """

    status = 400
    title = "This app cannot be connected"


class NotFoundError(PlatformError):
    status = 404
    title = "Not found"


class PermissionDeniedError(PlatformError):
    status = 403
    title = "You do not have access to this page"


class CsrfError(PlatformError):
    status = 403
    title = "This form has expired"


class CrossSiteRequestError(CsrfError):
    """A form POST that the browser says came from another site (``Origin``, ``Sec-Fetch-Site``)."""

    title = "This form came from another website"


class LoginThrottledError(PlatformError):
    status = 429
    title = "Too many sign-in attempts"


class ValidationError(PlatformError):
    """Bad form or command input; ``fields`` maps a field name to what is wrong with it."""

    status = 400
    title = "Please check what you entered"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}
