"""A cash-on-delivery order's way through the back office, from placed to settled: the
address check, the confirmation call, shipping, the delivery outcome and the courier's
remittance, with the queues that feed each step.

Every transition is a conditional UPDATE on the status the staff member saw (`expected`),
plus its OrderEvent: when two people act on one order at once, one wins and the other gets
StatusChanged. Functions flush; the view or command that called them commits once."""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, or_, select, update

from wapshop.extensions import db
from wapshop.models import (
    CallAttempt,
    CallTask,
    CodCoverage,
    Deal,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    OutboxMessage,
    Payment,
    Refund,
    Remittance,
    Seller,
    Shipment,
    Staff,
    StaffRole,
    Ticket,
)
from wapshop.models.ops import CallOutcome
from wapshop.money import format_fen
from wapshop.services import Refusal, balances, csvfiles, notify, orders, payments, regions
from wapshop.services.pagination import Page, paginate

S = OrderStatus

# What staff read for each status (the buyers' wording is orders.STATUS_TEXT).
STATUS_LABELS = {
    S.AWAITING_PAYMENT: "待付款",
    S.PAID: "已付款·待审地址",
    S.PLACED: "待审地址",
    S.ADDRESS_OK: "待电话确认",
    S.ADDRESS_INVALID: "地址无效",
    S.CONFIRMED: "待发货",
    S.SHIPPED: "已发货",
    S.DELIVERED: "已签收",
    S.REFUSED: "拒收",
    S.SETTLED: "已结算",
    S.CANCELLED: "已取消",
    S.RETURN_REQUESTED: "申请退货",
    S.RETURNED: "已退货",
    S.REFUNDED: "已退款",
}
OUTCOME_LABELS = {
    CallOutcome.CONFIRMED: "已确认",
    CallOutcome.NO_ANSWER: "无人接听",
    CallOutcome.DECLINED: "买家不要了",
    CallOutcome.FAKE: "虚假订单",
}

# Who may do what; admins may do everything. Sellers only ever see their own orders, and
# make confirmation calls only when they confirm their own orders (Seller.confirms_own_orders).
ACTION_ROLES = {
    "view": (StaffRole.OPERATOR, StaffRole.SERVICE, StaffRole.SELLER),
    "address": (StaffRole.OPERATOR, StaffRole.SERVICE, StaffRole.SELLER),
    "call": (StaffRole.SERVICE, StaffRole.SELLER),
    "ship": (StaffRole.OPERATOR, StaffRole.SELLER),
    "delivery": (StaffRole.OPERATOR, StaffRole.SERVICE, StaffRole.SELLER),
    "cancel": (StaffRole.OPERATOR, StaffRole.SERVICE),
    "settle": (StaffRole.OPERATOR,),
}
ADDRESS_FROM = (S.PLACED, S.PAID)
STAFF_CANCELLABLE = (
    S.AWAITING_PAYMENT,
    S.PAID,
    S.PLACED,
    S.ADDRESS_OK,
    S.ADDRESS_INVALID,
    S.CONFIRMED,
)
# Delivered parcels whose cash the courier still owes, whatever after-sales did since.
COLLECTED = (S.DELIVERED, S.RETURN_REQUESTED, S.RETURNED, S.REFUNDED)


class OpsError(Refusal):
    """A refusal with a message for staff; `field` names the form field it belongs to."""

    status = 409


class NotFound(OpsError):
    status = 404


class Forbidden(OpsError):
    status = 403


class BadInput(OpsError):
    status = 400


class Refused(OpsError):
    """Not allowed from the order's status (e.g. ship an order nobody confirmed)."""


class StatusChanged(Refused):
    """Someone else moved the order since this staff member looked at it."""


@dataclass(frozen=True)
class Settings:
    """The back office's knobs, from configuration (see settings_from)."""

    call_attempts: int = 3
    retry_delays: tuple[timedelta, ...] = (timedelta(minutes=30), timedelta(hours=2))
    call_deadline: timedelta = timedelta(hours=24)
    claim_for: timedelta = timedelta(minutes=10)
    cod_fee_bp: int = 100  # basis points of the cash collected
    cod_fee_min_fen: int = 200


