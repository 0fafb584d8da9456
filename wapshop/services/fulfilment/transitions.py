"""Moving an order from the status a staff member saw: the address check and cancelling.

Every transition is a conditional UPDATE on the status the staff member saw (`expected`),
plus its OrderEvent: when two people act on one order at once, one wins and the other gets
StatusChanged. Functions flush; the view or command that called them commits once."""

from datetime import datetime

from sqlalchemy import func, select, update

from wapshop.extensions import db
from wapshop.models import (
    CallTask,
    Deal,
    Order,
    OrderEvent,
    OrderItem,
    Payment,
    Refund,
    Staff,
)
from wapshop.clock import china_text
from wapshop.services import balances, notify, orders, payments
from wapshop.services.fulfilment.rules import (
    S,
    STATUS_LABELS,
    ADDRESS_FROM,
    STAFF_CANCELLABLE,
    BadInput,
    Refused,
    StatusChanged,
    Settings,
    actor_of,
    who,
)


# --- Transitions.


def move(
    order: Order, expected: str, to: str, allowed, actor: str, note: str, now: datetime, **values
) -> None:
    """The one way the back office changes an order's status: from the status the actor saw,
    if the move is legal from there (else Refused), with its event; StatusChanged when
    someone was quicker."""
    if expected not in [str(s) for s in allowed]:
        label = STATUS_LABELS.get(expected, expected)
        raise Refused(f"订单「{label}」时不能改为「{STATUS_LABELS[to]}」。")
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == expected)
        .values(status=to, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise changed(order)
    orders.record_event(order, actor, expected, to, note[:500], now)
    db.session.flush()
    db.session.refresh(order)


def changed(order: Order) -> StatusChanged:
    """The refusal for a staff member who acted on a status that is gone."""
    db.session.refresh(order)
    last = db.session.scalar(
        select(OrderEvent)
        .where(OrderEvent.order_id == order.id)
        .order_by(OrderEvent.id.desc())
        .limit(1)
    )
    by = f"{who(last.actor)} 在 {china_text(last.at, '%H:%M')} " if last else ""
    return StatusChanged(
        f"没有执行：订单 {order.number} 刚被 {by}改为「{STATUS_LABELS[order.status]}」。"
        "请看最新状态后再决定。"
    )


def touch(order: Order, expected: str, now: datetime) -> None:
    """Lock the order at the status seen for an action that keeps the status (a call nobody
    answered), so it waits for or loses to a concurrent transition."""
    touched = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == expected)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if touched != 1:
        raise changed(order)


def check_address(
    order: Order,
    expected: str,
    deliverable: bool,
    reason: str,
    staff: Staff,
    now: datetime,
    settings: Settings = Settings(),
) -> None:
    """Deliverable: the order waits for its confirmation call. Not deliverable (a reason is
    required): customer service contacts the buyer, then passes or cancels it."""
    reason = reason.strip()
    if deliverable:
        allowed = (*ADDRESS_FROM, S.ADDRESS_INVALID)
        note = reason or "地址可以送达"
        move(order, expected, S.ADDRESS_OK, allowed, actor_of(staff), note, now)
        schedule_first_call(order, now, settings)
    else:
        if not reason:
            raise BadInput("请写明地址为什么送不到。", field="reason")
        move(order, expected, S.ADDRESS_INVALID, ADDRESS_FROM, actor_of(staff), reason, now)


def schedule_first_call(order: Order, now: datetime, settings: Settings) -> None:
    deal_ends = db.session.scalar(
        select(func.min(Deal.ends_at))
        .join(OrderItem, OrderItem.deal_id == Deal.id)
        .where(OrderItem.order_id == order.id)
    )
    call_by = deal_ends if deal_ends is not None else now + settings.call_deadline
    task = db.session.get(CallTask, order.id)
    if task is None:
        task = CallTask(order_id=order.id, next_call_at=now, call_by=call_by)
        db.session.add(task)
    task.attempts, task.next_call_at, task.call_by, task.parked_at = 0, now, call_by, None
    task.claimed_by_id = task.claimed_until = None
    db.session.flush()


def cancel_from(order, expected, note, staff, now, allowed=STAFF_CANCELLABLE) -> None:
    if expected not in [str(s) for s in allowed]:
        raise Refused(f"订单「{STATUS_LABELS.get(expected, expected)}」时不能取消。")
    try:
        orders.cancel(order, actor_of(staff), note, from_statuses=(expected,), now=now)
    except orders.NotCancellable:
        raise changed(order) from None
    refund_if_paid(order, actor_of(staff), now, "订单取消")


def cancel(order: Order, expected: str, reason: str, staff: Staff, now: datetime) -> None:
    """Staff cancel before shipping, with a reason: restocked (deal units too), and refunded
    to the balance if it was paid online."""
    reason = reason.strip()
    if not reason:
        raise BadInput("请写明取消原因。", field="reason")
    cancel_from(order, expected, reason, staff, now)


def paid_online(order: Order) -> Payment | None:
    """The succeeded online payment of the order, if it was paid that way."""
    return db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status == "succeeded")
        .order_by(Payment.id.desc())
        .limit(1)
    )


def refund_if_paid(
    order: Order, actor: str, now: datetime, note: str, ticket_id: int | None = None
) -> Refund | None:
    """Give an online payment back to the payer's balance, once per order (the ledger's
    unique payment+kind and Refund's unique order make a repeat fail, not pay twice).
    `actor` as in the event log: actor_of(staff), or the buyer who cancelled."""
    payment = paid_online(order)
    if payment is None:
        return None
    balances.credit(
        payments.payer_phone(order),
        payment.amount_fen,
        "refund",
        payment_id=payment.id,
        order_id=order.id,
        note=order.number,
    )
    refund = Refund(
        order_id=order.id,
        ticket_id=ticket_id,
        method="balance",
        amount_fen=payment.amount_fen,
        note=note,
        at=now,
        actor=actor,
    )
    db.session.add(refund)
    db.session.flush()
    notify.enqueue(order, "refunded", method="balance", amount_fen=payment.amount_fen)
    return refund
