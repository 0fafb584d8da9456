"""Orders, their lines and their event log (every state change is a row)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wapshop.extensions import db
from wapshop.models.base import utcnow


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    PLACED = "placed"  # waiting for the seller's address check
    ADDRESS_OK = "address_ok"  # waiting for the confirmation call
    ADDRESS_INVALID = "address_invalid"
    CONFIRMED = "confirmed"  # waiting to ship
    SHIPPED = "shipped"
    DELIVERED = "delivered"  # cash collected
    REFUSED = "refused"  # 拒收 at the door, restocked
    SETTLED = "settled"
    CANCELLED = "cancelled"
    RETURN_REQUESTED = "return_requested"
    RETURNED = "returned"
    REFUNDED = "refunded"


# A buyer may cancel until the parcel ships.
BUYER_CANCELLABLE = frozenset(
    {
        OrderStatus.AWAITING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.PLACED,
        OrderStatus.ADDRESS_OK,
        OrderStatus.CONFIRMED,
    }
)


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_fen > 0", name="total"),
        CheckConstraint(
            "goods_fen > 0 AND shipping_fen >= 0 AND discount_fen >= 0"
            " AND total_fen = goods_fen + shipping_fen - discount_fen",
            name="amounts",
        ),
        Index("ix_orders_phone_created", "phone", "created_at"),
        Index("ix_orders_status_created", "status", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # Ten random digits: short enough to read over the phone, not guessable in sequence.
    number: Mapped[str] = mapped_column(String(12), unique=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyers.id"), index=True)
    phone: Mapped[str] = mapped_column(String(11))
    receiver_name: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    region_text: Mapped[str] = mapped_column(String(80))
    street: Mapped[str] = mapped_column(String(120))
    payment_method: Mapped[str] = mapped_column(String(20))
    carrier: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    # What the buyer pays: goods (the lines) + shipping − discounts = total.
    goods_fen: Mapped[int]
    shipping_fen: Mapped[int] = mapped_column(default=0)
    discount_fen: Mapped[int] = mapped_column(default=0)
    total_fen: Mapped[int]
    # A cart with several sellers' goods becomes one order per seller (each its own parcel,
    # cash collected and status); they share this number, shown to the buyer as one purchase.
    group_number: Mapped[str | None] = mapped_column(String(12), index=True)
    # The confirmation page's one-time token: a second submit finds the first order.
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    rendition: Mapped[str] = mapped_column(String(8), default="touch")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    items: Mapped[list["OrderItem"]] = relationship(back_populates="order", order_by="OrderItem.id")
    events: Mapped[list["OrderEvent"]] = relationship(
        back_populates="order", order_by="OrderEvent.id"
    )

    @property
    def masked_phone(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]}"

    @property
    def cancellable(self) -> bool:
        return self.status in BUYER_CANCELLABLE


class OrderItem(db.Model):
    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    # Nullable for lines written before variants existed (migration 0010 fills them).
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"), index=True)
    variant_label: Mapped[str] = mapped_column(String(80), default="")
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    unit_price_fen: Mapped[int]
    market_price_fen: Mapped[int]
    quantity: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="items")

    @property
    def amount_fen(self) -> int:
        return self.unit_price_fen * self.quantity


class OrderEvent(db.Model):
    """Who moved the order from what to what, when, and why."""

    __tablename__ = "order_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")

    order: Mapped[Order] = relationship(back_populates="events")