def settings_from(config) -> Settings:
    base = Settings()
    return Settings(
        call_attempts=config.get("CALL_ATTEMPTS", base.call_attempts),
        retry_delays=tuple(config.get("CALL_RETRY_DELAYS", base.retry_delays)),
        call_deadline=config.get("CALL_DEADLINE", base.call_deadline),
        claim_for=config.get("CALL_CLAIM", base.claim_for),
        cod_fee_bp=config.get("COD_FEE_BP", base.cod_fee_bp),
        cod_fee_min_fen=config.get("COD_FEE_MIN_FEN", base.cod_fee_min_fen),
    )


def actor_of(staff: Staff) -> str:
    return f"staff:{staff.username}"[:40]


def who(actor: str) -> str:
    """An event's actor as staff read it."""
    if actor.startswith("staff:"):
        return actor.removeprefix("staff:")
    if actor.startswith("buyer") or actor == "guest":
        return "买家"
    if actor.startswith("processor:"):
        return "支付通知"
    return {"system": "系统"}.get(actor, actor)


def may(staff: Staff, action: str) -> bool:
    return staff.role == StaffRole.ADMIN or staff.role in ACTION_ROLES[action]


# --- Finding orders, always within the seller's scope.


def scoped(stmt, seller_id: int | None):
    """Limit a select of orders to one seller's orders (None: all)."""
    if seller_id is None:
        return stmt
    return stmt.where(
        exists().where(OrderItem.order_id == Order.id, OrderItem.seller_id == seller_id)
    )


def get_order(order_id: int, seller_id: int | None) -> Order:
    """The order if this scope may see it; a missing order and another seller's order are the
    same NotFound, so ids cannot be probed."""
    order = db.session.scalar(scoped(select(Order).where(Order.id == order_id), seller_id))
    if order is None:
        raise NotFound("没有这个订单。")
    return order


def search(
    number: int, per_page: int, seller_id: int | None, query: str = "", status: str = ""
) -> Page:
    """Orders newest first, by order number or buyer phone, and status. PageOutOfRange."""
    stmt = scoped(select(Order), seller_id).order_by(Order.id.desc())
    query = query.strip()
    if query:
        stmt = stmt.where(or_(Order.number == query, Order.phone == query))
    if status:
        stmt = stmt.where(Order.status == status)
    return paginate(stmt, number, per_page)


def confirmed_by_seller(order: Order) -> bool:
    """Big sellers call their own buyers; the shop's customer service calls everyone else's."""
    sellers = {item.seller_id for item in order.items}
    confirming = db.session.scalars(
        select(Seller.id).where(Seller.id.in_(sellers), Seller.confirms_own_orders.is_(True))
    ).all()
    return bool(sellers) and set(confirming) == sellers


def seller_names(order: Order) -> dict[int, str]:
    """Staff may see who ships each item (buyers never do)."""
    ids = {item.seller_id for item in order.items}
    return dict(db.session.execute(select(Seller.id, Seller.name).where(Seller.id.in_(ids))).all())


def check_may_call(staff: Staff, order: Order) -> None:
    """Raises Forbidden unless this staff member makes this order's confirmation call."""
    if staff.role == StaffRole.ADMIN:
        return
    by_seller = confirmed_by_seller(order)
    if staff.role == StaffRole.SELLER and not by_seller:
        raise Forbidden("这个订单由商城客服电话确认。")
    if staff.role == StaffRole.SERVICE and by_seller:
        raise Forbidden("这个订单由卖家自己电话确认。")


