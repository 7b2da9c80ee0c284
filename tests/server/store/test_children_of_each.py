"""``children_of_each``: several children relations of the same parents read at once (one
``UNION ALL`` on PostgreSQL) give each relation the rows, columns, values and order its own
``children`` read gives, for one parent and for many."""

from __future__ import annotations

from sqlalchemy import select

from orderchamp_auth.server.api.description import TYPES
from orderchamp_auth.server.store import models as m
from orderchamp_auth.server.store.repositories.catalogue import ChildRead

from ...e2e.api_support import seeded_account
from ...support import World


def test_children_of_each_reads_what_each_read_reads_alone(platform):
    account = seeded_account(World(platform))
    variant, image = TYPES["ProductVariant"], TYPES["ProductImage"]
    reads = [
        ChildRead(variant.projection(("sku", "price", "inventoryQuantity"), ("product_id",)), "product_id", ("position",)),
        ChildRead(image.projection(("originalUrl",), ("product_id",)), "product_id", ("position",)),
    ]
    with platform.database.read() as db:
        product_ids = list(db.session.scalars(select(m.Product.id).where(m.Product.account_id == account.account_id)
                                              .order_by(m.Product.id)))
        catalogue = db.catalogue(account.account_id)
        for parents in ([product_ids[0]], product_ids[:7], product_ids):
            together = catalogue.children_of_each(reads, parents)
            alone = [catalogue.children(r.projection, r.parent_column, parents, r.order) for r in reads]
            assert [[list(row) for row in rows] for rows in together] == [[list(row) for row in rows] for rows in alone]
            assert together[0] and together[1]  # the seeded products have variants and images
        assert catalogue.children_of_each(reads, []) == [[], []]
        other = db.catalogue(account.account_id + 10_000)  # another account's reads see none of these
        assert other.children_of_each(reads, product_ids[:3]) == [[], []]
