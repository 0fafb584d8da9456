"""The confirmation call: recording its outcome, the call queue and who gets the next call."""

from datetime import datetime, timedelta

from sqlalchemy import case, exists, or_, select, update

from wapshop.extensions import db
from wapshop.models import (
    CallAttempt,
    CallTask,
    Order,
    OrderItem,
    Seller,
    Staff,
    StaffRole,
)
from wapshop.models.ops import CallOutcome
from wapshop.services import notify
from wapshop.services.fulfilment.rules import (
    S,
    OUTCOME_LABELS,
    BadInput,
    Refused,
    Settings,
    actor_of,
    scoped,
    check_may_call,
)
from wapshop.services.fulfilment.transitions import move, touch, schedule_first_call, cancel_from


def record_call(
    order: Order,
    expected: str,
    outcome: str,
    note: str,
    staff: Staff,
    now: datetime,
    settings: Settings = Settings(),
) -> CallAttempt:
    """The outcome of a confirmation call. Confirmed moves on to shipping; declined and fake
    cancel (restocked, refunded to the balance if paid online) and need a note saying why; no answer schedules the next
    call, and after settings.call_attempts of them sends the "please reply" SMS and parks."""
    if outcome not in tuple(CallOutcome):
        raise BadInput("请选择通话结果。", field="outcome")
    check_may_call(staff, order)
    note = note.strip()
    if outcome == CallOutcome.CONFIRMED:
        move(
            order, expected, S.CONFIRMED, (S.ADDRESS_OK,), actor_of(staff), note or "电话确认", now
        )
        notify.enqueue(order, "confirmed")
    elif outcome == CallOutcome.NO_ANSWER:
        if expected != S.ADDRESS_OK:
            raise Refused("只有待电话确认的订单才能记录未接通。")
        touch(order, expected, now)
        _no_answer(order, now, settings)
    else:
        if not note:
            raise BadInput("买家不要了或虚假订单，请在备注里写明原因。", field="note")
        label = OUTCOME_LABELS[CallOutcome(outcome)]
        why = f"{label}：{note}"
        cancel_from(order, expected, why, staff, now, allowed=(S.ADDRESS_OK,))
    attempt = CallAttempt(
        order_id=order.id,
        at=now,
        staff_id=staff.id,
        actor=actor_of(staff),
        outcome=outcome,
        note=note[:200],
    )
    db.session.add(attempt)
    task = db.session.get(CallTask, order.id)
    if task is not None and task.claimed_by_id == staff.id:
        task.claimed_by_id = task.claimed_until = None
    db.session.flush()
    return attempt


def _no_answer(order: Order, now: datetime, settings: Settings) -> None:
    task = db.session.get(CallTask, order.id)
    if task is None:  # an order checked before call tasks existed
        schedule_first_call(order, now, settings)
        task = db.session.get(CallTask, order.id)
    task.attempts += 1
    if task.attempts >= settings.call_attempts:
        task.parked_at = now
        notify.enqueue(order, "please_reply")
    else:
        delays = settings.retry_delays or (timedelta(hours=1),)
        task.next_call_at = now + delays[min(task.attempts, len(delays)) - 1]
    db.session.flush()


def requeue(order: Order, staff: Staff, now: datetime) -> None:
    """A parked order goes back to the top of the call queue (the buyer replied)."""
    check_may_call(staff, order)
    task = db.session.get(CallTask, order.id)
    if order.status != S.ADDRESS_OK or task is None or task.parked_at is None:
        raise Refused("这个订单不在搁置中。")
    task.parked_at = None
    task.attempts = 0
    task.next_call_at = now
    db.session.flush()


# --- The call queue.


def callers_filter(staff: Staff):
    """Orders whose confirmation call is this staff member's job."""
    big_seller_item = exists().where(
        OrderItem.order_id == Order.id,
        OrderItem.seller_id == Seller.id,
        Seller.confirms_own_orders.is_(True),
    )
    if staff.role == StaffRole.SERVICE:
        return ~big_seller_item
    if staff.role == StaffRole.SELLER:
        return big_seller_item
    return True


def call_queue(staff: Staff, seller_id: int | None, now: datetime) -> list[tuple[Order, CallTask]]:
    """Orders to call, this staff member's share: calls due now first, the most urgent (a deal
    about to end) first among them; then calls scheduled for later. Parked ones are apart."""
    due = case((CallTask.next_call_at <= now, 0), else_=1)
    stmt = (
        select(Order, CallTask)
        .join(CallTask, CallTask.order_id == Order.id)
        .where(Order.status == S.ADDRESS_OK, CallTask.parked_at.is_(None), callers_filter(staff))
        .order_by(due, CallTask.call_by, CallTask.next_call_at, Order.id)
        .limit(200)
    )
    return [tuple(row) for row in db.session.execute(scoped(stmt, seller_id))]


def parked(staff: Staff, seller_id: int | None) -> list[tuple[Order, CallTask]]:
    stmt = (
        select(Order, CallTask)
        .join(CallTask, CallTask.order_id == Order.id)
        .where(Order.status == S.ADDRESS_OK, CallTask.parked_at.is_not(None), callers_filter(staff))
        .order_by(CallTask.parked_at)
        .limit(200)
    )
    return [tuple(row) for row in db.session.execute(scoped(stmt, seller_id))]


def next_call(
    staff: Staff, seller_id: int | None, now: datetime, settings: Settings
) -> Order | None:
    """Hand the most urgent due call to this staff member for settings.claim_for, so no
    colleague dials the same buyer meanwhile. None when nothing is due."""
    free = or_(
        CallTask.claimed_until.is_(None),
        CallTask.claimed_until < now,
        CallTask.claimed_by_id == staff.id,
    )
    for order, task in call_queue(staff, seller_id, now):
        if task.next_call_at > now:
            break
        taken = db.session.execute(
            update(CallTask)
            .where(CallTask.order_id == order.id, free)
            .values(claimed_by_id=staff.id, claimed_until=now + settings.claim_for)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken == 1:
            db.session.flush()
            return order
    return None


def call_task(order: Order) -> CallTask | None:
    return db.session.get(CallTask, order.id)