def actions_for(staff: Staff, order: Order) -> set[str]:
    """The forms the order's page offers this staff member now."""
    status = order.status
    offered = set()
    if status in (*ADDRESS_FROM, S.ADDRESS_INVALID) and may(staff, "address"):
        offered.add("address")
    if status == S.ADDRESS_OK and may(staff, "call"):
        try:
            check_may_call(staff, order)
            offered.add("call")
        except Forbidden:
            pass
    if status == S.CONFIRMED and may(staff, "ship"):
        offered.add("ship")
    if status == S.SHIPPED and may(staff, "delivery"):
        offered.add("delivery")
    if status in STAFF_CANCELLABLE and may(staff, "cancel"):
        offered.add("cancel")
    return offered


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
    db.session.add(
        OrderEvent(
            order_id=order.id,
            at=now,
            actor=actor,
            from_status=expected,
            to_status=to,
            note=note[:500],
        )
    )
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
    by = f"{who(last.actor)} 在 {_cst(last.at)} " if last else ""
    return StatusChanged(
        f"没有执行：订单 {order.number} 刚被 {by}改为「{STATUS_LABELS[order.status]}」。"
        "请看最新状态后再决定。"
    )


def _cst(at: datetime) -> str:
    return (at + timedelta(hours=8)).strftime("%H:%M")


def _touch(order: Order, expected: str, now: datetime) -> None:
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
        _schedule_first_call(order, now, settings)
    else:
        if not reason:
            raise BadInput("请写明地址为什么送不到。", field="reason")
        move(order, expected, S.ADDRESS_INVALID, ADDRESS_FROM, actor_of(staff), reason, now)


def _schedule_first_call(order: Order, now: datetime, settings: Settings) -> None:
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
    cancel (restocked, refunded to the balance if paid online); no answer schedules the next
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
        _touch(order, expected, now)
        _no_answer(order, now, settings)
    else:
        label = OUTCOME_LABELS[CallOutcome(outcome)]
        why = f"{label}：{note}" if note else label
        _cancel(order, expected, why, staff, now, allowed=(S.ADDRESS_OK,))
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
        _schedule_first_call(order, now, settings)
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


def _cancel(order, expected, note, staff, now, allowed=STAFF_CANCELLABLE) -> None:
    if expected not in [str(s) for s in allowed]:
        raise Refused(f"订单「{STATUS_LABELS.get(expected, expected)}」时不能取消。")
    try:
        orders.cancel(order, actor_of(staff), note, from_statuses=(expected,))
    except orders.NotCancellable:
        raise changed(order) from None
    refund_if_paid(order, actor_of(staff), now, "订单取消")


def cancel(order: Order, expected: str, reason: str, staff: Staff, now: datetime) -> None:
    """Staff cancel before shipping, with a reason: restocked (deal units too), and refunded
    to the balance if it was paid online."""
    reason = reason.strip()
    if not reason:
        raise BadInput("请写明取消原因。", field="reason")
    _cancel(order, expected, reason, staff, now)


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


# --- The call queue.


def _callers_filter(staff: Staff):
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
        .where(Order.status == S.ADDRESS_OK, CallTask.parked_at.is_(None), _callers_filter(staff))
        .order_by(due, CallTask.call_by, CallTask.next_call_at, Order.id)
        .limit(200)
    )
    return [tuple(row) for row in db.session.execute(scoped(stmt, seller_id))]


