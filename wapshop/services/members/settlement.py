"""Points and tier spend follow what orders became, settled by `flask members settle` (cron,
every few minutes) and for one phone whenever its 我的 page is read.

Why a settling pass and not a hook on order events: the fulfilment and after-sales services
(other people's) stay untouched, a fault here can never fail a parcel's delivery, and a pass
that looks at the orders' current state catches up after downtime and for old history.
Exactly once: each (order, kind) ledger row is unique, written in a savepoint; a second run
(another machine's cron at the same time) hits the constraint and skips the order.

- An order delivered (cash collected, or paid online and delivered) and not returned earns
  POINTS_PER_YUAN per whole yuan paid for goods (total − shipping), dated at delivery, and
  adds that amount to the phone's tier spend.
- An order that earned and is then returned or refunded gives the points back (as far as the
  balance holds them: spent points are not clawed below zero) and its spend.
- An order cancelled, refused, returned or refunded that used a coupon or points gets them
  back (the coupon's use no longer counts against its caps) — for a purchase split into
  several sellers' orders (one group_number, the use recorded on its first order), only once
  every order of the purchase is undone: the others still carry their share of the discount."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from wapshop.extensions import db
from wapshop.models import (
    CouponUse,
    Order,
    OrderEvent,
    OrderStatus,
    PointsAccount,
    PointsEntry,
)
from wapshop.services.members import coupons, points

S = OrderStatus
TAKEN_BACK = (S.RETURNED, S.REFUNDED)
UNDONE = (S.CANCELLED, S.REFUSED, S.RETURNED, S.REFUNDED)


@dataclass
class Settled:
    earned: int = 0
    reversed: int = 0
    given_back: int = 0


def _delivered_at(order_id: int) -> datetime | None:
    return db.session.scalar(
        select(OrderEvent.at)
        .where(OrderEvent.order_id == order_id, OrderEvent.to_status == S.DELIVERED)
        .order_by(OrderEvent.id)
        .limit(1)
    )


def _without(kind: str):
    entry = aliased(PointsEntry)
    return ~exists().where(and_(entry.order_id == Order.id, entry.kind == kind))


def _with(kind: str):
    entry = aliased(PointsEntry)
    return exists().where(and_(entry.order_id == Order.id, entry.kind == kind))


def _whole_purchase_undone():
    """No other order of the same purchase (group_number) still stands."""
    sibling = aliased(Order)
    return ~exists().where(
        sibling.group_number.is_not(None),
        sibling.group_number == Order.group_number,
        sibling.status.not_in(UNDONE),
    )


def settle(now: datetime, per_yuan: int, phone: str | None = None) -> Settled:
    """One pass over orders whose points are out of step with their state (one phone's, or
    all). Flushes; the caller commits."""
    result = Settled()
    scope = [Order.phone == phone] if phone else []
    # Coupons first: the lock order of redeem (a coupon row, then a points account).
    coupon_back = (
        select(CouponUse.order_id)
        .join(Order, Order.id == CouponUse.order_id)
        .where(
            *scope,
            Order.status.in_(UNDONE),
            CouponUse.released_at.is_(None),
            _whole_purchase_undone(),
        )
    )
    for order_id in db.session.scalars(coupon_back).all():
        coupons.release(order_id, now)
    delivered = exists().where(OrderEvent.order_id == Order.id, OrderEvent.to_status == S.DELIVERED)
    to_earn = select(Order).where(
        *scope, delivered, Order.status.not_in(TAKEN_BACK), _without("order")
    )
    for order in db.session.scalars(to_earn.order_by(Order.id)).all():
        result.earned += _earn(order, per_yuan)
    to_reverse = select(Order).where(
        *scope, Order.status.in_(TAKEN_BACK), _with("order"), _without("reverse")
    )
    for order in db.session.scalars(to_reverse.order_by(Order.id)).all():
        result.reversed += _reverse(order, now)
    undone = select(Order).where(*scope, Order.status.in_(UNDONE), _whole_purchase_undone())
    spent_back = undone.where(_with("redeem"), _without("refund"))
    for order in db.session.scalars(spent_back.order_by(Order.id)).all():
        result.given_back += _give_back(order, now)
    return result


def _earn(order: Order, per_yuan: int) -> int:
    paid_for_goods = order.total_fen - order.shipping_fen
    earned = max(paid_for_goods, 0) // 100 * per_yuan
    # Read before the savepoint: its first statement must be a write, or SQLite's WAL gives
    # a reader that another run overtook "database is locked" instead of waiting.
    at = _delivered_at(order.id)
    try:
        with db.session.begin_nested():
            # Even an order earning nothing gets its row: its spend counts, once.
            points.credit(order.phone, earned, "order", at,
                          order_id=order.id, note=f"订单{order.number}",
                          spend_fen=max(paid_for_goods, 0))  # fmt: skip
    except IntegrityError:
        return 0  # another run settled it
    return earned


def _reverse(order: Order, now: datetime) -> int:
    earned = db.session.scalar(
        select(PointsEntry).where(PointsEntry.order_id == order.id, PointsEntry.kind == "order")
    )
    spend = order.total_fen - order.shipping_fen
    try:
        with db.session.begin_nested():
            db.session.execute(
                update(PointsAccount)
                .where(PointsAccount.phone == order.phone)
                .values(spend_fen=PointsAccount.spend_fen - spend)
                .where(PointsAccount.spend_fen >= spend)
                .execution_options(synchronize_session=False)
            )
            back = min(earned.points, points.balance(order.phone, now))
            if back > 0:
                points.debit(order.phone, back, "reverse", now, order_id=order.id,
                             note=f"订单{order.number}退货", first_lot=earned.id)  # fmt: skip
            else:
                db.session.add(PointsEntry(phone=order.phone, points=0, kind="reverse",
                                           order_id=order.id, created_at=now))  # fmt: skip
                db.session.flush()
    except IntegrityError:
        return 0
    return back


def _give_back(order: Order, now: datetime) -> int:
    spent = db.session.scalar(
        select(PointsEntry.points).where(
            PointsEntry.order_id == order.id, PointsEntry.kind == "redeem"
        )
    )
    try:
        with db.session.begin_nested():
            points.credit(order.phone, -spent, "refund", now, order_id=order.id,
                          note=f"订单{order.number}")  # fmt: skip
    except IntegrityError:
        return 0
    return -spent
