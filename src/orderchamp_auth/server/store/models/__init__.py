"""The tables, one module per concern; every mapped class is importable from here."""

from __future__ import annotations

from .accounts import (
    Account,
    DataVersion,
    LoginAttempt,
    Membership,
    Partner,
    PartnerDemoAccount,
    PartnerMember,
    User,
    WebSession,
)
from .apps import (
    AccessToken,
    App,
    AppChangeRequest,
    AppLogo,
    AppRedirectUri,
    AuthorizationCode,
    Installation,
    RevocationCounter,
)
from .base import NAMING_CONVENTION, AccountType, AppStatus, Base, Id, Money, TokenKindName, _created
from .catalogue import (
    Customer,
    Invoice,
    InvoiceItem,
    Order,
    OrderProduct,
    Product,
    ProductImage,
    ProductVariant,
    Shipment,
    ShipmentItem,
)
from .webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSigningSecret,
    WebhookSubscription,
)

__all__ = ["AccessToken", "Account", "AccountType", "App", "AppChangeRequest", "AppLogo", "AppRedirectUri", "AppStatus", "AuthorizationCode", "Base", "Customer", "DataVersion", "DeliveryStatus", "Id", "Installation", "Invoice", "InvoiceItem", "LoginAttempt", "Membership", "Money", "NAMING_CONVENTION", "Order", "OrderProduct", "Partner", "PartnerDemoAccount", "PartnerMember", "Product", "ProductImage", "ProductVariant", "RevocationCounter", "Shipment", "ShipmentItem", "TokenKindName", "User", "WebSession", "WebhookAttempt", "WebhookDelivery", "WebhookSigningSecret", "WebhookSubscription", "_created"]
