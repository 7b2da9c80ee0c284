"""The install flow from the app's side, without I/O: authorize URL, signed redirects, state,
and the token endpoint's requests and responses.

``OAuthBase`` builds URLs and ``httpx.Request`` objects, verifies signed query strings with
``orderchamp_auth.protocol.signing`` and turns responses into values or errors.
``OrderchampOAuth`` and ``AsyncOrderchampOAuth`` (``_oauth_client``) only add the sending.
"""

from __future__ import annotations

import enum
import hmac
import re
import secrets as _secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypedDict
from urllib.parse import urlencode, urlsplit

import httpx

from orderchamp_auth.protocol import signing
from orderchamp_auth.protocol.errors import SignatureError
from orderchamp_auth.protocol.pkce import METHOD_S256
from orderchamp_auth.protocol.scopes import Scope, ScopeSet

from ._exceptions import (
    AccessDeniedByUserError,
    CallbackError,
    ExchangeError,
    MissingParameterError,
    RevocationError,
    StateMismatchError,
    TokenEndpointError,
    translate_signature_error,
)
from ._http import (
    DEFAULT_API_URL,
    DEFAULT_TIMEOUT,
    DEFAULT_WEB_URL,
    TimeoutTypes,
    as_timeout,
    build_request,
    json_object,
    strip_slash,
)
from ._models import (
    AccessToken,
    AuthorizationCallback,
    AuthorizationURL,
    InstallRequest,
    as_scope_set,
    generate_pkce_pair,
)
from ._state import DEFAULT_STATE_TTL, InMemoryStateStore, PendingAuthorization, StateStore, check_pending

QueryInput = str | bytes | Mapping[str, str] | Iterable[tuple[str, str]]
ScopesInput = Iterable[Scope | str] | ScopeSet | str

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_KNOWN_SCOPES = frozenset(s.value for s in Scope)


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET: Final = _Unset.UNSET


def _query_pairs(query: QueryInput) -> list[tuple[bytes, bytes]]:
    """Raw byte pairs from a query string, a full URL, a mapping or a multi-dict."""
    if isinstance(query, str):
        if _URL.match(query):
            query = urlsplit(query).query
        return signing.parse_query_pairs(query.removeprefix("?"))
    if isinstance(query, bytes):
        if _URL.match(query.decode("latin-1")):
            query = urlsplit(query).query
        return signing.parse_query_pairs(query.removeprefix(b"?"))
    multi_items = getattr(query, "multi_items", None)  # Starlette's QueryParams keeps duplicates here
    if callable(multi_items):
        items: Iterable[tuple[str, str]] = multi_items()
    elif isinstance(query, Mapping):
        items = query.items()
    else:
        items = query
    return [(k.encode("utf-8"), v.encode("utf-8")) for k, v in items]


def _redact(text: str | None, *secrets: str | None) -> str | None:
    if text is None:
        return None
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


class OAuthOptions(TypedDict, total=False):
    """Keyword options shared by both OAuth helpers (see ``OAuthBase``)."""

    previous_client_secret: str | None
    web_url: str
    api_url: str
    max_age: float | None
    max_future: float | None
    clock: Callable[[], float]
    state_store: StateStore | None
    state_ttl: float
    timeout: TimeoutTypes