def parked(staff: Staff, seller_id: int | None) -> list[tuple[Order, CallTask]]:
    stmt = (
        select(Order, CallTask)
        .join(CallTask, CallTask.order_id == Order.id)
        .where(
            Order.status == S.ADDRESS_OK, CallTask.parked_at.is_not(None), _callers_filter(staff)
        )
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


# --- Other queues.


def address_queue(number: int, per_page: int, seller_id: int | None) -> Page:
    stmt = select(Order).where(Order.status.in_([str(s) for s in ADDRESS_FROM]))
    return paginate(scoped(stmt, seller_id).order_by(Order.created_at, Order.id), number, per_page)


def invalid_addresses(number: int, per_page: int, seller_id: int | None) -> Page:
    stmt = select(Order).where(Order.status == S.ADDRESS_INVALID)
    return paginate(scoped(stmt, seller_id).order_by(Order.updated_at, Order.id), number, per_page)


def ship_queue(number: int, per_page: int, seller_id: int | None, carrier: str = "") -> Page:
    stmt = select(Order).where(Order.status == S.CONFIRMED)
    if carrier:
        stmt = stmt.where(Order.carrier == carrier)
    return paginate(scoped(stmt, seller_id).order_by(Order.created_at, Order.id), number, per_page)


def delivery_queue(number: int, per_page: int, seller_id: int | None) -> Page:
    stmt = (
        select(Order)
        .join(Shipment, and_(Shipment.order_id == Order.id, Shipment.kind == "delivery"))
        .where(Order.status == S.SHIPPED)
        .order_by(Shipment.shipped_at, Order.id)
    )
    return paginate(scoped(stmt, seller_id), number, per_page)


def shipment_of(order: Order) -> Shipment | None:
    return db.session.scalar(
        select(Shipment)
        .where(Shipment.order_id == order.id, Shipment.kind == "delivery")
        .order_by(Shipment.id.desc())
        .limit(1)
    )


def shipments_of(orders_: list[Order]) -> dict[int, Shipment]:
    """Each order's own delivery parcel, for a page of orders in one query."""
    if not orders_:
        return {}
    rows = db.session.scalars(
        select(Shipment).where(
            Shipment.order_id.in_([o.id for o in orders_]), Shipment.kind == "delivery"
        )
    )
    return {s.order_id: s for s in rows}


# --- Shipping.


@dataclass(frozen=True)
class Carrier:
    name: str
    pattern: str
    hint: str
    check_digit: bool = False  # the UPU S10 check digit of EMS numbers

    def valid(self, number: str) -> bool:
        if not re.fullmatch(self.pattern, number):
            return False
        return not self.check_digit or _s10_ok(number)


CARRIERS = {
    c.name: c
    for c in (
        Carrier("顺丰", r"\d{12}", "12位数字"),
        Carrier("宅急送", r"\d{10}", "10位数字"),
        Carrier("EMS", r"[A-Z]{2}\d{9}[A-Z]{2}", "13位，如 EA123456785CN", check_digit=True),
    )
}


def _s10_ok(number: str) -> bool:
    digits = [int(d) for d in number[2:10]]
    check = 11 - sum(w * d for w, d in zip((8, 6, 4, 2, 3, 5, 9, 7), digits)) % 11
    return int(number[10]) == {10: 0, 11: 5}.get(check, check)


def normalise_tracking(text: str) -> str:
    return re.sub(r"[\s\-]", "", text or "").upper()


def carriers_for(order: Order) -> list[str]:
    """Carriers this order may ship with: for cash on delivery only those collecting cash in
    its region (preferred first), otherwise any carrier we know."""
    if order.payment_method != "cod":
        return list(CARRIERS)
    region = regions.get(order.region_code)
    codes = [r.code for r in regions.path(region)] if region else []
    names = db.session.scalars(
        select(CodCoverage.carrier)
        .where(CodCoverage.region_code.in_(codes))
        .group_by(CodCoverage.carrier)
        .order_by(func.min(CodCoverage.priority), CodCoverage.carrier)
    ).all()
    return list(names)


def check_waybill(order: Order, carrier: str, tracking: str, collects_cash: bool) -> str:
    """The normalised tracking number, or BadInput naming the field that is wrong. A parcel
    that collects cash needs a carrier collecting cash in the order's region."""
    if carrier not in (carriers_for(order) if collects_cash else CARRIERS):
        if collects_cash:
            raise BadInput(f"{carrier or '这家快递'}不能在这个地区代收货款。", field="carrier")
        raise BadInput("请选择快递公司。", field="carrier")
    number = normalise_tracking(tracking)
    known = CARRIERS.get(carrier, Carrier(carrier, r"[A-Z0-9]{6,30}", "6到30位字母或数字"))
    if not known.valid(number):
        raise BadInput(
            f"{carrier}运单号应为{known.hint}：{tracking.strip()[:30]} 不对。", "tracking"
        )
    used = db.session.scalar(
        select(Order.number)
        .join(Shipment, Shipment.order_id == Order.id)
        .where(Shipment.carrier == carrier, Shipment.tracking_number == number)
    )
    if used is not None:
        raise BadInput(f"运单号 {number} 已用于订单 {used}。", field="tracking")
    return number


def ship(
    order: Order, expected: str, carrier: str, tracking: str, staff: Staff, now: datetime
) -> Shipment:
    """A confirmed order leaves with a carrier and a tracking number valid for that carrier.
    Everything is checked before anything is written, so a refused row of a bulk upload
    leaves nothing behind. Raises BadInput, Refused, StatusChanged."""
    if expected != S.CONFIRMED:
        label = STATUS_LABELS.get(expected, expected)
        raise Refused(f"订单「{label}」，只有电话确认过的订单才能发货。")
    cod = order.payment_method == "cod"
    number = check_waybill(order, carrier, tracking, collects_cash=cod)
    note = f"{carrier} {number}"
    move(order, expected, S.SHIPPED, (S.CONFIRMED,), actor_of(staff), note, now, carrier=carrier)
    shipment = Shipment(
        order_id=order.id,
        carrier=carrier,
        tracking_number=number,
        cod_fen=order.total_fen if cod else 0,
        shipped_at=now,
        staff_id=staff.id,
        actor=actor_of(staff),
    )
    db.session.add(shipment)
    db.session.flush()
    notify.enqueue(order, "shipped", carrier=carrier, tracking=number)
    return shipment


@dataclass
class CsvReport:
    shipped: list[tuple[int, str, str]] = field(default_factory=list)  # line, order, waybill
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # line, order, why


HEADER_WORDS = {"订单号", "order", "number", "order_number"}
MAX_CSV_ROWS = 2000


def ship_csv(
    text: str, staff: Staff, seller_id: int | None, now: datetime, default_carrier: str = ""
) -> CsvReport:
    """Ship many orders from CSV rows `订单号,快递公司,运单号` (header optional; a row with
    two columns uses `default_carrier`). Each row stands alone: a bad row is reported and
    changes nothing. Another seller's order reads as unknown."""
    rows = list(csvfiles.reader(text))
    if rows and rows[0] and rows[0][0].strip().lower() in HEADER_WORDS:
        rows = rows[1:]
    if len(rows) > MAX_CSV_ROWS:
        raise BadInput(f"一次最多 {MAX_CSV_ROWS} 行，这个文件有 {len(rows)} 行。", field="file")
    report = CsvReport()
    for line, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) == 2:
            cells = [cells[0], default_carrier, cells[1]]
        if len(cells) < 3:
            report.refused.append((line, cells[0], "应有三列：订单号,快递公司,运单号"))
            continue
        number, carrier, tracking = cells[:3]
        order = db.session.scalar(scoped(select(Order).where(Order.number == number), seller_id))
        if order is None:
            report.refused.append((line, number, "没有这个订单"))
            continue
        try:
            shipment = ship(order, order.status, carrier, tracking, staff, now)
        except OpsError as refused:
            report.refused.append((line, number, refused.message))
            continue
        report.shipped.append((line, number, f"{carrier} {shipment.tracking_number}"))
    return report


