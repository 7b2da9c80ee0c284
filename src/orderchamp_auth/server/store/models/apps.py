"""Apps, their redirect URLs, logos and change requests; installations, codes, tokens and the revocation counter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..types import UTCDateTime
from .accounts import Partner
from .base import AppStatus, Base, Id, _created


class App(Base):
    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_client_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    application_url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20), default=AppStatus.DRAFT.value)
    review_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()

    redirect_uris: Mapped[list[AppRedirectUri]] = relationship(
        order_by="AppRedirectUri.position", cascade="all, delete-orphan", lazy="selectin"
    )
    partner: Mapped[Partner] = relationship(lazy="joined")


class AppRedirectUri(Base):
    __tablename__ = "app_redirect_uris"
    __table_args__ = (UniqueConstraint("app_id", "url"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    position: Mapped[int] = mapped_column(Integer, default=0)


class AppLogo(Base):
    """The re-encoded logo image, served by the platform."""

    __tablename__ = "app_logos"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = _created()


class AppChangeRequest(Base):
    """Edits of a verified app, held for support's review: the verified version in ``apps``
    stays what users see and what authorize checks until support approves them. One per app;
    a newer edit replaces it."""

    __tablename__ = "app_change_requests"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=AppStatus.SUBMITTED.value)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    application_url: Mapped[str] = mapped_column(String(2000))
    redirect_urls: Mapped[list[str]] = mapped_column(JSON)
    # A new logo (re-encoded like a live one), or removes_logo; neither keeps the live logo.
    logo_content_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    logo_data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    removes_logo: Mapped[bool] = mapped_column(Boolean, default=False)
    review_note: Mapped[str] = mapped_column(Text, default="")
    submitted_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = _created()
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    app: Mapped[App] = relationship(lazy="joined")


class Installation(Base):
    """An app installed on an account; uninstalling revokes every token it issued."""

    __tablename__ = "installations"
    __table_args__ = (UniqueConstraint("account_id", "app_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(String(500), default="")
    installed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    installed_at: Mapped[dt.datetime] = _created()
    uninstalled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    redirect_uri: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    scopes: Mapped[str] = mapped_column(String(500))
    scope_delimiter: Mapped[str] = mapped_column(String(1), default=",", server_default=",")
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[dt.datetime] = _created()
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AccessToken(Base):
    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    display_prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # Indexed for its live tokens only (below): nothing looks up an installation's revoked
    # ones, and the token endpoint's write, which holds SQLite's lock, has one index less to update.
    installation_id: Mapped[int | None] = mapped_column(
        ForeignKey("installations.id", ondelete="CASCADE"), nullable=True
    )
    authorization_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("authorization_codes.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = _created()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # Every exchange and consent looks up the installation's live token (one, normally) among
    # all it was ever issued: only the live ones are indexed.
    __table_args__ = (
        Index("ix_access_tokens_live_installation", "installation_id",
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
    )


class RevocationCounter(Base):
    """Bumped in every transaction that revokes a token, so workers know to drop caches. The
    counter is the sum of the rows: one on SQLite, slots on PostgreSQL (migration 0011)."""

    __tablename__ = "revocation_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)



