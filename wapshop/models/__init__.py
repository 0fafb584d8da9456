"""All models, imported here so that migrations and the app see every table."""

from wapshop.models.accounts import Address, Buyer, PhoneCode
from wapshop.models.catalog import (
    Category,
    Collection,
    Deal,
    Product,
    SearchTerm,
    Seller,
    Variant,
    collection_products,
    deal_variants,
)
from wapshop.models.geo import CodCoverage, Region
from wapshop.models.media import MediaFile
from wapshop.models.ops import (
    CallAttempt,
    CallTask,
    OutboxMessage,
    Refund,
    Remittance,
    Shipment,
    Ticket,
    TicketReply,
)
from wapshop.models.orders import Order, OrderEvent, OrderItem, OrderStatus
from wapshop.models.payments import Balance, BalanceEntry, Payment, SandboxNotification
from wapshop.models.reports import (
    OrderDayStat,
    OrderFact,
    FunnelVisitor,
    PageViewCount,
    ProductDayStat,
    ReportRefresh,
)
from wapshop.models.shipping import ShippingRule
from wapshop.models.staff import AuditEntry, Staff, StaffRole
from wapshop.models.web import CacheGeneration, ThrottleCounter, WebSession

__all__ = [
    "CacheGeneration",
    "Address",
    "AuditEntry",
    "Balance",
    "BalanceEntry",
    "Buyer",
    "CallAttempt",
    "CallTask",
    "Category",
    "CodCoverage",
    "Collection",
    "Deal",
    "MediaFile",
    "Order",
    "OrderDayStat",
    "OrderEvent",
    "OrderFact",
    "OrderItem",
    "OrderStatus",
    "OutboxMessage",
    "FunnelVisitor",
    "PageViewCount",
    "Payment",
    "PhoneCode",
    "Product",
    "ProductDayStat",
    "Refund",
    "Region",
    "Remittance",
    "ReportRefresh",
    "SandboxNotification",
    "SearchTerm",
    "Seller",
    "Shipment",
    "ShippingRule",
    "Staff",
    "StaffRole",
    "ThrottleCounter",
    "Ticket",
    "TicketReply",
    "Variant",
    "WebSession",
    "collection_products",
    "deal_variants",
]
