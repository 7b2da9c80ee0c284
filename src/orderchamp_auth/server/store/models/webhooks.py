"""Webhook tables: subscriptions, the outbox of deliveries, and each delivery's attempts.

The outbox row (``WebhookDelivery``) is written in the transaction of the change it reports, so
a change that rolls back reports nothing. One row per event and subscription: its ``webhook_id``
stays the same over every attempt. A worker claims a row by setting ``lease_until`` (and its own
``lease_token``); a worker that dies leaves the lease to run out, and the row is claimed again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..types import UTCDateTime
from .base import Base, Id, _created


class DeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookSubscription(Base):
    """An installed app's (or a private token's) wish to hear about one topic of one account,
    at one address. Exactly one of ``app_id`` and ``token_id`` is set: an app's deliveries are
    signed with its client secret, a private token's with its ``WebhookSigningSecret``."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        UniqueConstraint("account_id", "app_id", "topic", "address"),
        UniqueConstraint("account_id", "token_id", "topic", "address", name="uq_webhook_subscriptions_token_topic"),
        Index("ix_webhook_subscriptions_account_topic", "account_id", "topic"),
        CheckConstraint("(app_id IS NULL) <> (token_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), nullable=True, index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)
    topic: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    # Since when every delivery failed (None after a success); past a day, the subscription is
    # disabled and ``disabled_reason`` tells the partner why.
    failing_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The worker's claim: due pending rows only.
        Index("ix_webhook_deliveries_due", "next_attempt_at",
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        Index("ix_webhook_deliveries_app_created", "app_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(36), unique=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="SET NULL"), nullable=True, index=True)
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), nullable=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(2000))
    body: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    is_test: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = _created()


class WebhookAttempt(Base):
    """One POST of a delivery: what came back (truncated), and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    latency_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    response_headers: Mapped[str] = mapped_column(Text, default="")
    response_body: Mapped[str] = mapped_column(Text, default="")


class WebhookSigningSecret(Base):
    """A private token's webhook signing secret, encrypted like client secrets (``SecretBox``):
    the worker needs the secret itself to sign, so it cannot be a hash. Made with the token,
    shown once, revealed or rotated in the back office; gone when the token is revoked."""

    __tablename__ = "webhook_signing_secrets"

    token_id: Mapped[int] = mapped_column(ForeignKey("access_tokens.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _created()
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
