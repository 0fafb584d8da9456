"""An order after it is placed: who may see it, finding it again, what the buyer reads of it
(status words, the way paid, parcels), cancelling it."""

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import selectinload

from flask_babel import lazy_gettext as _l

from wapshop.extensions import db
from wapshop.models import Deal, Order, OrderEvent, OrderStatus, Shipment
from wapshop.models.orders import BUYER_CANCELLABLE
from wapshop.payments import registry
from wapshop.services import stock

# What a buyer reads for each status: the one map every buyer page uses (order, my orders,
# the history, paying). Staff's words (待审地址…) are fulfilment.STATUS_LABELS; buyers never
# see how the shop works inside (审核, 结算), only what happens to their parcel.
STATUS_TEXT = {
    OrderStatus.AWAITING_PAYMENT: _l("等待付款"),
    OrderStatus.PAID: _l("已付款，等待确认"),
    OrderStatus.PLACED: _l("已下单，等待确认"),
    OrderStatus.ADDRESS_OK: _l("等待电话确认，请留意来电"),
    OrderStatus.ADDRESS_INVALID: _l("地址需要核实，客服会联系您"),
    OrderStatus.CONFIRMED: _l("已确认，等待发货"),
    OrderStatus.SHIPPED: _l("已发货"),
    OrderStatus.DELIVERED: _l("已签收"),
    OrderStatus.REFUSED: _l("已拒收"),
    OrderStatus.SETTLED: _l("已完成"),
    OrderStatus.CANCELLED: _l("已取消"),
    OrderStatus.RETURN_REQUESTED: _l("退换货申请中"),
    OrderStatus.RETURNED: _l("已退货"),
    OrderStatus.REFUNDED: _l("已退款"),
}
# The way paid, in the buyer's words (each method's own translated label).
PAYMENT_TEXT = {method.code: method.label for method in registry.EVERY}


class NotCancellable(Exception):
    """The order has shipped (or is already cancelled)."""


def by_number(number: str) -> Order | None:
    if not number.isdigit() or len(number) > 12:
        return None
    return db.session.scalar(select(Order).where(Order.number == number))


def by_numbers(numbers: list[str]) -> list[Order]:
    """These orders, in the order given (a session's remembered ones), in one query."""
    found = {
        o.number: o
        for o in db.session.scalars(
            select(Order).where(Order.number.in_(numbers)).options(selectinload(Order.items))
        )
    }
    return [found[n] for n in numbers if n in found]


def lookup(phone: str, number: str) -> Order | None:
    """A guest's order by phone and number; None unless both match."""
    order = by_number(number)
    return order if order is not None and order.phone == phone else None


def may_view(order: Order, buyer_id: int | None, session_numbers) -> bool:
    """Its buyer, or the session that placed or looked it up, or one that may see another
    part of the same purchase (a multi-seller cart). Nobody by guessing numbers."""
    if buyer_id is not None and order.buyer_id == buyer_id:
        return True
    if order.number in session_numbers:
        return True
    numbers = [n for n in session_numbers if isinstance(n, str)][:50]
    return bool(order.group_number and numbers) and bool(
        db.session.scalar(
            select(
                exists().where(Order.group_number == order.group_number, Order.number.in_(numbers))
            )
        )
    )


def of_buyer(buyer_id: int, limit: int = 50) -> list[Order]:
    """The account's latest orders with their lines (one query for all the lines)."""
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.buyer_id == buyer_id)
            .options(selectinload(Order.items))
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(limit)
        )
    )


def siblings(order: Order) -> list[Order]:
    """The other parts of the same purchase (one order per seller of a cart), by number."""
    if not order.group_number:
        return []
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.group_number == order.group_number, Order.id != order.id)
            .order_by(Order.number)
        )
    )


def parcels(order: Order) -> list[Shipment]:
    """The parcels sent for this order (its delivery, then any exchange's replacement)."""
    return list(
        db.session.scalars(
            select(Shipment)
            .where(Shipment.order_id == order.id)
            .order_by(Shipment.shipped_at, Shipment.id)
        )
    )


def cancel(
    order: Order, actor: str, note: str = "", from_statuses=BUYER_CANCELLABLE, *, now: datetime
) -> None:
    """Cancel before shipping and put the stock and deal units back, exactly once even when
    two requests race (the status change is a conditional UPDATE). Staff pass the one status
    they saw as `from_statuses`, so a change made meanwhile wins. The change and its event
    are stamped `now`. Raises NotCancellable."""
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status.in_([str(s) for s in from_statuses]))
        .values(status=OrderStatus.CANCELLED, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise NotCancellable(order.number)
    previous = order.status
    restock(order, deal_units=True)
    record_event(order, actor, previous, OrderStatus.CANCELLED, note, now)
    db.session.flush()
    db.session.refresh(order)


def restock(order: Order, deal_units: bool) -> None:
    """Put the order's items back in stock, and (before shipping) its deal units back on the
    deal. Call it only after a conditional UPDATE of the order's status succeeded, so it runs
    once per order whatever races."""
    stock.lock(item.variant_id for item in order.items)
    for item in sorted(order.items, key=lambda item: item.variant_id):
        stock.give_back(item.variant_id, item.quantity)
    if not deal_units:
        return
    units: dict[int, int] = {}
    for item in order.items:
        if item.deal_id is not None:
            units[item.deal_id] = units.get(item.deal_id, 0) + item.quantity
    for deal_id in sorted(units):  # deals after stock, ascending, as the checkout takes them
        db.session.execute(
            update(Deal).where(Deal.id == deal_id).values(sold=Deal.sold - units[deal_id])
        )


def record_event(
    order: Order,
    actor: str,
    from_status: str | None,
    to_status: str,
    note: str = "",
    at: datetime | None = None,
) -> None:
    """One row of the order's history (who, when, from, to, note): every transition writes
    one. `at` defaults to the clock for callers acting now. Adds; the caller flushes."""
    event = OrderEvent(
        order_id=order.id, actor=actor, from_status=from_status, to_status=to_status, note=note
    )
    if at is not None:
        event.at = at
    db.session.add(event)
