"""What the reports read instead of a million orders: daily rollups of the order log, the
state of their last refresh, and the funnel's page-view counts.

The rollups are derived data. When events arrive, services/reports.py re-reads just those
orders, takes their old contribution (report_orders) out of the daily rows and puts the new one
in; `flask reports rebuild` recomputes everything. Order dates are China Standard Time days."""

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wapshop.extensions import db
from wapshop.models.orders import Order


class OrderFact(db.Model):
    """One order as the reports count it, from its row and its event log: kept so that a
    refresh can take an order's old contribution out of the daily rollups and put its new one
    in, without re-reading the rest of its day."""

    __tablename__ = "report_orders"
    __table_args__ = (Index("ix_report_orders_day_shipped_phone", "day", "shipped", "phone"),)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    day: Mapped[date]  # the order date, China Standard Time
    payment_method: Mapped[str] = mapped_column(String(20))  # as placed
    rendition: Mapped[str] = mapped_column(String(8))
    carrier: Mapped[str] = mapped_column(String(20))  # "" when none
    phone: Mapped[str] = mapped_column(String(11))
    total_fen: Mapped[int]
    shipping_fen: Mapped[int] = mapped_column(default=0)  # included in total_fen
    # 1 when the order reached the step (paid: paid online, or delivered for cash on delivery)
    address_ok: Mapped[int]
    shipped: Mapped[int]
    refused: Mapped[int]
    paid: Mapped[int]


class OrderDayStat(db.Model):
    """One order date's orders, by the payment method they were placed with, rendition and
    carrier: how many reached each step of the order's life, and their amounts."""

    __tablename__ = "report_order_days"
    day: Mapped[date] = mapped_column(primary_key=True)
    payment_method: Mapped[str] = mapped_column(String(20), primary_key=True)
    rendition: Mapped[str] = mapped_column(String(8), primary_key=True)
    carrier: Mapped[str] = mapped_column(String(20), primary_key=True)  # "" when none
    orders: Mapped[int]
    orders_fen: Mapped[int] = mapped_column(BigInteger)
    address_ok: Mapped[int]
    shipped: Mapped[int]
    shipped_fen: Mapped[int] = mapped_column(BigInteger)
    refused: Mapped[int]
    paid: Mapped[int]
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    # The shipping fees inside orders_fen and shipped_fen (amounts include shipping).
    orders_shipping_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    shipped_shipping_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class ProductDayStat(db.Model):
    """One order date's orders of one product by payment method: placed and paid, with the
    amounts of that product's lines."""

    __tablename__ = "report_product_days"
    day: Mapped[date] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    payment_method: Mapped[str] = mapped_column(String(20), primary_key=True)
    orders: Mapped[int]
    orders_fen: Mapped[int] = mapped_column(BigInteger)
    paid: Mapped[int]
    paid_fen: Mapped[int] = mapped_column(BigInteger)


class ReportRefresh(db.Model):
    """The one row (id 1) saying how far the rollups have read the order log. Refreshes lock
    it, so two never recompute the same day at once."""

    __tablename__ = "report_refreshes"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # JSON [[id, first seen (ISO)], ...]: event ids at or below last_event_id that were not
    # visible at the last refresh. On PostgreSQL a transaction that took an id earlier may
    # commit later; the next refreshes look for these ids until GAP_TTL has passed.
    gap_ids: Mapped[str] = mapped_column(Text, default="[]")
    refreshed_at: Mapped[datetime | None]


class PageViewCount(db.Model):
    """Views of a funnel page per China Standard Time day and rendition, written in batches by
    wapshop/web/pageviews.py (an upsert adds each worker's counts)."""

    __tablename__ = "page_view_counts"
    day: Mapped[date] = mapped_column(primary_key=True)
    rendition: Mapped[str] = mapped_column(String(8), primary_key=True)
    page: Mapped[str] = mapped_column(String(20), primary_key=True)  # home, product, confirm
    views: Mapped[int] = mapped_column(BigInteger)


class FunnelVisitor(db.Model):
    """A visitor seen at a funnel step (home, product, confirm, order) on a China Standard Time
    day in a rendition: one row however often they came back, so steps count people, not page
    views. `visitor` is a keyed hash (wapshop/web/pageviews.py), never an address in clear.
    Written in batches with insert-or-ignore, so every worker and machine may add the same row."""

    __tablename__ = "funnel_visitors"
    day: Mapped[date] = mapped_column(primary_key=True)
    rendition: Mapped[str] = mapped_column(String(8), primary_key=True)
    step: Mapped[str] = mapped_column(String(10), primary_key=True)
    visitor: Mapped[str] = mapped_column(String(32), primary_key=True)


# An index on the orders that only the rollups need: recomputing an order date reads its orders
# by created_at (ix_orders_status_created leads with the status).
ORDER_INDEXES = (Index("ix_orders_created_at", Order.created_at),)
