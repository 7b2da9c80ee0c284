"""the token endpoint's write, shorter: the database bumps the revocation counter itself, and
access_tokens.installation_id is indexed for live tokens only

A trigger on access_tokens, as 0004's data versions: every write that revokes a token (sets
revoked_at) or deletes a live one bumps revocation_counter by one per token, whoever wrote it
(the token endpoint, the back office, the command line, a cascade). The writers no longer
bump it themselves, so none can forget to, and the token endpoint's write (SQLite serialises
writers across workers) is one statement shorter.

The index of every token's installation goes: every query by installation asks for its live
tokens, which 0007's partial index holds, and each issued token had two index entries to write.

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
    op.drop_index('ix_access_tokens_installation_id', table_name='access_tokens')


def downgrade() -> None:
    op.create_index('ix_access_tokens_installation_id', 'access_tokens', ['installation_id'])
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name}" + (" ON access_tokens" if _postgresql() else ""))
    if _postgresql():
        op.execute("DROP FUNCTION bump_revocation_counter()")
