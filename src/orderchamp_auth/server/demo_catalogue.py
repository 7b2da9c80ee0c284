"""A realistic demo catalogue: products with variants and images, customers, and orders in
every state with their order products, invoices and shipments. Deterministic (seeded), so
demo runs and tests see the same data; written once per account."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, select

from .store import models as m
from .store.transaction import Transaction

ADJECTIVES = ["Cozy", "Bright", "Little", "Happy", "Wooden", "Soft", "Rainbow", "Classic", "Tiny", "Organic"]
THINGS = ["Teddy Bear", "Rattle", "Stacking Rings", "Baby Blanket", "Puzzle", "Play Mat", "Bib", "Night Light",
          "Rocking Horse", "Picture Book", "Sippy Cup", "Building Blocks"]
BRANDS = ["Little Champs", "Kiddo & Co", "Nordic Nest", "Sunny Days"]
SIZES = ["Small", "Medium", "Large"]
COLOURS = ["Mint", "Sand", "Coral", "Ocean"]
COMPANIES = ["Toy Corner", "De Speelgoedwinkel", "Baby Boutique", "Kids Planet", "Het Kinderhuis", "Mini Mundo",
             "Tiny Treasures", "Bambino", "Joy Store", "Speelparadijs", "Little Feet", "Kinderland"]
CITIES = ["Amsterdam", "Utrecht", "Antwerpen", "Rotterdam", "Gent", "Berlin", "Keulen", "Eindhoven"]
CARRIERS = [("PostNL", "https://postnl.nl/tracktrace/?B="), ("DHL", "https://www.dhl.com/track?id="),
            ("DPD", "https://tracking.dpd.de/parcelstatus?query=")]


def seed_catalogue(tx: Transaction, account_id: int, *, products: int = 50, orders: int = 200) -> bool:
    """Fill the account once; returns False when it already has products."""
    session = tx.session
    if session.scalar(select(func.count()).select_from(m.Product).where(m.Product.account_id == account_id)):
        return False
    rng = random.Random(account_id * 7919)
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    variants: list[m.ProductVariant] = []
    for i in range(products):
        created = start + dt.timedelta(hours=7 * i)
        product = m.Product(
            account_id=account_id,
            title=f"{ADJECTIVES[i % len(ADJECTIVES)]} {THINGS[(i * 7) % len(THINGS)]} {i + 1}",
            description="A favourite in toy shops: safe materials, gift-ready packaging.",
            brand=BRANDS[i % len(BRANDS)],
            created_at=created,
            updated_at=created,
        )
        session.add(product)
        session.flush()
        for position in range(1, rng.randint(2, 4) + 1):
            variant = m.ProductVariant(
                account_id=account_id, product_id=product.id,
                title=f"{SIZES[(position - 1) % 3]} / {COLOURS[(i + position) % 4]}",
                sku=f"LC-{i + 1:03d}-{position}",
                price=Decimal(rng.randrange(250, 6000)) / 100,
                inventory_quantity=rng.randint(0, 120),
                inventory_policy="CONTINUE" if i % 5 == 0 else "DENY",
                position=position,
                created_at=created, updated_at=created,
            )
            session.add(variant)
            variants.append(variant)
        for position in range(1, rng.randint(1, 3) + 1):
            session.add(m.ProductImage(
                account_id=account_id, product_id=product.id, position=position,
                original_url=f"https://cdn.example.com/demo/products/{i + 1}/{position}.jpg", created_at=created,
            ))
    session.flush()

    customers = []
    for i, company in enumerate(COMPANIES * 2):
        customer = m.Customer(
            account_id=account_id,
            company_name=company if i < len(COMPANIES) else f"{company} {CITIES[i % len(CITIES)]}",
            email=f"orders{i + 1}@{company.lower().replace(' ', '').replace('&', '')}.example",
            address=f"Hoofdstraat {i + 1}, {CITIES[i % len(CITIES)]}",
            created_at=start + dt.timedelta(days=i),
        )
        session.add(customer)
        customers.append(customer)
    session.flush()

    for n in range(1, orders + 1):
        created = start + dt.timedelta(hours=9 * n)
        state = rng.random()
        cancelled = state < 0.1
        confirmed = not cancelled and state > 0.25
        fulfilled = confirmed and state > 0.6
        order = m.Order(
            account_id=account_id, customer_id=customers[n % len(customers)].id, number=1000 + n,
            reference=f"PO-{rng.randint(10000, 99999)}", currency="EUR",
            status="CANCELLED" if cancelled else "FULFILLED" if fulfilled else "CONFIRMED" if confirmed else "NEW",
            is_confirmed=confirmed or fulfilled, is_cancelled=cancelled, is_fulfilled=fulfilled,
            confirmed_at=created + dt.timedelta(hours=2) if confirmed else None,
            cancelled_at=created + dt.timedelta(hours=5) if cancelled else None,
            created_at=created, updated_at=created,
        )
        session.add(order)
        session.flush()
        lines = []
        for variant in rng.sample(variants, rng.randint(1, 4)):
            line = m.OrderProduct(
                account_id=account_id, order_id=order.id, variant_id=variant.id, sku=variant.sku,
                title=f"Product {variant.sku}", quantity=rng.randint(1, 12), unit_price=variant.price,
            )
            session.add(line)
            lines.append(line)
        session.flush()
        order.total_price = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
        if confirmed:
            invoice = m.Invoice(account_id=account_id, order_id=order.id, number=f"INV-{2026}{n:05d}",
                                total_price=order.total_price, currency="EUR",
                                created_at=created + dt.timedelta(hours=3))
            session.add(invoice)
            session.flush()
            for line in lines:
                session.add(m.InvoiceItem(account_id=account_id, invoice_id=invoice.id, title=line.title,
                                          quantity=line.quantity, unit_price=line.unit_price))
        if fulfilled or (confirmed and n % 3 == 0):
            carrier, url = CARRIERS[n % len(CARRIERS)]
            code = f"3S{rng.randint(10**9, 10**10 - 1)}"
            shipment = m.Shipment(
                account_id=account_id, order_id=order.id, carrier=carrier, tracking_code=code,
                tracking_url=url + code, status="DELIVERED" if fulfilled else "PENDING",
                created_at=created + dt.timedelta(days=1), updated_at=created + dt.timedelta(days=2),
            )
            session.add(shipment)
            session.flush()
            for line in lines:
                session.add(m.ShipmentItem(account_id=account_id, shipment_id=shipment.id,
                                           order_product_id=line.id, quantity=line.quantity))
    session.flush()
    return True