@dataclass(frozen=True)
class PickLine:
    product_id: int
    title: str
    quantity: int
    orders: int


def pick_list(seller_id: int | None, carrier: str = "") -> tuple[list[PickLine], list[Order]]:
    """What to take from the shelves for every order waiting to ship: the products with their
    total quantities, and the orders with their addresses, oldest first."""
    stmt = select(Order).where(Order.status == S.CONFIRMED)
    if carrier:
        stmt = stmt.where(Order.carrier == carrier)
    orders_ = db.session.scalars(scoped(stmt, seller_id).order_by(Order.created_at, Order.id)).all()
    totals: dict[int, list] = {}
    for order in orders_:
        for item in order.items:
            if seller_id is not None and item.seller_id != seller_id:
                continue
            entry = totals.setdefault(item.product_id, [item.title, 0, 0])
            entry[1] += item.quantity
            entry[2] += 1
    lines = [PickLine(pid, t, q, n) for pid, (t, q, n) in totals.items()]
    return sorted(lines, key=lambda p: (-p.quantity, p.product_id)), list(orders_)


# --- Delivery and settlement.


def close_delivery(
    order: Order, expected: str, delivered: bool, reason: str, staff: Staff, now: datetime
) -> None:
    """Delivered (and the cash collected), or refused at the door with a reason: the goods
    come back to stock, and an online payment goes back to the payer's balance."""
    reason = reason.strip()
    if delivered:
        shipment = shipment_of(order)
        cash = shipment.cod_fen if shipment else 0
        note = f"已签收，代收货款 {format_fen(cash)}" if cash else "已签收"
        note += f"；{reason}" if reason else ""
        move(order, expected, S.DELIVERED, (S.SHIPPED,), actor_of(staff), note, now)
        notify.enqueue(order, "delivered")
        return
    if not reason:
        raise BadInput("请写明拒收原因。", field="reason")
    move(order, expected, S.REFUSED, (S.SHIPPED,), actor_of(staff), reason, now)
    orders.restock(order, deal_units=False)
    db.session.flush()
    refund_if_paid(order, actor_of(staff), now, "拒收")


