"""All models, imported here so that migrations and the app see every table."""

from wapshop.models.accounts import Address, Buyer
from wapshop.models.catalog import (
    Category,
    Collection,
    Deal,
    Product,
    SearchTerm,
    Seller,
    collection_products,
)
from wapshop.models.geo import CodCoverage, Region
from wapshop.models.orders import Order, OrderEvent, OrderItem, OrderStatus
from wapshop.models.payments import Balance, BalanceEntry, Payment, SandboxNotification
from wapshop.models.staff import AuditEntry, Staff, StaffRole
from wapshop.models.web import ThrottleHit, WebSession

__all__ = [
    "Address",
    "AuditEntry",
    "Balance",
    "BalanceEntry",
    "Buyer",
    "Category",
    "CodCoverage",
    "Collection",
    "Deal",
    "Order",
    "OrderEvent",
    "OrderItem",
    "OrderStatus",
    "Payment",
    "Product",
    "Region",
    "SandboxNotification",
    "SearchTerm",
    "Seller",
    "Staff",
    "StaffRole",
    "ThrottleHit",
    "WebSession",
    "collection_products",
]
