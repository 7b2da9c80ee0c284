"""indexes for reading children by parent within an account

The API loads a level of a query in one statement: "the variants of these products, in this
account". With only (account_id, sku) and (product_id) to choose from, SQLite scanned every
variant of the account and sorted them; these indexes serve the lookup and the order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_product_variants_account_id_product_id", "product_variants", ["account_id", "product_id", "position"]),
    ("ix_product_images_account_id_product_id", "product_images", ["account_id", "product_id", "position"]),
    ("ix_order_products_account_id_order_id", "order_products", ["account_id", "order_id"]),
    ("ix_invoices_account_id_order_id", "invoices", ["account_id", "order_id"]),
    ("ix_invoice_items_account_id_invoice_id", "invoice_items", ["account_id", "invoice_id"]),
    ("ix_shipments_account_id_order_id", "shipments", ["account_id", "order_id"]),
    ("ix_shipment_items_account_id_shipment_id", "shipment_items", ["account_id", "shipment_id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
