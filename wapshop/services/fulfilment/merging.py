"""Orders that look like one buyer's, and merging them into one shipment.

Look-alike: the same receiver name and address (region and street) with different phones, or
the same phone within settings.duplicate_window (config RISK_DUPLICATE_WINDOW) — among orders
that have not shipped.

The model: merging moves every line of the other orders onto the one kept (one order is one
parcel, one waybill and one amount to collect, so shipping, settlement, refusals and reports
need no new idea), and the others are cancelled as merged, their goods moved with their
lines (a merged order keeps its amounts as a record of what it was, and collects nothing:
it is cancelled). Stock and deal units stay taken: the units belong to the kept order.
Goods and discounts add up exactly; shipping is quoted once for the one parcel. Only cash-on-delivery
orders of the same seller(s) merge (an online payment belongs to its own order). The buyer
gets one SMS per step of the kept order, none for the merged ones."""

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from wapshop.extensions import db
from wapshop.models import Order, OrderItem, Staff
from wapshop.money import format_fen
from wapshop.services import orders
from wapshop.services.fulfilment.rules import (
    S,
    STATUS_LABELS,
    BadInput,
    Refused,
    actor_of,
    scoped,
)
from wapshop.services.fulfilment.corrections import reprice
from wapshop.services.fulfilment.timeline import CORRECTION
from wapshop.services.fulfilment.transitions import move

MERGEABLE = (S.PLACED, S.ADDRESS_OK, S.ADDRESS_INVALID, S.CONFIRMED)
MAX_MERGE = 10


def lookalikes(order: Order, window: timedelta, seller_id: int | None) -> list[Order]:
    """Other unshipped orders that look like this buyer's and could ship in its parcel (the
    same seller or sellers), oldest first."""
    stmt = select(Order).where(
        Order.id != order.id,
        Order.status.in_([str(s) for s in MERGEABLE]),
        or_(
            (Order.receiver_name == order.receiver_name)
            & (Order.region_code == order.region_code)
            & (Order.street == order.street),
            (Order.phone == order.phone)
            & (Order.created_at >= order.created_at - window)
            & (Order.created_at <= order.created_at + window),
        ),
    )
    found = db.session.scalars(scoped(stmt, seller_id).order_by(Order.id).limit(20))
    return [o for o in found if _sellers(o) == _sellers(order)]


def _sellers(order: Order) -> set[int]:
    return {item.seller_id for item in order.items}


def merge(
    keep: Order,
    expected: str,
    others: list[tuple[int, str]],
    staff: Staff,
    seller_id: int | None,
    now: datetime,
) -> list[Order]:
    """Merge the orders (id, status seen) into `keep`, seen at `expected`. Raises BadInput,
    Refused, StatusChanged before the caller commits; the view rolls back on any."""
    if not others:
        raise BadInput("请勾选要合并进来的订单。", field="others")
    if len(others) > MAX_MERGE:
        raise BadInput(f"一次最多合并 {MAX_MERGE} 单。", field="others")
    merged = []
    for order_id, seen in others:
        other = db.session.scalar(scoped(select(Order).where(Order.id == order_id), seller_id))
        if other is None or other.id == keep.id:
            raise BadInput("要合并的订单不对，请刷新后再试。", field="others")
        merged.append((other, seen))
    for order, seen in [(keep, expected), *merged]:
        if seen not in [str(s) for s in MERGEABLE]:
            label = STATUS_LABELS.get(seen, "未知状态")
            raise Refused(f"订单 {order.number}「{label}」，发货前的订单才能合并。")
        if order.payment_method != "cod":
            raise Refused(f"订单 {order.number} 已在线支付，只能合并货到付款的订单。")
        if _sellers(order) != _sellers(keep):
            raise Refused(f"订单 {order.number} 由别的卖家发货，不能合在一个包裹里。")
    # Lock the kept order at the status seen, then each merged one as it is cancelled.
    moved = db.session.execute(
        update(Order)
        .where(Order.id == keep.id, Order.status == expected)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise Refused(f"订单 {keep.number} 刚被别人处理了，请刷新后再试。")
    before = keep.total_fen
    numbers, discounts = [], 0
    for other, seen in merged:
        move(
            other, seen, S.CANCELLED, MERGEABLE, actor_of(staff), f"已合并到订单 {keep.number}", now
        )
        db.session.execute(
            update(OrderItem)
            .where(OrderItem.order_id == other.id)
            .values(order_id=keep.id)
            .execution_options(synchronize_session=False)
        )
        discounts += other.discount_fen
        numbers.append(other.number)
        db.session.flush()
        db.session.expire(other)
    db.session.expire(keep, ["items"])
    _, after = reprice(keep, discounts)
    note = f"{CORRECTION}合并订单 {'、'.join(numbers)}，一个包裹发货；应付 {format_fen(before)} → {format_fen(after)}"
    orders.record_event(keep, actor_of(staff), keep.status, keep.status, note[:500], now)
    db.session.flush()
    return [o for o, _seen in merged]
