"""The topics an app can subscribe to, and the read scope each needs."""

from __future__ import annotations

from ...protocol.scopes import Scope

# topic -> the scope an app needs to subscribe to it (None: any installed app)
TOPICS: dict[str, Scope | None] = {
    "PRODUCT_CREATED": Scope.PRODUCTS_READ,
    "PRODUCT_UPDATED": Scope.PRODUCTS_READ,
    "PRODUCT_DELETED": Scope.PRODUCTS_READ,
    "ORDER_CREATED": Scope.ORDERS_READ,
    "ORDER_CONFIRMED": Scope.ORDERS_READ,
    "ORDER_UPDATED": Scope.ORDERS_READ,
    "ORDER_CANCELLED": Scope.ORDERS_READ,
    "SHIPMENT_CREATED": Scope.FULFILLMENT_READ,
    "SHIPMENT_UPDATED": Scope.FULFILLMENT_READ,
    "CUSTOMER_CREATED": Scope.CUSTOMERS_READ,
    "ACCOUNT_UPDATED": Scope.ACCOUNT_READ,
    "APP_UNINSTALLED": None,
}

# Sent to the app whatever it subscribed to.
APP_UNINSTALLED = "APP_UNINSTALLED"
