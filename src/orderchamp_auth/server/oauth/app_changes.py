"""Editing an app, and the review of edits to a verified one.

A draft, submitted or rejected app changes at once: only its partner's demo accounts can
install it. A verified app's edits are held as its change request instead; the app's own rows
stay what the consent page, ``/oauth/authorize``, the install start and the integration
overview use until support approves the request, which applies it in the approving
transaction. Support's decisions name the version they looked at (a change request's id, a
submitted app's fingerprint), so an edit made while the review page was open is never
approved unseen.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from dataclasses import dataclass

from ..errors import NotFoundError, PlatformError, ValidationError
from ..store.models import App, AppChangeRequest, AppStatus
from ..store.transaction import Transaction

MAX_REVIEW_NOTE = 2000


class StaleReviewError(PlatformError):
    status = 409
    title = "This changed while you were reviewing it"


class EditResult(enum.Enum):
    SAVED = "saved"  # applied to the app, which is not verified
    HELD_FOR_REVIEW = "held"  # kept as the verified app's change request
    MATCHES_LIVE = "matches_live"  # a verified app edited back to its live version: nothing to review


@dataclass(frozen=True, slots=True)
class LogoChange:
    """What an edit does to the logo: a new re-encoded image, its removal, or neither."""

    content_type: str | None = None
    data: bytes | None = None
    remove: bool = False


KEEP_LOGO = LogoChange()


@dataclass(frozen=True, slots=True)
class AppDetails:
    """What a partner edits and support reviews."""

    name: str
    description: str
    application_url: str
    redirect_urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class ChangeSummary:
    fields: tuple[FieldChange, ...]
    added_redirect_urls: tuple[str, ...]
    removed_redirect_urls: tuple[str, ...]
    reordered_redirect_urls: bool
    logo: str | None  # "new", "removed" or None

    @property
    def is_empty(self) -> bool:
        return not (self.fields or self.added_redirect_urls or self.removed_redirect_urls
                    or self.reordered_redirect_urls or self.logo)


def details_of(source: App | AppChangeRequest) -> AppDetails:
    if isinstance(source, App):
        urls = tuple(r.url for r in source.redirect_uris)
    else:
        urls = tuple(source.redirect_urls)
    return AppDetails(source.name, source.description, source.application_url, urls)


def summarize_changes(live: AppDetails, proposed: AppDetails, *, new_logo: bool, removes_logo: bool) -> ChangeSummary:
    fields = tuple(
        FieldChange(label, old, new)
        for label, old, new in (
            ("Name", live.name, proposed.name),
            ("Description", live.description, proposed.description),
            ("Application URL", live.application_url, proposed.application_url),
        )
        if old != new
    )
    added = tuple(u for u in proposed.redirect_urls if u not in live.redirect_urls)
    removed = tuple(u for u in live.redirect_urls if u not in proposed.redirect_urls)
    kept_live = [u for u in live.redirect_urls if u in proposed.redirect_urls]
    kept_proposed = [u for u in proposed.redirect_urls if u in live.redirect_urls]
    logo = "new" if new_logo else "removed" if removes_logo else None
    return ChangeSummary(fields, added, removed, kept_live != kept_proposed, logo)


def summarize_request(app: App, change: AppChangeRequest) -> ChangeSummary:
    return summarize_changes(details_of(app), details_of(change), new_logo=change.logo_content_type is not None,
                             removes_logo=change.removes_logo)


def check_name_is_free(tx: Transaction, partner_id: int, name: str, *, app_id: int | None) -> None:
    # Suppliers tell apps apart by name in their integration overview.
    same = tx.apps.get_by_name(partner_id, name)
    if same is not None and same.id != app_id:
        raise ValidationError("The app was not saved.", fields={"name": "You already have an app with this name."})


def check_review_reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            f"The {what} was not rejected.",
            fields={"reason": "Tell the partner what to change before it can be verified."},
        )
    if len(reason) > MAX_REVIEW_NOTE:
        raise ValidationError(
            f"The {what} was not rejected.", fields={"reason": f"The reason can be at most {MAX_REVIEW_NOTE} characters."}
        )
    return reason


def apply_details(tx: Transaction, app: App, details: AppDetails, logo: LogoChange, now: dt.datetime) -> None:
    apps = tx.apps
    app.name, app.application_url, app.description = details.name, details.application_url, details.description
    apps.replace_redirect_uris(app, list(details.redirect_urls))
    if logo.data is not None and logo.content_type is not None:
        apps.set_logo(app.id, content_type=logo.content_type, data=logo.data, now=now)
    elif logo.remove:
        apps.delete_logo(app.id)
    app.updated_at = now


def hold_changes(
    tx: Transaction, app: App, details: AppDetails, logo: LogoChange, *, user_id: int | None, now: dt.datetime
) -> EditResult:
    """Keep a verified app's edit as its change request, replacing an earlier one.

    The edit form starts from the earlier request, so a logo neither replaced nor removed
    keeps what that request proposed.
    """
    changes = tx.app_changes
    previous = changes.get_with_logo(app.id)
    content_type, data, removes = logo.content_type, logo.data, logo.remove
    if data is None and not removes and previous is not None:
        content_type, data, removes = previous.logo_content_type, previous.logo_data, previous.removes_logo
    if data is not None:
        removes = False
    elif removes and not tx.apps.has_logo(app.id):
        removes = False  # removing a proposed logo, with none live: nothing changes
    summary = summarize_changes(details_of(app), details, new_logo=data is not None, removes_logo=removes)
    if summary.is_empty:
        changes.delete_for_app(app.id)
        return EditResult.MATCHES_LIVE
    changes.replace(
        app.id, name=details.name, description=details.description, application_url=details.application_url,
        redirect_urls=list(details.redirect_urls), logo_content_type=content_type if data is not None else None,
        logo_data=data, removes_logo=removes, user_id=user_id, now=now,
    )
    return EditResult.HELD_FOR_REVIEW


def _reviewed_request(tx: Transaction, app: App, reviewed: str) -> AppChangeRequest:
    changes = tx.app_changes
    changes.lock_app(app)
    change = changes.get_with_logo(app.id)
    if change is None:
        raise NotFoundError(f"{app.name} has no changes waiting for review.")
    if reviewed != change_fingerprint(change):
        raise StaleReviewError(
            f"The partner changed the edits of {app.name} since you opened them. Nothing was decided: review them again."
        )
    if change.status != AppStatus.SUBMITTED.value:
        raise ValidationError(f"These changes of {app.name} were already rejected.")
    return change


def approve_changes(tx: Transaction, app: App, *, reviewed: str, now: dt.datetime) -> None:
    """Apply the reviewed change request to the live app, in this transaction."""
    change = _reviewed_request(tx, app, reviewed)
    details = details_of(change)
    try:
        check_name_is_free(tx, app.partner_id, details.name, app_id=app.id)
    except ValidationError:
        raise ValidationError(
            f"Another app of {app.partner.name} is called {details.name} now: reject the changes with that reason."
        ) from None
    logo = LogoChange(change.logo_content_type, change.logo_data, change.removes_logo)
    tx.app_changes.delete_for_app(app.id)
    apply_details(tx, app, details, logo, now)


def reject_changes(tx: Transaction, app: App, *, reviewed: str, reason: str, now: dt.datetime) -> None:
    """The live app stays; the partner sees the reason beside the rejected edits."""
    reason = check_review_reason(reason, "change")
    tx.app_changes.mark_rejected(_reviewed_request(tx, app, reviewed), reason, now)


def withdraw_changes(tx: Transaction, app: App) -> None:
    changes = tx.app_changes
    changes.lock_app(app)
    if not changes.delete_for_app(app.id):
        raise NotFoundError(f"{app.name} has no changes waiting for review.")


def _fingerprint(details: AppDetails, logo: bytes | None, removes_logo: bool) -> str:
    content = json.dumps([details.name, details.description, details.application_url, list(details.redirect_urls),
                          hashlib.sha256(logo).hexdigest() if logo is not None else "", removes_logo])
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def change_fingerprint(change: AppChangeRequest) -> str:
    """What support reviews of a change request: its content, not its id (a replaced
    request may get the id of the one it replaced)."""
    return _fingerprint(details_of(change), change.logo_data, change.removes_logo)


def review_fingerprint(tx: Transaction, app: App) -> str:
    """What support reviews of a submitted app, logo included."""
    logo = tx.apps.get_logo(app.id)
    return _fingerprint(details_of(app), logo.data if logo else None, False)


def check_reviewed_version(tx: Transaction, app: App, reviewed: str) -> None:
    tx.app_changes.lock_app(app)  # an edit committed after this check waits for the decision
    if reviewed != review_fingerprint(tx, app):
        raise StaleReviewError(
            f"The partner changed {app.name} since you opened it. Nothing was decided: review it again."
        )
