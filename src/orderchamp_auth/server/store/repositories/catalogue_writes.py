"""Writes to the catalogue and orders of one account, for the API's mutations: the ORM
objects they change, and the few statements they need, in one transaction's session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, SessionTransaction

from .. import models as m


class CatalogueWrites:
    def __init__(self, session: Session, account_id: int) -> None:
        self.session = session
        self.account_id = account_id

    def get(self, model: type[m.Base], object_id: int) -> Any:
        """An object of this account; ``None`` for other accounts' ids."""
        obj = self.session.get(model, object_id)
        if obj is None or getattr(obj, "account_id", None) != self.account_id:
            return None
        return obj

    def account(self) -> m.Account:
        account = self.session.get(m.Account, self.account_id)
        assert account is not None
        return account

    def savepoint(self) -> SessionTransaction:
        """A nested transaction: one mutation's changes, rolled back alone if it fails."""
        return self.session.begin_nested()

    def add(self, obj: m.Base) -> None:
        self.session.add(obj)
        self.session.flush()

    def flush(self) -> None:
        self.session.flush()

    def remove(self, obj: m.Base) -> None:
        self.session.delete(obj)

    def remove_product(self, product: m.Product) -> None:
        """A product with its variants and images."""
        self.session.execute(delete(m.ProductVariant).where(m.ProductVariant.product_id == product.id))
        self.session.execute(delete(m.ProductImage).where(m.ProductImage.product_id == product.id))
        self.session.delete(product)

    def next_variant_position(self, product_id: int) -> int:
        highest = self.session.scalar(
            select(func.max(m.ProductVariant.position)).where(m.ProductVariant.product_id == product_id))
        return (highest or 0) + 1

    def next_image_position(self, product_id: int) -> int:
        highest = self.session.scalar(
            select(func.max(m.ProductImage.position)).where(m.ProductImage.product_id == product_id))
        return (highest or 0) + 1

    def ordered_quantities(self, order_id: int) -> dict[int, int]:
        """Order product id -> quantity ordered."""
        return dict(self.session.execute(  # type: ignore[arg-type]
            select(m.OrderProduct.id, m.OrderProduct.quantity).where(m.OrderProduct.order_id == order_id)).all())

    def shipped_quantities(self, order_id: int) -> dict[int, int]:
        """Order product id -> quantity in shipments that left (shipped or delivered)."""
        shipped: dict[int, int] = {}
        for op_id, quantity in self.session.execute(
            select(m.ShipmentItem.order_product_id, m.ShipmentItem.quantity)
            .join(m.Shipment, m.Shipment.id == m.ShipmentItem.shipment_id)
            .where(m.Shipment.order_id == order_id, m.Shipment.status.in_(("SHIPPED", "DELIVERED")))
        ):
            shipped[op_id] = shipped.get(op_id, 0) + quantity
        return shipped
