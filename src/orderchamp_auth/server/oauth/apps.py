"""Partner apps: creating, editing, the review cycle and secret rotation (SPEC section 6).

Used by the CLI, the demo and the partner and support pages. The review cycle is
draft -> submitted -> verified, or -> rejected (with the reviewer's reason) -> submitted again.
A verified app stays verified: its later edits are reviewed as change requests (``app_changes``).
"""

from __future__ import annotations

import datetime as dt

from ...protocol.urls import check_app_url
from ..errors import ValidationError
from ..store.models import App, AppStatus
from ..store.transaction import Transaction
from .app_changes import (
    KEEP_LOGO,
    AppDetails,
    EditResult,
    LogoChange,
    apply_details,
    check_name_is_free,
    check_review_reason,
    check_reviewed_version,
    hold_changes,
)
from .clients import ClientSecrets

MAX_REDIRECT_URIS = 10
# Long enough for a partner to roll the new secret out to every server of the app in a
# working day, short enough that a leaked old secret stops working soon.
SECRET_ROTATION_GRACE = dt.timedelta(hours=24)


def validate_app_fields(
    *, name: str, application_url: str, redirect_uris: list[str], description: str = ""
) -> tuple[str, str, list[str], str]:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "The app needs a name."
    elif len(name) > 100:
        errors["name"] = "The name can be at most 100 characters."
    problem = check_app_url(application_url.strip(), "application URL")
    if problem:
        errors["application_url"] = problem
    cleaned = []
    for uri in redirect_uris:
        uri = uri.strip()
        if uri and uri not in cleaned:
            cleaned.append(uri)
    if not cleaned:
        errors["redirect_uris"] = "At least one redirect URL is required."
    elif len(cleaned) > MAX_REDIRECT_URIS:
        errors["redirect_uris"] = f"At most {MAX_REDIRECT_URIS} redirect URLs."
    else:
        for uri in cleaned:
            problem = check_app_url(uri, "redirect URL")
            if problem:
                errors["redirect_uris"] = f"{problem} ({uri[:100]})"
                break
    if len(description) > 2000:
        errors["description"] = "The description can be at most 2000 characters."
    if errors:
        raise ValidationError("The app was not saved.", fields=errors)
    return name, application_url.strip(), cleaned, description.strip()


def create_app(
    tx: Transaction,
    client_secrets: ClientSecrets,
    *,
    partner_id: int,
    name: str,
    application_url: str,
    redirect_uris: list[str],
    description: str = "",
    verified: bool = False,
) -> tuple[App, str]:
    """Create an app; returns it and its client secret (shown once to the caller)."""
    name, application_url, redirect_uris, description = validate_app_fields(
        name=name, application_url=application_url, redirect_uris=redirect_uris, description=description
    )
    check_name_is_free(tx, partner_id, name, app_id=None)
    client_id, secret, encrypted = client_secrets.new_credentials()
    app = tx.apps.create(
        partner_id=partner_id,
        name=name,
        client_id=client_id,
        client_secret_encrypted=encrypted,
        application_url=application_url,
        redirect_uris=redirect_uris,
        description=description,
        status=AppStatus.VERIFIED if verified else AppStatus.DRAFT,
    )
    return app, secret


def update_app(
    tx: Transaction,
    app: App,
    *,
    name: str,
    application_url: str,
    redirect_uris: list[str],
    description: str,
    logo: LogoChange = KEEP_LOGO,
    user_id: int | None = None,
    now: dt.datetime,
) -> EditResult:
    """Change an app's details; its status, credentials and installations stay as they are.

    A verified app is not changed: the edit is held for review (``EditResult.HELD_FOR_REVIEW``).
    """
    name, application_url, redirect_uris, description = validate_app_fields(
        name=name, application_url=application_url, redirect_uris=redirect_uris, description=description
    )
    # Locked, then its status read: an edit racing support's verification is held, not applied.
    tx.app_changes.lock_app(app)
    check_name_is_free(tx, app.partner_id, name, app_id=app.id)
    details = AppDetails(name, description, application_url, tuple(redirect_uris))
    if app.status == AppStatus.VERIFIED.value:
        return hold_changes(tx, app, details, logo, user_id=user_id, now=now)
    apply_details(tx, app, details, logo, now)
    return EditResult.SAVED


def submit_for_review(app: App, now: dt.datetime) -> None:
    if app.status not in (AppStatus.DRAFT.value, AppStatus.REJECTED.value):
        raise ValidationError(f"The app is {app.status}: only a draft or rejected app can be submitted for review.")
    app.status = AppStatus.SUBMITTED.value
    app.review_note = ""
    app.updated_at = now


def verify_app(tx: Transaction, app: App, *, reviewed: str, now: dt.datetime) -> None:
    """``reviewed``: the fingerprint of the version support looked at (``review_fingerprint``)."""
    if app.status != AppStatus.SUBMITTED.value:
        raise ValidationError(f"The app is {app.status}: only a submitted app can be verified.")
    check_reviewed_version(tx, app, reviewed)
    app.status = AppStatus.VERIFIED.value
    app.review_note = ""
    app.updated_at = now


def reject_app(app: App, reason: str, now: dt.datetime) -> None:
    reason = check_review_reason(reason, "app")
    if app.status != AppStatus.SUBMITTED.value:
        raise ValidationError(f"The app is {app.status}: only a submitted app can be rejected.")
    app.status = AppStatus.REJECTED.value
    app.review_note = reason
    app.updated_at = now


def rotate_client_secret(client_secrets: ClientSecrets, app: App, now: dt.datetime) -> str:
    """A new secret; the one it replaces keeps working for ``SECRET_ROTATION_GRACE``."""
    return client_secrets.rotate(app, now=now, grace=SECRET_ROTATION_GRACE)
