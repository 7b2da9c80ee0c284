"""app change requests: edits of a verified app held for review

A verified app stayed verified whatever its partner changed (name, URLs, redirect URLs, logo),
so the consent page said "Verified" for a redirect URL support never saw. Such edits now wait
here; the app's own rows stay the live, reviewed version until support approves them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

import orderchamp_auth.server.store.database

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UTCDateTime = orderchamp_auth.server.store.database.UTCDateTime


def upgrade() -> None:
    op.create_table('app_change_requests',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('application_url', sa.String(length=2000), nullable=False),
    sa.Column('redirect_urls', sa.JSON(), nullable=False),
    sa.Column('logo_content_type', sa.String(length=50), nullable=True),
    sa.Column('logo_data', sa.LargeBinary(), nullable=True),
    sa.Column('removes_logo', sa.Boolean(), nullable=False),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.Column('submitted_by_user_id', Id, nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_app_change_requests_app_id_apps'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submitted_by_user_id'], ['users.id'],
                            name=op.f('fk_app_change_requests_submitted_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_change_requests')),
    sa.UniqueConstraint('app_id', name=op.f('uq_app_change_requests_app_id'))
    )


def downgrade() -> None:
    op.drop_table('app_change_requests')
