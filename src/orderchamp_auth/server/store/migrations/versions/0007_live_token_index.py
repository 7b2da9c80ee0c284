"""an index of each installation's live tokens

An exchange revokes the installation's other live tokens and a consent reads them: with only
(installation_id) indexed, both walked every token the installation was ever issued.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_access_tokens_live_installation', 'access_tokens', ['installation_id'],
                    sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_access_tokens_live_installation', table_name='access_tokens')
