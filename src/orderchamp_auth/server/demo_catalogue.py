"""A realistic demo catalogue: products with variants and images, customers, and orders in
every state with their order products, invoices and shipments. Deterministic (seeded), so
demo runs and tests see the same data; written once per account."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from .errors import ValidationError
from .store.database import utcnow
from .store.repositories.catalogue_seed import (
    CatalogueSeed,
    CustomerSeed,
    InvoiceSeed,
    OrderLineSeed,
    OrderSeed,
    PlacedOrder,
    ProductSeed,
    Seeded,
    ShipmentSeed,
    VariantSeed,
)
from .store.transaction import Transaction
from .webhooks.outbox import ObjectPayloads, Payload, record_event, record_events

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


TEST_RETAILER = "Test retailer"
TEST_RETAILER_EMAIL = "test-retailer@orderchamp.test"
MAX_TEST_ORDER_PRODUCTS = 20


def seed_catalogue(tx: Transaction, account_id: int, payloads: ObjectPayloads, *, products: int = 50,
                   orders: int = 200) -> bool:
    """Fill the account once, in the caller's write transaction ``tx``, recording the webhook
    events of what it made (``PRODUCT_CREATED``, ``CUSTOMER_CREATED``, ``ORDER_CREATED``: with
    nobody subscribed, one lookup per topic, and ``payloads`` never called); returns False
    when it already has products."""
    catalogue = tx.catalogue_seed
    if catalogue.has_products(account_id):
        return False
    seeded = catalogue.insert(account_id, build_catalogue(account_id, products=products, orders=orders))
    _record_created(tx, account_id, seeded, payloads)
    return True


def _payload(payloads: ObjectPayloads, tx: Transaction, account_id: int, topic: str, object_id: int) -> Payload:
    return lambda: payloads(tx, account_id, topic, object_id)


def _record_created(tx: Transaction, account_id: int, seeded: Seeded, payloads: ObjectPayloads) -> None:
    for topic, ids in (("PRODUCT_CREATED", seeded.products), ("CUSTOMER_CREATED", seeded.customers),
                       ("ORDER_CREATED", seeded.orders)):
        record_events(tx, account_id, topic, [_payload(payloads, tx, account_id, topic, i) for i in ids])


def place_test_order(tx: Transaction, account_id: int, payloads: ObjectPayloads, *, products: int = 3) -> PlacedOrder:
    """A test retailer's new order of the account's first ``products`` products (the sandbox's
    way to make ``ORDER_CREATED``: the back office's button and ``order create``), with its
    events recorded in ``tx``."""
    if not 1 <= products <= MAX_TEST_ORDER_PRODUCTS:
        raise ValidationError("The order was not placed.",
                              fields={"products": f"Order 1 to {MAX_TEST_ORDER_PRODUCTS} products."})
    placed = tx.catalogue_seed.place_order(
        account_id, products=products, now=utcnow(),
        customer=CustomerSeed(TEST_RETAILER, TEST_RETAILER_EMAIL, "Teststraat 1, Amsterdam", utcnow()))
    if placed is None:
        raise ValidationError("The account has no products to order: create a product first.")
    if placed.customer_created:
        record_event(tx, account_id, "CUSTOMER_CREATED",
                     _payload(payloads, tx, account_id, "CUSTOMER_CREATED", placed.customer_id))
    record_event(tx, account_id, "ORDER_CREATED", _payload(payloads, tx, account_id, "ORDER_CREATED", placed.order_id))
    return placed


def build_catalogue(account_id: int, *, products: int, orders: int) -> CatalogueSeed:
    """The account's catalogue, the same on every call (seeded by the account's id)."""
    rng = random.Random(account_id * 7919)
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    made_products = tuple(_product(rng, start, i) for i in range(products))
    variants = [v for p in made_products for v in p.variants]
    customers = tuple(
        CustomerSeed(
            company_name=company if i < len(COMPANIES) else f"{company} {CITIES[i % len(CITIES)]}",
            email=f"orders{i + 1}@{company.lower().replace(' ', '').replace('&', '')}.example",
            address=f"Hoofdstraat {i + 1}, {CITIES[i % len(CITIES)]}",
            created_at=start + dt.timedelta(days=i),
        )
        for i, company in enumerate(COMPANIES * 2)
    )
    made_orders = tuple(_order(rng, start, n, variants, len(customers)) for n in range(1, orders + 1))
    return CatalogueSeed(made_products, customers, made_orders)


def _product(rng: random.Random, start: dt.datetime, i: int) -> ProductSeed:
    created = start + dt.timedelta(hours=7 * i)
    variants = tuple(
        VariantSeed(
            title=f"{SIZES[(position - 1) % 3]} / {COLOURS[(i + position) % 4]}",
            sku=f"LC-{i + 1:03d}-{position}",
            price=Decimal(rng.randrange(250, 6000)) / 100,
            inventory_quantity=rng.randint(0, 120),
            inventory_policy="CONTINUE" if i % 5 == 0 else "DENY",
            position=position,
        )
        for position in range(1, rng.randint(2, 4) + 1)
    )
    images = tuple(f"https://cdn.example.com/demo/products/{i + 1}/{position}.jpg"
                   for position in range(1, rng.randint(1, 3) + 1))
    return ProductSeed(
        title=f"{ADJECTIVES[i % len(ADJECTIVES)]} {THINGS[(i * 7) % len(THINGS)]} {i + 1}",
        description="A favourite in toy shops: safe materials, gift-ready packaging.",
        brand=BRANDS[i % len(BRANDS)],
        created_at=created,
        variants=variants,
        image_urls=images,
    )


def _order(rng: random.Random, start: dt.datetime, n: int, variants: list[VariantSeed], customers: int) -> OrderSeed:
    created = start + dt.timedelta(hours=9 * n)
    state = rng.random()
    cancelled = state < 0.1
    confirmed = not cancelled and state > 0.25
    fulfilled = confirmed and state > 0.6
    reference = f"PO-{rng.randint(10000, 99999)}"
    lines = tuple(
        OrderLineSeed(sku=variant.sku, title=f"Product {variant.sku}", quantity=rng.randint(1, 12),
                      unit_price=variant.price)
        for variant in rng.sample(variants, rng.randint(1, 4))
    )
    shipment = None
    if fulfilled or (confirmed and n % 3 == 0):
        carrier, url = CARRIERS[n % len(CARRIERS)]
        code = f"3S{rng.randint(10**9, 10**10 - 1)}"
        shipment = ShipmentSeed(
            carrier=carrier, tracking_code=code, tracking_url=url + code,
            status="DELIVERED" if fulfilled else "PENDING",
            created_at=created + dt.timedelta(days=1), updated_at=created + dt.timedelta(days=2),
        )
    return OrderSeed(
        customer=n % customers, number=1000 + n, reference=reference,
        status="CANCELLED" if cancelled else "FULFILLED" if fulfilled else "CONFIRMED" if confirmed else "NEW",
        is_confirmed=confirmed or fulfilled, is_cancelled=cancelled, is_fulfilled=fulfilled,
        confirmed_at=created + dt.timedelta(hours=2) if confirmed else None,
        cancelled_at=created + dt.timedelta(hours=5) if cancelled else None,
        created_at=created,
        lines=lines,
        invoice=InvoiceSeed(number=f"INV-{2026}{n:05d}", created_at=created + dt.timedelta(hours=3)) if confirmed else None,
        shipment=shipment,
    )
