"""``children_of_each``: several children relations of the same parents read at once (one
``UNION ALL`` on PostgreSQL) give each relation the rows, columns, values and order its own
``children`` read gives, for one parent and for many."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from orderchamp_auth.server.api.description import TYPES
from orderchamp_auth.server.store import models as m
from orderchamp_auth.server.store import transaction
from orderchamp_auth.server.store.driver_statements import run
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


class _RollBack(Exception):
    pass


def test_one_with_children_reads_what_by_ids_then_children_of_each_read(platform, monkeypatch):
    """One object and its children: on PostgreSQL one statement (the object's row a block of the
    children's ``UNION ALL``), elsewhere ``by_ids`` then, if found, ``children_of_each``; the
    same rows either way, for an object with children, one without, and one not found."""
    account = seeded_account(World(platform))
    product = TYPES["Product"].projection(("id", "title", "brand", "createdAt", "updatedAt"))
    variant, image = TYPES["ProductVariant"], TYPES["ProductImage"]
    reads = [
        ChildRead(variant.projection(("sku", "price", "inventoryQuantity"), ("product_id",)), "product_id", ("position",)),
        ChildRead(image.projection(("originalUrl",), ("product_id",)), "product_id", ("position",)),
    ]
    statements: list[str] = []

    def counted(driver, dialect, read, *args, **kwargs):
        statements.append(read.sql)
        return run(driver, dialect, read, *args, **kwargs)

    def rows(found):
        return [list(row) for row in found]

    with pytest.raises(_RollBack), platform.database.write() as db:
        full, bare = db.session.scalars(select(m.Product.id).where(m.Product.account_id == account.account_id)
                                        .order_by(m.Product.id).limit(2)).all()
        for model in (m.ProductVariant, m.ProductImage):  # ``bare`` without children (rolled back)
            db.session.execute(delete(model).where(model.product_id == bare))
        db.flush()
        catalogue = db.catalogue(account.account_id)
        one_statement = platform.database.engine.dialect.name == "postgresql"
        monkeypatch.setattr(transaction, "run", counted)
        for object_id, has_children in ((full, True), (bare, False), (full + 10_000_000, None)):
            statements.clear()
            found, children = catalogue.one_with_children(product, object_id, reads)
            assert len(statements) == (1 if one_statement else 3 if has_children is not None else 1)
            expected = catalogue.by_ids(product, [object_id])
            assert rows(found) == rows(expected) and bool(found) == (has_children is not None)
            assert [rows(r) for r in children] == (
                [rows(r) for r in catalogue.children_of_each(reads, [object_id])] if found else [[], []])
            assert all(children) == bool(has_children) and any(children) == bool(has_children)
        statements.clear()
        assert catalogue.one_with_children(product, full, []) == (catalogue.by_ids(product, [full]), [])
        assert len(statements) == 2  # no children wanted: ``by_ids`` alone (and the check's own)
        other = db.catalogue(account.account_id + 10_000)  # another account's read sees none of it
        assert other.one_with_children(product, full, reads) == ([], [[], []])
        raise _RollBack
