"""Change requests of verified apps: edits held for review, apart from the live app's rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import undefer

from ..models import App, AppChangeRequest, AppStatus
from .base import Repository


class AppChangeRepository(Repository):
    def lock_app(self, app: App) -> None:
        """Reload the app under a row lock, so that its edits and reviews run one at a time:
        an approval never applies a request replaced after it was read. (PostgreSQL; SQLite
        writers are serialized by BEGIN IMMEDIATE, and SQLAlchemy leaves out FOR UPDATE.)"""
        self.session.execute(select(App.id).where(App.id == app.id).with_for_update())
        self.session.refresh(app)

    def get_for_app(self, app_id: int) -> AppChangeRequest | None:
        return self.session.scalar(select(AppChangeRequest).where(AppChangeRequest.app_id == app_id))

    def get_with_logo(self, app_id: int) -> AppChangeRequest | None:
        return self.session.scalar(
            select(AppChangeRequest).where(AppChangeRequest.app_id == app_id).options(undefer(AppChangeRequest.logo_data))
        )

    def proposed_logo(self, app_id: int) -> tuple[str, bytes] | None:
        """``(content type, image)`` of the logo a change request proposes, if it proposes one."""
        row = self.session.execute(
            select(AppChangeRequest.logo_content_type, AppChangeRequest.logo_data)
            .where(AppChangeRequest.app_id == app_id, AppChangeRequest.logo_content_type.is_not(None))
        ).first()
        if row is None or row[0] is None or row[1] is None:
            return None
        return row[0], row[1]

    def replace(
        self,
        app_id: int,
        *,
        name: str,
        description: str,
        application_url: str,
        redirect_urls: list[str],
        logo_content_type: str | None,
        logo_data: bytes | None,
        removes_logo: bool,
        user_id: int | None,
        now: dt.datetime,
    ) -> AppChangeRequest:
        """The app's one change request, replacing an earlier one."""
        # A statement, not session.delete(): the unit of work inserts before it deletes, and
        # the new row would meet the old one on the app_id unique constraint.
        self.delete_for_app(app_id)
        change = AppChangeRequest(
            app_id=app_id, status=AppStatus.SUBMITTED.value, name=name, description=description,
            application_url=application_url, redirect_urls=list(redirect_urls),
            logo_content_type=logo_content_type, logo_data=logo_data, removes_logo=removes_logo,
            review_note="", submitted_by_user_id=user_id, created_at=now,
        )
        self.session.add(change)
        self.session.flush()
        return change

    def mark_rejected(self, change: AppChangeRequest, reason: str, now: dt.datetime) -> None:
        change.status = AppStatus.REJECTED.value
        change.review_note = reason
        change.reviewed_at = now
        self.session.flush()

    def delete_for_app(self, app_id: int) -> bool:
        result = self.session.execute(
            delete(AppChangeRequest).where(AppChangeRequest.app_id == app_id).execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def list_submitted(self) -> list[AppChangeRequest]:
        """The review queue's changes, oldest first (each with its live app loaded)."""
        return list(
            self.session.scalars(
                select(AppChangeRequest).where(AppChangeRequest.status == AppStatus.SUBMITTED.value)
                .order_by(AppChangeRequest.created_at, AppChangeRequest.id)
            )
        )

    def statuses_for(self, app_ids: list[int]) -> dict[int, str]:
        """``app id -> status`` of the change requests among these apps (the partner's list)."""
        if not app_ids:
            return {}
        rows = self.session.execute(
            select(AppChangeRequest.app_id, AppChangeRequest.status).where(AppChangeRequest.app_id.in_(app_ids))
        )
        return {app_id: status for app_id, status in rows}
