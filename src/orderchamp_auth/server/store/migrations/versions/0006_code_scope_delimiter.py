"""authorization codes remember the scope delimiter the app asked with

Standard OAuth clients send a space-separated scope (RFC 6749) and compare the token
response's scope with what they sent; Orderchamp's form is comma-separated. The token
response answers in the delimiter of the authorization request.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('authorization_codes') as batch:
        batch.add_column(sa.Column('scope_delimiter', sa.String(length=1), server_default=',', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('authorization_codes') as batch:
        batch.drop_column('scope_delimiter')
