"""Sign in and sign out, with throttling of failed attempts per email and per address."""

from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import LoginThrottledError
from ..oauth.passwords import hash_password, needs_rehash, verify_password
from ..store.database import utcnow
from .forms import first, read_form
from .platform import Platform, platform_of
from .render import redirect, render, safe_next
from .sessions import check_csrf, current_user, end_session, start_session

GENERIC_FAILURE = "The email or password is not correct."


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_page(request: Request) -> Response:
    user = await current_user(request)
    target = safe_next(request.query_params.get("next"))
    if user is not None:
        return redirect(target)
    return render(request, "login.html", {"next": target, "email": ""})


def _reserve_attempt(platform: Platform, email: str, address: str, now: dt.datetime) -> None:
    """Count this attempt as a failure before the password is checked, or refuse it.

    Checking the count and recording the attempt in one locked transaction means concurrent
    attempts cannot all pass a count taken before any of them failed: at most the limit ever
    reach the (costly) argon2 check. A success then clears the email's records."""
    settings = platform.settings
    since = now - dt.timedelta(seconds=settings.login_failure_window)
    with platform.database.write() as db:
        failures = db.login_failures
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


def _attempt_login(platform: Platform, email: str, password: str, address: str) -> int | None:
    """The user id on success. The attempt is reserved before the password is checked."""
    _reserve_attempt(platform, email, address, utcnow())
    with platform.database.read() as db:
        user = db.users.get_by_email(email)
        password_hash = user.password_hash if user else None
        user_id = user.id if user else None
    if not verify_password(password_hash, password):
        return None  # the reserved attempt stays recorded as a failure
    with platform.database.write() as db:
        db.login_failures.clear_for_email(email)
        if password_hash and needs_rehash(password_hash):
            found = db.users.get(user_id)  # type: ignore[arg-type]
            if found:
                found.password_hash = hash_password(password)
    return user_id


async def login_submit(request: Request) -> Response:
    platform = platform_of(request)
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
    user_id = await run_in_threadpool(_attempt_login, platform, email, password, client_address(request))
    if user_id is None:
        return render(
            request, "login.html", {"next": target, "email": email, "error": GENERIC_FAILURE}, status_code=400
        )
    response = redirect(target)

    def _start() -> None:
        with platform.database.read() as db:
            accounts = db.users.accounts_of(user_id)
        start_session(platform, response, user_id=user_id, account_id=accounts[0].id if accounts else None)

    await run_in_threadpool(_start)
    return response


async def logout(request: Request) -> Response:
    platform = platform_of(request)
    user = await current_user(request)
    fields = await read_form(request)
    check_csrf(request, user, first(fields, "csrf_token"))
    response = redirect("/login")
    if user is not None:
        await run_in_threadpool(end_session, platform, response, user.session_id)
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
