"""Sign in and sign out, with throttling of failed attempts per email and per address."""

from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import LoginThrottledError
from ..oauth.passwords import hash_password, needs_rehash, verify_password
from ..settings import Settings
from ..store.database import utcnow
from ..store.transaction import Transaction
from .forms import first, read_form
from .platform import platform_of
from .render import redirect, render, safe_next
from .sessions import (
    SESSION_COOKIE,
    check_csrf,
    current_user,
    delete_cookie,
    end_session,
    set_session_cookie,
    start_session,
)
from .units import in_write

GENERIC_FAILURE = "The email or password is not correct."


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_page(request: Request) -> Response:
    user = await current_user(request)
    target = safe_next(request.query_params.get("next"))
    if user is not None:
        return redirect(target)
    return render(request, "login.html", {"next": target, "email": ""})


def _reserve_attempt(tx: Transaction, settings: Settings, email: str, address: str,
                     now: dt.datetime) -> tuple[int | None, str | None]:
    """Count this attempt as a failure before the password is checked, or refuse it; the
    user's id and password hash (``None`` for an unknown email).

    Checking the count and recording the attempt in one locked transaction means concurrent
    attempts cannot all pass a count taken before any of them failed: at most the limit ever
    reach the (costly) argon2 check. A success then clears the email's records."""
    since = now - dt.timedelta(seconds=settings.login_failure_window)
    failures = tx.login_failures
    failures.lock_for(email, address)
    if failures.count_for_email(email, since) >= settings.login_max_failures_per_email:
        raise LoginThrottledError(
            "Too many failed sign-in attempts for this account. Wait 15 minutes and try again."
        )
    if failures.count_for_address(address, since) >= settings.login_max_failures_per_address:
        raise LoginThrottledError("Too many failed sign-in attempts from your network. Wait and try again.")
    # Only the window counts; older records are swept here so the table stays small.
    failures.delete_older_than(since)
    failures.record(email=email, client_address=address, now=now)
    user = tx.users.get_by_email(email)
    return (user.id, user.password_hash) if user else (None, None)


def _sign_in(tx: Transaction, settings: Settings, email: str, user_id: int, new_hash: str | None) -> str:
    """After a good password: clear the email's failures, store a rehashed password, and
    start a session on the user's first account; the session's id."""
    tx.login_failures.clear_for_email(email)
    if new_hash is not None:
        tx.users.set_password_hash(user_id, new_hash)
    accounts = tx.users.accounts_of(user_id)
    return start_session(tx, settings, user_id=user_id, account_id=accounts[0].id if accounts else None,
                         now=utcnow())


def _check_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Whether the password is right, and its new hash if the stored one is outdated (argon2:
    in a thread, outside any transaction)."""
    if not verify_password(password_hash, password):
        return False, None
    return True, hash_password(password) if password_hash and needs_rehash(password_hash) else None


async def login_submit(request: Request) -> Response:
    """Two transactions, not one: the attempt is recorded (committed) before the password is
    checked, and the check runs outside any transaction (see ``_reserve_attempt``)."""
    platform = platform_of(request)
    settings = platform.settings
    fields = await read_form(request)
    check_csrf(request, None, first(fields, "csrf_token"))
    email = first(fields, "email").strip().lower()[:320]
    password = first(fields, "password")[:1024]
    target = safe_next(first(fields, "next"))
    if not email or not password:
        return render(
            request, "login.html", {"next": target, "email": email, "error": "Enter your email and password."},
            status_code=400,
        )
    address = client_address(request)
    user_id, password_hash = await in_write(
        platform, lambda tx: _reserve_attempt(tx, settings, email, address, utcnow()))
    good, new_hash = await run_in_threadpool(_check_password, password_hash, password)
    if not good or user_id is None:
        # The reserved attempt stays recorded as a failure.
        return render(
            request, "login.html", {"next": target, "email": email, "error": GENERIC_FAILURE}, status_code=400
        )
    signed_in = user_id
    session_id = await in_write(platform, lambda tx: _sign_in(tx, settings, email, signed_in, new_hash))
    response = redirect(target)
    set_session_cookie(platform, response, session_id)
    return response


async def logout(request: Request) -> Response:
    platform = platform_of(request)
    user = await current_user(request)
    fields = await read_form(request)
    check_csrf(request, user, first(fields, "csrf_token"))
    response = redirect("/login")
    if user is not None:
        session_id = user.session_id
        await in_write(platform, lambda tx: end_session(tx, session_id))
        delete_cookie(platform, response, SESSION_COOKIE)
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
