"""Writing a whole catalogue at once (the demo's, and test data sets'): products with their
variants and images, customers, and orders with their lines, invoices and shipments.

The records to write arrive as plain values (``CatalogueSeed``); this module only knows how
they map to rows and which ids tie them together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from .. import models as m
from .base import Repository


@dataclass(frozen=True, slots=True)
class VariantSeed:
    title: str
    sku: str  # unique in the seed: order lines name their variant by it
    price: Decimal
    inventory_quantity: int
    inventory_policy: str
    position: int


@dataclass(frozen=True, slots=True)
class ProductSeed:
    title: str
    description: str
    brand: str
    created_at: dt.datetime
    variants: tuple[VariantSeed, ...]
    image_urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CustomerSeed:
    company_name: str
    email: str
    address: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OrderLineSeed:
    sku: str
    title: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceSeed:
    number: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ShipmentSeed:
    carrier: str
    tracking_code: str
    tracking_url: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OrderSeed:
    customer: int  # index into the seed's customers
    number: int
    reference: str
    status: str
    is_confirmed: bool
    is_cancelled: bool
    is_fulfilled: bool
    confirmed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    created_at: dt.datetime
    lines: tuple[OrderLineSeed, ...]
    invoice: InvoiceSeed | None  # its items are the order's lines
    shipment: ShipmentSeed | None  # ships every line in full

    @property
    def total_price(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


@dataclass(frozen=True, slots=True)
class CatalogueSeed:
    products: tuple[ProductSeed, ...]
    customers: tuple[CustomerSeed, ...]
    orders: tuple[OrderSeed, ...]


@dataclass(frozen=True, slots=True)
class Seeded:
    """The ids of what was written, for the webhook events the writer records."""

    products: list[int]
    customers: list[int]
    orders: list[int]


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: int
    number: int
    customer_id: int
    customer_created: bool  # the customer was made for this order


class CatalogueSeedRepository(Repository):
    def has_products(self, account_id: int) -> bool:
        return bool(self.session.scalar(
            select(func.count()).select_from(m.Product).where(m.Product.account_id == account_id)))

    def insert(self, account_id: int, seed: CatalogueSeed) -> Seeded:
        product_ids: list[int] = []
        variant_ids = self._insert_products(account_id, seed.products, product_ids)
        customer_ids = self._insert_customers(account_id, seed.customers)
        order_ids = [self._insert_order(account_id, order, customer_ids[order.customer],
                                        [variant_ids[line.sku] for line in order.lines])
                     for order in seed.orders]
        self.session.flush()
        return Seeded(product_ids, customer_ids, order_ids)

    def place_order(self, account_id: int, *, products: int, customer: CustomerSeed,
                    now: dt.datetime) -> PlacedOrder | None:
        """A new order (``NEW``: not confirmed) from ``customer`` (found by email, or made),
        of one of the first variant of each of the account's first ``products`` products, as a
        retailer would place it; None when the account has no products with variants."""
        first_variants = (
            select(m.ProductVariant.id, func.row_number().over(
                partition_by=m.ProductVariant.product_id,
                order_by=(m.ProductVariant.position, m.ProductVariant.id)).label("rank"))
            .where(m.ProductVariant.account_id == account_id).subquery())
        variants = self.session.execute(
            select(m.ProductVariant, m.Product.title)
            .join(first_variants, first_variants.c.id == m.ProductVariant.id)
            .join(m.Product, m.Product.id == m.ProductVariant.product_id)
            .where(first_variants.c.rank == 1).order_by(m.ProductVariant.product_id).limit(products)).all()
        if not variants:
            return None
        found = self.session.scalar(select(m.Customer).where(
            m.Customer.account_id == account_id, m.Customer.email == customer.email).order_by(m.Customer.id).limit(1))
        created = found is None
        if found is None:
            found = m.Customer(account_id=account_id, company_name=customer.company_name, email=customer.email,
                               address=customer.address, created_at=now)
            self.session.add(found)
            self.session.flush()
        number = int(self.session.scalar(
            select(func.coalesce(func.max(m.Order.number), 1000)).where(m.Order.account_id == account_id)) or 1000) + 1
        lines = tuple(OrderLineSeed(sku=v.sku, title=f"{title} ({v.title})" if v.title else title, quantity=1,
                                    unit_price=v.price) for v, title in variants)
        seed = OrderSeed(customer=0, number=number, reference=f"TEST-{number}", status="NEW", is_confirmed=False,
                         is_cancelled=False, is_fulfilled=False, confirmed_at=None, cancelled_at=None,
                         created_at=now, lines=lines, invoice=None, shipment=None)
        order_id = self._insert_order(account_id, seed, found.id, [v.id for v, _ in variants])
        self.session.flush()
        return PlacedOrder(order_id, number, found.id, created)

    def _insert_products(self, account_id: int, products: tuple[ProductSeed, ...], made: list[int]) -> dict[str, int]:
        variants: dict[str, m.ProductVariant] = {}
        for seed in products:
            product = m.Product(account_id=account_id, title=seed.title, description=seed.description,
                                brand=seed.brand, created_at=seed.created_at, updated_at=seed.created_at)
            self.session.add(product)
            self.session.flush()
            made.append(product.id)
            for v in seed.variants:
                variant = m.ProductVariant(
                    account_id=account_id, product_id=product.id, title=v.title, sku=v.sku, price=v.price,
                    inventory_quantity=v.inventory_quantity, inventory_policy=v.inventory_policy,
                    position=v.position, created_at=seed.created_at, updated_at=seed.created_at,
                )
                self.session.add(variant)
                variants[v.sku] = variant
            for position, url in enumerate(seed.image_urls, start=1):
                self.session.add(m.ProductImage(account_id=account_id, product_id=product.id, position=position,
                                                original_url=url, created_at=seed.created_at))
        self.session.flush()
        return {sku: variant.id for sku, variant in variants.items()}

    def _insert_customers(self, account_id: int, customers: tuple[CustomerSeed, ...]) -> list[int]:
        made = [m.Customer(account_id=account_id, company_name=c.company_name, email=c.email, address=c.address,
                           created_at=c.created_at) for c in customers]
        self.session.add_all(made)
        self.session.flush()
        return [customer.id for customer in made]

    def _insert_order(self, account_id: int, seed: OrderSeed, customer_id: int, variant_ids: list[int]) -> int:
        """The order of ``seed``; ``variant_ids``: each line's variant."""
        order = m.Order(
            account_id=account_id, customer_id=customer_id, number=seed.number, reference=seed.reference,
            currency="EUR", status=seed.status, is_confirmed=seed.is_confirmed, is_cancelled=seed.is_cancelled,
            is_fulfilled=seed.is_fulfilled, confirmed_at=seed.confirmed_at, cancelled_at=seed.cancelled_at,
            created_at=seed.created_at, updated_at=seed.created_at, total_price=seed.total_price,
        )
        self.session.add(order)
        self.session.flush()
        lines = [m.OrderProduct(account_id=account_id, order_id=order.id, variant_id=variant_id,
                                sku=line.sku, title=line.title, quantity=line.quantity, unit_price=line.unit_price)
                 for line, variant_id in zip(seed.lines, variant_ids, strict=True)]
        self.session.add_all(lines)
        self.session.flush()
        if seed.invoice is not None:
            invoice = m.Invoice(account_id=account_id, order_id=order.id, number=seed.invoice.number,
                                total_price=seed.total_price, currency="EUR", created_at=seed.invoice.created_at)
            self.session.add(invoice)
            self.session.flush()
            self.session.add_all([m.InvoiceItem(account_id=account_id, invoice_id=invoice.id, title=line.title,
                                                quantity=line.quantity, unit_price=line.unit_price)
                                  for line in lines])
        if seed.shipment is not None:
            s = seed.shipment
            shipment = m.Shipment(account_id=account_id, order_id=order.id, carrier=s.carrier,
                                  tracking_code=s.tracking_code, tracking_url=s.tracking_url, status=s.status,
                                  created_at=s.created_at, updated_at=s.updated_at)
            self.session.add(shipment)
            self.session.flush()
            self.session.add_all([m.ShipmentItem(account_id=account_id, shipment_id=shipment.id,
                                                 order_product_id=line.id, quantity=line.quantity)
                                  for line in lines])
        return order.id
