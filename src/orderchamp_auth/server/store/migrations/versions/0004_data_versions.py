"""data versions: a counter per account raised by every change to what the API reads

Triggers, not application code, raise it: every writer (API mutations, back office, CLI, demo
seeding, a hand-run SQL statement) then keeps the API's response cache honest.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Tables whose rows carry account_id; the accounts table itself is keyed by id.
TABLES = [
    "products", "product_variants", "product_images", "customers", "orders", "order_products",
    "invoices", "invoice_items", "shipments", "shipment_items",
]
BUMP_SQLITE = (
    "INSERT INTO data_versions (account_id, version) VALUES ({row}.{column}, 1) "
    "ON CONFLICT (account_id) DO UPDATE SET version = version + 1;"
)
PG_FUNCTION = """
CREATE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    INSERT INTO data_versions (account_id, version)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.{column} ELSE NEW.{column} END, 1)
    ON CONFLICT (account_id) DO UPDATE SET version = data_versions.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def _watched() -> list[tuple[str, str, list[str]]]:
    """(table, its account column, the operations that change what the API shows)."""
    return [(t, "account_id", ["INSERT", "UPDATE", "DELETE"]) for t in TABLES] + [("accounts", "id", ["UPDATE"])]


def upgrade() -> None:
    op.create_table(
        'data_versions',
        sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
                  nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_data_versions')),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(PG_FUNCTION.format(name="bump_data_version", column="account_id"))
        op.execute(PG_FUNCTION.format(name="bump_account_data_version", column="id"))
        for table, column, operations in _watched():
            function = "bump_account_data_version" if column == "id" else "bump_data_version"
            op.execute(f"CREATE TRIGGER tr_{table}_data_version AFTER {' OR '.join(operations)} ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {function}()")
        return
    for table, column, operations in _watched():
        for operation in operations:
            row = "OLD" if operation == "DELETE" else "NEW"
            op.execute(f"CREATE TRIGGER tr_{table}_data_version_{operation.lower()} AFTER {operation} ON {table} "
                       f"BEGIN {BUMP_SQLITE.format(row=row, column=column)} END")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table, _, _ in _watched():
            op.execute(f"DROP TRIGGER tr_{table}_data_version ON {table}")
        op.execute("DROP FUNCTION bump_data_version()")
        op.execute("DROP FUNCTION bump_account_data_version()")
    else:
        for table, _, operations in _watched():
            for operation in operations:
                op.execute(f"DROP TRIGGER tr_{table}_data_version_{operation.lower()}")
    op.drop_table('data_versions')
