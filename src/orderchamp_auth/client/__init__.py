"""The app-side SDK for Orderchamp: install flow, GraphQL API client, webhooks.

Everything public is importable from here; the ``_modules`` behind it are private.
Framework glue lives in ``orderchamp_auth.client.integrations`` (optional extras).
"""

from orderchamp_auth.protocol.scopes import Scope, ScopeSet

from ._exceptions import (
    AccessDeniedByUserError,
    AccessDeniedError,
    APIError,
    CallbackError,
    DuplicateParameterError,
    ExchangeError,
    GraphQLError,
    GraphQLErrorDetail,
    HTTPStatusError,
    InvalidResponseError,
    InvalidSignatureError,
    MissingParameterError,
    OrderchampClientError,
    RequestVerificationError,
    RevocationError,
    StaleTimestampError,
    StateMismatchError,
    ThrottledError,
    TokenEndpointError,
    TransportError,
    UnauthenticatedError,
    WebhookVerificationError,
)
from ._graphql import AsyncOrderchampClient, OrderchampClient
from ._graphql_base import GraphQLResult
from ._http import DEFAULT_API_URL, DEFAULT_WEB_URL
from ._models import (
    AccessToken,
    AuthorizationCallback,
    AuthorizationURL,
    InstallRequest,
    PKCEPair,
    QueryCost,
    ThrottleStatus,
    generate_pkce_pair,
    missing_scopes,
)
from ._oauth_client import AsyncOrderchampOAuth, OrderchampOAuth
from ._state import InMemoryStateStore, PendingAuthorization, StateStore
from ._throttle import RetryPolicy
from ._token_store import InMemoryTokenStore, Installation, SQLiteTokenStore, TokenStore
from ._webhooks import (
    ACCOUNT_ID_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WEBHOOK_ID_HEADER,
    Webhook,
    compute_webhook_signature,
    is_valid_webhook,
    verify_webhook,
    verify_webhook_request,
    webhook_account_id,
    webhook_event,
    webhook_id,
)

__all__ = [
    "ACCOUNT_ID_HEADER",
    "APIError",
    "AccessDeniedByUserError",
    "AccessDeniedError",
    "AccessToken",
    "AsyncOrderchampClient",
    "AsyncOrderchampOAuth",
    "AuthorizationCallback",
    "AuthorizationURL",
    "CallbackError",
    "DEFAULT_API_URL",
    "DEFAULT_WEB_URL",
    "DuplicateParameterError",
    "EVENT_HEADER",
    "ExchangeError",
    "GraphQLError",
    "GraphQLErrorDetail",
    "GraphQLResult",
    "HTTPStatusError",
    "InMemoryStateStore",
    "InMemoryTokenStore",
    "InstallRequest",
    "Installation",
    "InvalidResponseError",
    "InvalidSignatureError",
    "MissingParameterError",
    "OrderchampClient",
    "OrderchampClientError",
    "OrderchampOAuth",
    "PKCEPair",
    "PendingAuthorization",
    "QueryCost",
    "RequestVerificationError",
    "RetryPolicy",
    "RevocationError",
    "SIGNATURE_HEADER",
    "SQLiteTokenStore",
    "Scope",
    "ScopeSet",
    "StaleTimestampError",
    "StateMismatchError",
    "StateStore",
    "ThrottleStatus",
    "ThrottledError",
    "TokenEndpointError",
    "TokenStore",
    "TransportError",
    "UnauthenticatedError",
    "WEBHOOK_ID_HEADER",
    "Webhook",
    "WebhookVerificationError",
    "compute_webhook_signature",
    "generate_pkce_pair",
    "is_valid_webhook",
    "missing_scopes",
    "verify_webhook",
    "verify_webhook_request",
    "webhook_account_id",
    "webhook_event",
    "webhook_id",
]

__locals = locals()
for __name in __all__:
    __obj = __locals[__name]
    if getattr(__obj, "__module__", "").startswith("orderchamp_auth.client._"):
        # Show the facade, not the private module, in reprs and tracebacks (as httpx does).
        __obj.__module__ = "orderchamp_auth.client"

del __locals, __name, __obj
