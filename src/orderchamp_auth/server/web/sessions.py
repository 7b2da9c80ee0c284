"""Browser sessions, CSRF tokens and flash messages.

The session cookie holds a random 256-bit id, signed (itsdangerous) so forged cookies are
refused without a database read; the server keeps only its SHA-256, so sessions can be ended
server-side (logout, expiry). HttpOnly, SameSite=Lax, Secure when the web URL is https
(every cookie, and every deletion of one). A new id is issued at login (no session fixation).

CSRF tokens are an HMAC of the session id (or, before login, of a random pre-session cookie),
so they need no storage and die with the session. Every form POST passes ``check_csrf``, which
first refuses a request a browser says came from another site (``Sec-Fetch-Site``, ``Origin``):
defence in depth should a token ever leak. A request without those headers (curl, older
browsers) still needs the token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from itsdangerous import BadSignature, Signer, TimestampSigner
from starlette.requests import Request
from starlette.responses import Response

from ...protocol.tokens import hash_secret
from ..errors import CrossSiteRequestError, CsrfError
from ..keys import OneTimeBox, derive_key
from ..settings import Settings, origin_of
from ..store.database import utcnow
from ..store.repositories.accounts import AccountSummary
from ..store.repositories.clients import PartnerRef
from ..store.repositories.sessions import SessionUser
from ..store.transaction import Transaction
from .platform import Platform, platform_of

SESSION_COOKIE = "oc_session"
PRESESSION_COOKIE = "oc_csrf"
FLASH_COOKIE = "oc_flash"
CSRF_FIELD = "csrf_token"


@dataclass
class CurrentUser:
    user: SessionUser
    session_id: str
    accounts: list[AccountSummary]
    account: AccountSummary | None
    partners: list[PartnerRef] = field(default_factory=list)  # those the user is a member of, by name

    @property
    def is_support(self) -> bool:
        return self.user.is_support

    @property
    def partner_ids(self) -> list[int]:
        return [p.id for p in self.partners]

    def partner(self, partner_id: int) -> PartnerRef | None:
        return next((p for p in self.partners if p.id == partner_id), None)


def _signers(platform: Platform) -> list[Signer]:
    return [Signer(derive_key(k, "session-cookie")) for k in platform.settings.secret_keys]


def _unsign(platform: Platform, value: str) -> str | None:
    for signer in _signers(platform):
        try:
            return signer.unsign(value).decode()
        except BadSignature:
            continue
    return None


def _load(tx: Transaction, session_id: str) -> CurrentUser | None:
    # Read on every page and twice per install: one statement, in a read of its own (run
    # where store.write_lock says) or in the handler's transaction (current_user_in).
    viewer = tx.sessions.find_viewer(hash_secret(session_id), utcnow())
    if viewer is None:
        return None
    user, accounts, partners = viewer
    chosen = user.session_account_id
    account = next((a for a in accounts if a.id == chosen), accounts[0] if accounts else None)
    return CurrentUser(user, session_id, accounts, account, partners)


async def current_user(request: Request) -> CurrentUser | None:
    if "current_user" in request.scope:
        return request.scope["current_user"]  # type: ignore[no-any-return]
    session_id = _session_id(request)
    result = await platform_of(request).database.reading(lambda tx: _load(tx, session_id)) if session_id else None
    request.scope["current_user"] = result
    return result


def current_user_in(tx: Transaction, request: Request) -> CurrentUser | None:
    """``current_user``, read in a transaction the handler runs anyway: on PostgreSQL a
    handoff to the database's threads less (the install flow's two pages)."""
    if "current_user" in request.scope:
        return request.scope["current_user"]  # type: ignore[no-any-return]
    session_id = _session_id(request)
    result = _load(tx, session_id) if session_id else None
    request.scope["current_user"] = result
    return result


def _session_id(request: Request) -> str | None:
    """The session id of the request's cookie, if its signature holds (no database read)."""
    raw = request.cookies.get(SESSION_COOKIE)
    return _unsign(platform_of(request), raw) if raw else None


def start_session(tx: Transaction, settings: Settings, *, user_id: int, account_id: int | None,
                  now: dt.datetime) -> str:
    """Record a new session in the caller's transaction (sweeping expired ones); its id, for
    ``set_session_cookie`` once that transaction committed."""
    session_id = secrets.token_urlsafe(32)
    tx.sessions.delete_expired(now)
    tx.sessions.create(
        session_hash=hash_secret(session_id),
        user_id=user_id,
        account_id=account_id,
        expires_at=now + dt.timedelta(seconds=settings.session_max_age),
    )
    return session_id


def set_session_cookie(platform: Platform, response: Response, session_id: str) -> None:
    signed = _signers(platform)[0].sign(session_id.encode()).decode()
    _set_cookie(platform, response, SESSION_COOKIE, signed, max_age=platform.settings.session_max_age)
    delete_cookie(platform, response, PRESESSION_COOKIE)


def end_session(tx: Transaction, session_id: str) -> None:
    """Delete the session in the caller's transaction (the cookie: ``delete_cookie``)."""
    tx.sessions.delete(hash_secret(session_id))


def _set_cookie(platform: Platform, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=platform.settings.secure_cookies,
    )


def delete_cookie(platform: Platform, response: Response, name: str, *, path: str = "/",
                  samesite: str = "lax") -> None:
    """Expire a cookie with the attributes it was set with (Secure included)."""
    response.delete_cookie(name, path=path, httponly=True, samesite=samesite,  # type: ignore[arg-type]
                           secure=platform.settings.secure_cookies)


# CSRF -------------------------------------------------------------------------------------