def cod_fee(cash_fen: int, settings: Settings) -> int:
    """The courier's fee for collecting `cash_fen`: a rate with a minimum; nothing for none."""
    if cash_fen <= 0:
        return 0
    return max(settings.cod_fee_min_fen, (cash_fen * settings.cod_fee_bp + 5000) // 10000)


def to_settle(carrier: str = "") -> list[tuple[Order, Shipment]]:
    """Delivered parcels the courier has not remitted for yet, oldest first."""
    stmt = (
        select(Order, Shipment)
        .join(Shipment, and_(Shipment.order_id == Order.id, Shipment.kind == "delivery"))
        .where(Shipment.remittance_id.is_(None), Order.status.in_([str(s) for s in COLLECTED]))
        .order_by(Shipment.carrier, Shipment.shipped_at, Order.id)
        .limit(1000)
    )
    if carrier:
        stmt = stmt.where(Shipment.carrier == carrier)
    return [tuple(row) for row in db.session.execute(stmt)]


def settle(
    carrier: str,
    reference: str,
    order_ids: list[int],
    fee_fen: int | None,
    staff: Staff,
    now: datetime,
    settings: Settings = Settings(),
) -> Remittance:
    """Record a courier's remittance for delivered parcels: their cash, less the COD fee
    (computed from the rate unless the courier's statement says otherwise). Delivered
    orders become settled. Raises BadInput, Refused, StatusChanged."""
    reference = reference.strip()
    if not reference:
        raise BadInput("请填写快递公司的汇款单号。", field="reference")
    if not order_ids:
        raise BadInput("请至少选择一个订单。", field="order_ids")
    taken = db.session.scalar(
        select(Remittance.id).where(
            Remittance.carrier == carrier, Remittance.reference == reference
        )
    )
    if taken is not None:
        raise BadInput(f"{carrier}汇款单 {reference} 已经登记过了。", field="reference")
    rows = db.session.execute(
        select(Order, Shipment)
        .join(Shipment, and_(Shipment.order_id == Order.id, Shipment.kind == "delivery"))
        .where(Order.id.in_(order_ids))
    ).all()
    found = {order.id: (order, shipment) for order, shipment in rows}
    wrong = [
        str(oid)
        for oid in order_ids
        if oid not in found
        or found[oid][1].carrier != carrier
        or found[oid][1].remittance_id is not None
        or found[oid][0].status not in COLLECTED
    ]
    if wrong:
        raise Refused(f"这些订单不是{carrier}待结算的已签收订单：{', '.join(wrong[:10])}。")
    collected = sum(found[oid][1].cod_fen for oid in order_ids)
    fee = (
        fee_fen
        if fee_fen is not None
        else sum(cod_fee(found[o][1].cod_fen, settings) for o in order_ids)
    )
    if fee > collected:
        raise BadInput("手续费不能超过代收货款。", field="fee")
    remittance = Remittance(
        carrier=carrier,
        reference=reference,
        parcels=len(order_ids),
        collected_fen=collected,
        fee_fen=fee,
        at=now,
        staff_id=staff.id,
        actor=actor_of(staff),
    )
    db.session.add(remittance)
    db.session.flush()
    for oid in order_ids:
        order, shipment = found[oid]
        marked = db.session.execute(
            update(Shipment)
            .where(Shipment.id == shipment.id, Shipment.remittance_id.is_(None))
            .values(remittance_id=remittance.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if marked != 1:
            raise StatusChanged(f"订单 {order.number} 刚被别人结算了，请刷新后再试。")
        if order.status == S.DELIVERED:
            note = f"{carrier}汇款 {reference}，代收 {format_fen(shipment.cod_fen)}"
            move(order, S.DELIVERED, S.SETTLED, (S.DELIVERED,), actor_of(staff), note, now)
    db.session.flush()
    return remittance


def remittances(number: int, per_page: int) -> Page:
    return paginate(select(Remittance).order_by(Remittance.id.desc()), number, per_page)


# --- The order's whole story, for its staff page.


@dataclass(frozen=True)
class Entry:
    at: datetime
    who: str
    what: str
    note: str = ""
    from_status: str | None = None
    to_status: str | None = None


def timeline(order: Order) -> list[Entry]:
    """Transitions, calls, parcels, after-sales, refunds and SMS in one list, oldest first."""
    entries = [
        Entry(
            e.at,
            who(e.actor),
            "状态变更",
            e.note,
            e.from_status,
            e.to_status,
        )
        for e in order.events
    ]
    for call in db.session.scalars(select(CallAttempt).where(CallAttempt.order_id == order.id)):
        outcome = OUTCOME_LABELS.get(CallOutcome(call.outcome), call.outcome)
        entries.append(Entry(call.at, who(call.actor), f"电话：{outcome}", call.note))
    for parcel in db.session.scalars(select(Shipment).where(Shipment.order_id == order.id)):
        what = "补发换货" if parcel.kind == "replacement" else "发货"
        entries.append(
            Entry(
                parcel.shipped_at,
                who(parcel.actor),
                what,
                f"{parcel.carrier} {parcel.tracking_number}",
            )
        )
        if parcel.remittance is not None:
            r = parcel.remittance
            entries.append(Entry(r.at, who(r.actor), "结算", f"{r.carrier}汇款 {r.reference}"))
    for ticket in db.session.scalars(select(Ticket).where(Ticket.order_id == order.id)):
        entries.append(Entry(ticket.created_at, "买家", f"售后#{ticket.id}", ticket.body))
        for reply in ticket.replies:
            entries.append(Entry(reply.at, who(reply.actor), f"售后#{ticket.id}回复", reply.body))
    for refund in db.session.scalars(select(Refund).where(Refund.order_id == order.id)):
        how = "退到余额" if refund.method == "balance" else "现金退款"
        entries.append(
            Entry(
                refund.at, who(refund.actor), how, f"{format_fen(refund.amount_fen)} {refund.note}"
            )
        )
    for late in payments.late_credits(order):  # paid after it could no longer take money
        note = f"{format_fen(late.amount_fen)} → {late.phone} {late.note}"
        entries.append(Entry(late.created_at, "支付通知", "迟到的付款存入余额", note))
    for sms in db.session.scalars(select(OutboxMessage).where(OutboxMessage.order_id == order.id)):
        state = notify.STATUS_LABELS.get(sms.status, sms.status)
        entries.append(Entry(sms.created_at, "短信", f"短信（{state}）", sms.body))
    return sorted(entries, key=lambda e: e.at)


def queue_counts(staff: Staff, seller_id: int | None, now: datetime) -> dict[str, int]:
    """How much waits in each queue this staff member works, for the queue tabs."""

    def count(stmt) -> int:
        return db.session.scalar(
            select(func.count()).select_from(scoped(stmt, seller_id).subquery())
        )

    def in_status(*statuses):
        return select(Order.id).where(Order.status.in_([str(s) for s in statuses]))

    calls = (
        select(Order.id)
        .join(CallTask, CallTask.order_id == Order.id)
        .where(Order.status == S.ADDRESS_OK, CallTask.parked_at.is_(None), _callers_filter(staff))
    )
    return {
        "address": count(in_status(*ADDRESS_FROM)),
        "invalid": count(in_status(S.ADDRESS_INVALID)),
        "calls": count(calls.where(CallTask.next_call_at <= now)),
        "ship": count(in_status(S.CONFIRMED)),
        "delivery": count(in_status(S.SHIPPED)),
    }