class OAuthBase:
    """Everything of the app-side flow that needs no network. Safe to share between requests."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        previous_client_secret: str | None = None,
        web_url: str = DEFAULT_WEB_URL,
        api_url: str = DEFAULT_API_URL,
        max_age: float | None = signing.DEFAULT_MAX_AGE,
        max_future: float | None = signing.DEFAULT_MAX_FUTURE,
        clock: Callable[[], float] = time.time,
        state_store: StateStore | None = None,
        state_ttl: float = DEFAULT_STATE_TTL,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        self.client_id = client_id
        self._client_secret = client_secret
        self._previous_client_secret = previous_client_secret
        self.web_url = strip_slash(web_url)
        self.api_url = strip_slash(api_url)
        self.max_age = max_age
        self.max_future = max_future
        self.clock = clock
        self.state_store: StateStore = state_store if state_store is not None else InMemoryStateStore()
        self.state_ttl = state_ttl
        self.timeout = as_timeout(timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, web_url={self.web_url!r})"

    @property
    def _verification_secrets(self) -> list[str]:
        """Newest first; the previous secret keeps verifying while a rotation settles."""
        keys = [self._client_secret]
        if self._previous_client_secret:
            keys.append(self._previous_client_secret)
        return keys

    # -- URLs ---------------------------------------------------------------------------------

    def authorization_url(
        self,
        scopes: ScopesInput,
        redirect_uri: str,
        state: str | None = None,
        *,
        code_challenge: str | None = None,
    ) -> AuthorizationURL:
        """The ``/oauth/authorize`` URL; a strong state is generated when none is given."""
        scope_set = as_scope_set(scopes)
        if not scope_set:
            raise ValueError("ask for at least one scope")
        state = state if state is not None else _secrets.token_urlsafe(32)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "scope": scope_set.to_string(),
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if code_challenge is not None:
            params["code_challenge"] = code_challenge
            params["code_challenge_method"] = METHOD_S256
        return AuthorizationURL(f"{self.web_url}/oauth/authorize?{urlencode(params)}", state)

    def begin_authorization(
        self,
        scopes: ScopesInput,
        redirect_uri: str,
        *,
        session_key: str,
        use_pkce: bool = True,
        account_id: str | None = None,
    ) -> AuthorizationURL:
        """``authorization_url`` plus a pending entry in the state store, bound to ``session_key``.

        ``verify_callback(..., session_key=...)`` consumes it and hands back the redirect URI
        and PKCE verifier that ``exchange_code`` needs.
        """
        if not session_key:
            raise ValueError("session_key is required")
        pkce = generate_pkce_pair() if use_pkce else None
        result = self.authorization_url(
            scopes, redirect_uri, code_challenge=pkce.challenge if pkce is not None else None
        )
        self.state_store.save(
            PendingAuthorization(
                state=result.state,
                session_key=session_key,
                expires_at=self.clock() + self.state_ttl,
                redirect_uri=redirect_uri,
                code_verifier=pkce.verifier if pkce is not None else None,
                account_id=account_id,
            )
        )
        return result

    def finish_url(self) -> str:
        """Where to send the user to land on this app's page in their Orderchamp back office."""
        return f"{self.web_url}/oauth/finish?{urlencode({'client_id': self.client_id})}"

    # -- signed redirects ---------------------------------------------------------------------

    def _verify(self, query: QueryInput, required: Sequence[str]) -> dict[str, str]:
        try:
            return signing.verify_signed_pairs(
                _query_pairs(query),
                self._verification_secrets,
                required=required,
                max_age=self.max_age,
                max_future=self.max_future,
                now=self.clock(),
            )
        except SignatureError as exc:
            raise translate_signature_error(exc) from None

    def verify_install_request(self, query: QueryInput) -> InstallRequest:
        """Check the request Orderchamp sends to the application URL (``account_id``, ``timestamp``)."""
        params = self._verify(query, ("account_id", "timestamp"))
        return InstallRequest(
            account_id=params["account_id"],
            timestamp=signing.parse_timestamp(params["timestamp"]),
            params=params,
        )

    def verify_callback(
        self,
        query: QueryInput,
        *,
        expected_state: str | None | _Unset = UNSET,
        session_key: str | None = None,
    ) -> AuthorizationCallback:
        """Check the redirect back from ``/oauth/authorize`` and return the code to exchange.

        Say how the state is checked, exactly one way: ``session_key=`` consumes the state
        issued by ``begin_authorization`` (single use, same session, not expired);
        ``expected_state=`` compares with a state you kept yourself; ``expected_state=None``
        skips the check (only if you protect the flow otherwise, e.g. PKCE).

        Raises ``RequestVerificationError`` subclasses, ``StateMismatchError``,
        ``AccessDeniedByUserError`` (the user pressed Deny) or ``CallbackError``.
        """
        if (session_key is None) == (expected_state is UNSET):
            raise TypeError("pass exactly one of expected_state= or session_key=")
        params = self._verify(query, ("account_id", "timestamp"))
        state = params.get("state")
        pending: PendingAuthorization | None = None
        if session_key is not None:
            if not state:
                raise StateMismatchError("the callback carries no state")
            pending = check_pending(self.state_store.pop(state), session_key, self.clock())
        elif isinstance(expected_state, str):
            if state is None or not hmac.compare_digest(
                state.encode("utf-8", "surrogateescape"), expected_state.encode("utf-8", "surrogateescape")
            ):
                raise StateMismatchError("state does not match the one sent")
        error = params.get("error")
        if error is not None:
            description = _redact(params.get("error_description"), self._client_secret)
            if error == "access_denied":
                raise AccessDeniedByUserError(description=description, account_id=params["account_id"])
            raise CallbackError(error, description, account_id=params["account_id"])
        code = params.get("code")
        if not code:
            raise MissingParameterError("code")
        return AuthorizationCallback(
            account_id=params["account_id"],
            code=code,
            state=state,
            timestamp=signing.parse_timestamp(params["timestamp"]),
            redirect_uri=pending.redirect_uri if pending is not None else None,
            code_verifier=pending.code_verifier if pending is not None else None,
            params=params,
        )

    # -- token endpoint (sans I/O) ------------------------------------------------------------

    def build_exchange_request(
        self, code: str, *, redirect_uri: str | None = None, code_verifier: str | None = None
    ) -> httpx.Request:
        """The JSON request Orderchamp's PHP client sends, plus the optional RFC 6749/7636 fields."""
        body = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if redirect_uri is not None:
            body["redirect_uri"] = redirect_uri
        if code_verifier is not None:
            body["code_verifier"] = code_verifier
        return build_request(
            "POST",
            f"{self.web_url}/oauth/access_token",
            timeout=self.timeout,
            json=body,
            headers={"Cache-Control": "no-store"},
        )

    def parse_exchange_response(self, response: httpx.Response, *, code: str | None = None) -> AccessToken:
        body = json_object(response)
        if not response.is_success:
            raise self._endpoint_error(ExchangeError, response, body, code)
        token = body.get("access_token") if body is not None else None
        if body is None or not isinstance(token, str) or not token:
            raise ExchangeError(
                "invalid_response",
                "the token endpoint answered without a token",
                status_code=response.status_code,
            )
        scope = body.get("scope")
        # A scope this SDK does not know yet (a newer platform) is left out, not fatal.
        known = [s for s in str(scope or "").replace(" ", ",").split(",") if s in _KNOWN_SCOPES]
        account_id = body.get("account_id")
        return AccessToken(
            access_token=token,
            scopes=ScopeSet(known),
            account_id=str(account_id) if account_id is not None else None,
            token_type=str(body.get("token_type") or "bearer"),
        )

    def build_revoke_request(self, token: str) -> httpx.Request:
        """RFC 7009: form body ``token``, client authenticated by ``client_id``/``client_secret``."""
        return build_request(
            "POST",
            f"{self.web_url}/oauth/revoke",
            timeout=self.timeout,
            data={"token": token, "client_id": self.client_id, "client_secret": self._client_secret},
        )

    def parse_revoke_response(self, response: httpx.Response, *, token: str | None = None) -> None:
        if response.status_code == 200:
            return
        raise self._endpoint_error(RevocationError, response, json_object(response), token)

    def _endpoint_error(
        self,
        cls: type[TokenEndpointError],
        response: httpx.Response,
        body: dict[str, Any] | None,
        secret: str | None,
    ) -> TokenEndpointError:
        error = body.get("error") if body is not None else None
        if not isinstance(error, str) or not error:
            error = "server_error" if response.status_code >= 500 else "invalid_response"
            return cls(error, f"HTTP {response.status_code}", status_code=response.status_code)
        description = body.get("error_description") if body is not None else None
        description = _redact(
            description if isinstance(description, str) else None, self._client_secret, secret
        )
        return cls(error, description, status_code=response.status_code)
