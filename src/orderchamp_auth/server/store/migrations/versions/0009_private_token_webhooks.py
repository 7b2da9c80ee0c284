"""webhooks for private tokens: a subscription or delivery belongs to an app or to a private token

A private token has no client secret to sign deliveries with, so it gets a webhook signing
secret of its own (encrypted at rest, like client secrets).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import orderchamp_auth.server.store.database

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UTCDateTime = orderchamp_auth.server.store.database.UTCDateTime


def upgrade() -> None:
    op.create_table('webhook_signing_secrets',
    sa.Column('token_id', Id, nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['token_id'], ['access_tokens.id'], name=op.f('fk_webhook_signing_secrets_token_id_access_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_webhook_signing_secrets'))
    )
    with op.batch_alter_table('webhook_subscriptions') as batch:
        batch.alter_column('app_id', existing_type=Id, nullable=True)
        batch.add_column(sa.Column('token_id', Id, nullable=True))
        batch.create_foreign_key(op.f('fk_webhook_subscriptions_token_id_access_tokens'), 'access_tokens',
                                 ['token_id'], ['id'], ondelete='CASCADE')
        batch.create_unique_constraint('uq_webhook_subscriptions_token_topic',
                                       ['account_id', 'token_id', 'topic', 'address'])
        batch.create_check_constraint('one_owner', '(app_id IS NULL) <> (token_id IS NULL)')
        batch.create_index(op.f('ix_webhook_subscriptions_token_id'), ['token_id'])
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.alter_column('app_id', existing_type=Id, nullable=True)
        batch.add_column(sa.Column('token_id', Id, nullable=True))
        batch.create_foreign_key(op.f('fk_webhook_deliveries_token_id_access_tokens'), 'access_tokens',
                                 ['token_id'], ['id'], ondelete='CASCADE')
        batch.create_index(op.f('ix_webhook_deliveries_token_id'), ['token_id'])


def downgrade() -> None:
    op.execute("DELETE FROM webhook_deliveries WHERE app_id IS NULL")
    op.execute("DELETE FROM webhook_subscriptions WHERE app_id IS NULL")
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.drop_index(op.f('ix_webhook_deliveries_token_id'))
        batch.drop_constraint(op.f('fk_webhook_deliveries_token_id_access_tokens'), type_='foreignkey')
        batch.drop_column('token_id')
        batch.alter_column('app_id', existing_type=Id, nullable=False)
    with op.batch_alter_table('webhook_subscriptions') as batch:
        batch.drop_index(op.f('ix_webhook_subscriptions_token_id'))
        batch.drop_constraint(op.f('ck_webhook_subscriptions_one_owner'), type_='check')
        batch.drop_constraint('uq_webhook_subscriptions_token_topic', type_='unique')
        batch.drop_constraint(op.f('fk_webhook_subscriptions_token_id_access_tokens'), type_='foreignkey')
        batch.drop_column('token_id')
        batch.alter_column('app_id', existing_type=Id, nullable=False)
    op.drop_table('webhook_signing_secrets')
