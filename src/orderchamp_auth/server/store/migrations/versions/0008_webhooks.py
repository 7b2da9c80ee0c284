"""webhooks: subscriptions, the outbox of deliveries, and their attempts

Apps learn about changes from webhooks. A delivery row is written in the transaction of the
change it reports (a transactional outbox) and claimed by a worker under a lease.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import orderchamp_auth.server.store.database

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UTCDateTime = orderchamp_auth.server.store.database.UTCDateTime


def upgrade() -> None:
    op.create_table('webhook_subscriptions',
    sa.Column('id', Id, nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=2000), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('failing_since', UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_webhook_subscriptions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_webhook_subscriptions_app_id_apps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions')),
    sa.UniqueConstraint('account_id', 'app_id', 'topic', 'address', name=op.f('uq_webhook_subscriptions_account_id'))
    )
    op.create_index('ix_webhook_subscriptions_account_topic', 'webhook_subscriptions', ['account_id', 'topic'])
    op.create_index(op.f('ix_webhook_subscriptions_app_id'), 'webhook_subscriptions', ['app_id'])
    op.create_table('webhook_deliveries',
    sa.Column('id', Id, nullable=False),
    sa.Column('webhook_id', sa.String(length=36), nullable=False),
    sa.Column('subscription_id', Id, nullable=True),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=2000), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('occurred_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('delivered_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_webhook_deliveries_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_webhook_deliveries_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], name=op.f('fk_webhook_deliveries_subscription_id_webhook_subscriptions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('webhook_id', name=op.f('uq_webhook_deliveries_webhook_id'))
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['next_attempt_at'],
                    sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_webhook_deliveries_app_created', 'webhook_deliveries', ['app_id', 'created_at'])
    op.create_index(op.f('ix_webhook_deliveries_account_id'), 'webhook_deliveries', ['account_id'])
    op.create_index(op.f('ix_webhook_deliveries_subscription_id'), 'webhook_deliveries', ['subscription_id'])
    op.create_table('webhook_attempts',
    sa.Column('id', Id, nullable=False),
    sa.Column('delivery_id', Id, nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('response_headers', sa.Text(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    op.create_index(op.f('ix_webhook_attempts_delivery_id'), 'webhook_attempts', ['delivery_id'])


def downgrade() -> None:
    op.drop_table('webhook_attempts')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