def _csrf_for(platform: Platform, binding: str, key: str | None = None) -> str:
    secret = derive_key(key or platform.settings.secret_key, "csrf")
    return hmac.new(secret, binding.encode(), hashlib.sha256).hexdigest()


def _binding(request: Request, user: CurrentUser | None) -> str | None:
    if user is not None:
        return "session:" + user.session_id
    pre = request.cookies.get(PRESESSION_COOKIE)
    return "pre:" + pre if pre else None


class LazyCsrfToken:
    """Computed only if a template prints it, so pages without forms set no cookie."""

    def __init__(self, request: Request, user: CurrentUser | None) -> None:
        self.request, self.user, self._value = request, user, ""

    def __str__(self) -> str:
        if not self._value:
            self._value = csrf_token(self.request, self.user)
        return self._value

    __html__ = __str__


def csrf_token(request: Request, user: CurrentUser | None) -> str:
    """The token to put in a form. Before login this may create the pre-session cookie."""
    platform = platform_of(request)
    binding = _binding(request, user)
    if binding is None:
        pre = request.scope.get("oc_new_presession") or secrets.token_urlsafe(32)
        request.scope["oc_new_presession"] = pre
        binding = "pre:" + pre
    return _csrf_for(platform, binding)


def attach_presession(request: Request, response: Response) -> None:
    """Set the pre-session cookie if ``csrf_token`` had to create one for this response."""
    pre = request.scope.get("oc_new_presession")
    if pre:
        _set_cookie(platform_of(request), response, PRESESSION_COOKIE, pre, max_age=3600)


def check_same_origin(request: Request) -> None:
    """Refuse a request the browser marks as sent from another site. Absent headers pass.

    ``Origin: null`` passes only when the browser also says ``Sec-Fetch-Site: same-origin``
    (a page of ours under a stricter referrer policy, or a privacy tool): a foreign page can
    have its posts sent with a null origin too, but not as same-origin."""
    fetch_site = (request.headers.get("sec-fetch-site") or "").strip().lower()
    if fetch_site == "cross-site":
        raise CrossSiteRequestError("This form was sent from another website. Nothing was changed.")
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin.strip() == "null":
        if fetch_site == "same-origin":
            return
    else:
        given = origin_of(origin)  # "null" when unparsable: matches nothing
        if given != "null" and given in platform_of(request).settings.web_origins:
            return
    raise CrossSiteRequestError("This form was sent from another website. Nothing was changed.")


def check_csrf(request: Request, user: CurrentUser | None, submitted: str | None) -> None:
    check_same_origin(request)
    platform = platform_of(request)
    binding = _binding(request, user)
    if binding is None or not submitted:
        raise CsrfError("The form could not be verified. Reload the page and try again.")
    # As bytes: compare_digest refuses a str holding anything but ASCII, and a form may carry any text.
    presented = submitted.encode("utf-8", "surrogateescape")
    ok = False
    for key in platform.settings.secret_keys:
        ok |= hmac.compare_digest(_csrf_for(platform, binding, key).encode(), presented)
    if not ok:
        raise CsrfError("The form could not be verified. Reload the page and try again.")


# Flash messages ---------------------------------------------------------------------------


def flash(request: Request, response: Response, message: str, kind: str = "success") -> None:
    platform = platform_of(request)
    signer = TimestampSigner(derive_key(platform.settings.secret_key, "flash"))
    value = signer.sign(json.dumps({"m": message[:500], "k": kind}).encode()).decode()
    _set_cookie(platform, response, FLASH_COOKIE, value, max_age=60)


def pop_flash(request: Request, response: Response | None = None) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    platform = platform_of(request)
    request.scope["oc_flash_consumed"] = True
    for key in platform.settings.secret_keys:
        try:
            data = TimestampSigner(derive_key(key, "flash")).unsign(raw, max_age=60)
            parsed = json.loads(data)
            return {"message": str(parsed["m"]), "kind": str(parsed["k"])}
        except (BadSignature, ValueError, KeyError, TypeError):
            continue
    return None


# One-time reveal ---------------------------------------------------------------------------

REVEAL_COOKIE = "oc_reveal"
REVEAL_MAX_AGE = 120


def stash_reveal(request: Request, response: Response, user: CurrentUser, path: str, data: dict[str, str]) -> None:
    """Carry a secret to the next GET of ``path`` (post/redirect/get), bound to this session."""
    platform = platform_of(request)
    box = OneTimeBox(platform.settings.secret_keys, "one-time-reveal")
    sealed = box.seal(json.dumps({"s": hash_secret(user.session_id), "d": data}))
    response.set_cookie(REVEAL_COOKIE, sealed, max_age=REVEAL_MAX_AGE, path=path, httponly=True,
                        samesite="strict", secure=platform.settings.secure_cookies)


def take_reveal(request: Request, user: CurrentUser) -> dict[str, str] | None:
    """The stashed secret, if any; the caller must clear the cookie (``clear_reveal``)."""
    raw = request.cookies.get(REVEAL_COOKIE)
    if not raw:
        return None
    platform = platform_of(request)
    opened = OneTimeBox(platform.settings.secret_keys, "one-time-reveal").open(raw, max_age=REVEAL_MAX_AGE)
    if opened is None:
        return None
    try:
        payload = json.loads(opened)
    except ValueError:
        return None
    if not hmac.compare_digest(str(payload.get("s", "")), hash_secret(user.session_id)):
        return None
    data = payload.get("d")
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


def clear_reveal(request: Request, response: Response, path: str) -> None:
    delete_cookie(platform_of(request), response, REVEAL_COOKIE, path=path, samesite="strict")
