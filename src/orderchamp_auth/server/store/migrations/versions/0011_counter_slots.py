"""the revocation counter in slots on PostgreSQL: concurrent revocations stop queueing on one row

0010's trigger bumps the counter's one row, which stays locked until the bumping transaction
commits: on PostgreSQL, where writers run concurrently, every transaction that revokes a token
(each token exchange that replaces an installation's token) then waited for the previous one
to commit, whatever installation it was for. The counter is now the sum of SLOTS rows, and a
transaction bumps the row of its connection (its backend pid): transactions on different
connections mostly bump different rows, and a connection runs one transaction at a time. The
sum moves by one per revoked token, as the one row did, and only when the bump commits.

SQLite serialises its writers: its counter stays one row (the sum of one row).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# More slots than a deployment's connections, so that few of them share one; the readers sum
# them all (a bearer cache's refresh, not a request).
SLOTS = 64


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


# What the trigger's function runs: 0010's bump of the one row, and the bump of the connection's slot.
BUMP_ONE = "UPDATE revocation_counter SET version = version + 1 WHERE id = 1"
BUMP_SLOT = f"UPDATE revocation_counter SET version = version + 1 WHERE id = 1 + pg_backend_pid() % {SLOTS}"  # noqa: S608 - constants


def _bump_function(bump: str) -> None:
    op.execute(f"CREATE OR REPLACE FUNCTION bump_revocation_counter() RETURNS trigger AS $$ "
               f"BEGIN {bump}; RETURN NULL; END; $$ LANGUAGE plpgsql")


def upgrade() -> None:
    if not _postgresql():
        return
    counter = sa.table("revocation_counter", sa.column("id", sa.Integer()), sa.column("version", sa.BigInteger()))
    op.bulk_insert(counter, [{"id": slot, "version": 0} for slot in range(2, SLOTS + 1)])
    _bump_function(BUMP_SLOT)


def downgrade() -> None:
    if not _postgresql():
        return
    _bump_function(BUMP_ONE)
    op.execute("UPDATE revocation_counter SET version = (SELECT sum(version) FROM revocation_counter) WHERE id = 1")
    op.execute("DELETE FROM revocation_counter WHERE id <> 1")
