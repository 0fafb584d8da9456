"""RFM segments per phone: recency, frequency and monetary value of its purchases (orders
delivered and paid, not returned), bucketed into the plan's four groups:

- 沉睡: no purchase for RFM_SLEEPING_DAYS (90: three months), whatever else;
- 重要价值: recent, frequent (>= RFM_FREQUENT_ORDERS) and big (>= RFM_BIG_SPEND_FEN);
- 重要发展: recent and big, but rare;
- 一般价值: recent and small (frequent or not).

`recompute` replaces the table (`flask members rfm`, nightly); the report reads it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select

from wapshop.extensions import db
from wapshop.models import MemberSegment, Order, OrderEvent, OrderStatus

S = OrderStatus
VALUABLE, DEVELOPING, ORDINARY, SLEEPING = "重要价值", "重要发展", "一般价值", "沉睡"
SEGMENTS = (VALUABLE, DEVELOPING, ORDINARY, SLEEPING)


@dataclass(frozen=True)
class SegmentRow:
    segment: str
    phones: int
    orders: int
    spend_fen: int


def purchases():
    """Orders that count as purchases: delivered (cash collected or paid online) and not
    returned or refunded."""
    delivered = exists().where(OrderEvent.order_id == Order.id, OrderEvent.to_status == S.DELIVERED)
    return delivered & Order.status.not_in((S.RETURNED, S.REFUNDED))


def classify(last_at: datetime, orders: int, spend_fen: int, now: datetime, settings) -> str:
    if now - last_at > timedelta(days=settings.sleeping_days):
        return SLEEPING
    big = spend_fen >= settings.big_spend_fen
    if big and orders >= settings.frequent_orders:
        return VALUABLE
    return DEVELOPING if big else ORDINARY


def recompute(now: datetime, settings) -> int:
    """Recompute every phone's segment from its purchases. Returns the phones. Flushes; the
    caller commits."""
    rows = db.session.execute(
        select(
            Order.phone,
            func.max(Order.created_at),
            func.count(Order.id),
            func.sum(Order.total_fen - Order.shipping_fen),
        )
        .where(purchases())
        .group_by(Order.phone)
    ).all()
    db.session.execute(delete(MemberSegment))
    db.session.add_all(
        MemberSegment(phone=phone, segment=classify(last, n, spend, now, settings),
                      last_order_at=last, orders=n, spend_fen=spend, computed_at=now)
        for phone, last, n, spend in rows
    )  # fmt: skip
    db.session.flush()
    return len(rows)


def phones_in(segment: str) -> list[str]:
    return list(
        db.session.scalars(
            select(MemberSegment.phone)
            .where(MemberSegment.segment == segment)
            .order_by(MemberSegment.phone)
        )
    )


def report() -> tuple[list[SegmentRow], datetime | None]:
    """Phones, orders and spend per segment (every segment, empty ones too), and when the
    segments were computed."""
    found = {
        segment: SegmentRow(segment, phones, orders or 0, spend or 0)
        for segment, phones, orders, spend in db.session.execute(
            select(
                MemberSegment.segment,
                func.count(MemberSegment.phone),
                func.sum(MemberSegment.orders),
                func.sum(MemberSegment.spend_fen),
            ).group_by(MemberSegment.segment)
        )
    }
    computed = db.session.scalar(select(func.max(MemberSegment.computed_at)))
    return [found.get(s, SegmentRow(s, 0, 0, 0)) for s in SEGMENTS], computed
