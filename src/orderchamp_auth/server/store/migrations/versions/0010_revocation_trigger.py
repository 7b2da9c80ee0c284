"""the database bumps the revocation counter itself: one bump per token revoked or deleted live

A trigger on access_tokens, as 0004's data versions: every write that revokes a token (sets
revoked_at) or deletes a live one bumps revocation_counter by one per token, whoever wrote it
(the token endpoint, the back office, the command line, a cascade). The writers no longer
bump it themselves, so none can forget to, and the token endpoint's write (SQLite serialises
writers across workers) is one statement shorter.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BUMP = "UPDATE revocation_counter SET version = version + 1 WHERE id = 1"
# trigger -> (event, condition)
TRIGGERS = {
    "tr_access_tokens_revoked": ("UPDATE OF revoked_at", "OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL"),
    "tr_access_tokens_deleted_live": ("DELETE", "OLD.revoked_at IS NULL"),
}


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgresql():
        op.execute(f"CREATE FUNCTION bump_revocation_counter() RETURNS trigger AS $$ "
                   f"BEGIN {BUMP}; RETURN NULL; END; $$ LANGUAGE plpgsql")
        for name, (event, condition) in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON access_tokens FOR EACH ROW "
                       f"WHEN ({condition}) EXECUTE FUNCTION bump_revocation_counter()")
    else:
        for name, (event, condition) in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON access_tokens FOR EACH ROW "
                       f"WHEN {condition} BEGIN {BUMP}; END")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name}" + (" ON access_tokens" if _postgresql() else ""))
    if _postgresql():
        op.execute("DROP FUNCTION bump_revocation_counter()")
