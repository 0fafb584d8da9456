"""After-sales, which the shop handles for every seller: a buyer asks a question, complains,
or asks to return or exchange goods within the return window after delivery; customer
service works these as tickets with replies the buyer reads on the order page.

A return moves the order to return_requested → returned (restocked) → refunded (to the
balance for online payments, or a recorded cash refund). An exchange leaves the order's
status alone: the goods come back to stock and a replacement leaves with its own waybill.
Functions flush; the view commits once."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from wapshop.extensions import db
from wapshop.models import (
    Order,
    OrderEvent,
    OrderStatus,
    Refund,
    Shipment,
    Staff,
    Ticket,
    TicketReply,
    Variant,
)
from wapshop.models.ops import TicketKind, TicketStatus
from wapshop.money import format_fen
from wapshop.services import NotFound, Refusal, fulfilment, notify, orders, stock
from wapshop.services.pagination import Page, PageOutOfRange, paginate

S = OrderStatus
K = TicketKind
T = TicketStatus

BODY_MAX = 100  # what a buyer types on a phone keypad; the form says so too
REPLY_MAX = 120  # two of them and the form fit a WML deck's 2,000 bytes
OPEN_PER_ORDER = 3
RETURNABLE = (S.DELIVERED, S.SETTLED)
ACTIVE = (T.OPEN, T.ANSWERED, T.ACCEPTED)

# What buyers read.
KIND_TEXT = {
    K.QUESTION: _l("咨询"),
    K.COMPLAINT: _l("投诉"),
    K.RETURN: _l("退货"),
    K.EXCHANGE: _l("换货"),
}
STATUS_TEXT = {
    T.OPEN: _l("等待客服处理"),
    T.ANSWERED: _l("客服已回复"),
    T.ACCEPTED: _l("已同意，请按回复寄回商品"),
    T.REJECTED: _l("未同意"),
    T.CLOSED: _l("已完成"),
}
# What staff read.
KIND_LABELS = {K.QUESTION: "咨询", K.COMPLAINT: "投诉", K.RETURN: "退货", K.EXCHANGE: "换货"}
STATUS_LABELS = {
    T.OPEN: "待处理",
    T.ANSWERED: "已回复",
    T.ACCEPTED: "已同意·等退回",
    T.REJECTED: "已拒绝",
    T.CLOSED: "已完成",
}


class AftersalesError(Refusal):
    """A refusal with a message (buyer-facing ones are translatable); `field` names the form
    field it belongs to."""

    status = 409


class OutsideWindow(AftersalesError):
    pass


# --- The buyer's side.


def delivered_at(order: Order) -> datetime | None:
    """When the order was delivered (its latest move to delivered), if it was."""
    return db.session.scalar(
        select(func.max(OrderEvent.at)).where(
            OrderEvent.order_id == order.id, OrderEvent.to_status == S.DELIVERED
        )
    )


def tickets_of(order: Order) -> list[Ticket]:
    """The order's tickets, newest first."""
    return list(
        db.session.scalars(
            select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.id.desc())
        )
    )


def may_return(order: Order, now: datetime, window: timedelta) -> bool:
    at = delivered_at(order) if order.status in RETURNABLE else None
    return at is not None and now <= at + window


def exchange_choices(order: Order) -> list[Variant]:
    """The other sizes or colours an exchange may be to: active variants of an ordered
    product that differ from an ordered variant in one option (the same colour in another
    size, or the same size in another colour: what exchanges are for, and few enough for a
    WML deck), sold-out ones included (shown, refused)."""
    ordered = {item.variant_id for item in order.items}
    products = {item.product_id for item in order.items}
    candidates = db.session.scalars(
        select(Variant)
        .where(
            Variant.product_id.in_(products),
            Variant.active.is_(True),
            Variant.values_json != "[]",
        )
        .order_by(Variant.product_id, Variant.position, Variant.id)
    ).all()
    bought = db.session.scalars(select(Variant).where(Variant.id.in_(ordered)))
    mine = [(v.product_id, v.values) for v in bought]

    def one_apart(variant: Variant) -> bool:
        return any(
            product_id == variant.product_id
            and len(values) == len(variant.values)
            and sum(a != b for a, b in zip(values, variant.values, strict=True)) == 1
            for product_id, values in mine
        )

    return [v for v in candidates if v.id not in ordered and one_apart(v)]


def _exchange_variant(order: Order, kind: str, variant_id: int | None) -> int | None:
    if variant_id is None:
        return None
    if kind != K.EXCHANGE:
        raise AftersalesError(_l("只有换货可以选择别的款式。"), field="variant")
    chosen = next((v for v in exchange_choices(order) if v.id == variant_id), None)
    if chosen is None:
        raise AftersalesError(_l("请从列表里选择这个商品的另一个款式。"), field="variant")
    if chosen.stock <= 0:
        raise AftersalesError(
            _l("%(label)s暂时没货了，请换一个款式。", label=chosen.label), field="variant"
        )
    return chosen.id


def open_ticket(
    order: Order,
    kind: str,
    body: str,
    actor: str,
    now: datetime,
    window: timedelta,
    exchange_variant_id: int | None = None,
) -> Ticket:
    """A buyer's question, complaint, or return or exchange request. Returns and exchanges
    only after delivery and within `window` (RETURN_WINDOW) of it (OutsideWindow); a return moves the order
    to return_requested. An exchange may be to another variant of an ordered product
    (`exchange_variant_id`, one of exchange_choices, in stock now). Raises AftersalesError."""
    body = body.strip()
    if kind not in tuple(TicketKind):
        raise AftersalesError(_l("请选择要办理的事项。"), field="kind")
    if not body:
        raise AftersalesError(_l("请写下您的问题或原因。"), field="body")
    exchange_variant_id = _exchange_variant(order, kind, exchange_variant_id)
    active = [t for t in tickets_of(order) if t.status in ACTIVE]
    if len(active) >= OPEN_PER_ORDER:
        raise AftersalesError(_l("您的问题还在处理中，客服回复后会显示在订单页。"))
    before = None
    if kind in (K.RETURN, K.EXCHANGE):
        _check_returnable(order, now, window)
        if any(t.kind in (K.RETURN, K.EXCHANGE) for t in active):
            raise AftersalesError(_l("这个订单已经有退换货申请在处理了。"))
        if kind == K.RETURN:
            before = order.status
            try:
                fulfilment.move(order, before, S.RETURN_REQUESTED, RETURNABLE, actor, body, now)
            except fulfilment.OpsError:
                raise AftersalesError(_l("订单状态刚刚有变化，请刷新后再试。")) from None
    ticket = Ticket(
        order_id=order.id,
        kind=kind,
        status=T.OPEN,
        body=body[:BODY_MAX],
        order_status_before=before,
        exchange_variant_id=exchange_variant_id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(ticket)
    db.session.flush()
    return ticket


def _check_returnable(order: Order, now: datetime, window: timedelta) -> None:
    if order.status == S.REFUNDED:
        raise AftersalesError(_l("这个订单已经退款了。"))
    if order.status in (S.RETURN_REQUESTED, S.RETURNED):
        raise AftersalesError(_l("这个订单已经在退货了。"))
    at = delivered_at(order) if order.status in RETURNABLE else None
    if at is None:
        raise AftersalesError(_l("订单签收后才能申请退换货。"), field="kind")
    if now > at + window:
        raise OutsideWindow(
            _l(
                "签收已超过%(days)d天，不能再申请退换货。有问题可以咨询或投诉，或拨打客服电话。",
                days=window.days,
            ),
            field="kind",
        )


def buyer_reply(ticket: Ticket, body: str, actor: str, now: datetime) -> TicketReply:
    """The buyer adds to an unfinished ticket, which goes back to customer service."""
    body = body.strip()
    if not body:
        raise AftersalesError(_l("请写下您要补充的内容。"), field="body")
    if ticket.status not in ACTIVE:
        raise AftersalesError(_l("这个售后已经结束了，有新问题请重新提交。"))
    reply = _reply(ticket, body[:BODY_MAX], False, actor, now)
    if ticket.status == T.ANSWERED:
        _set_status(ticket, (T.ANSWERED,), T.OPEN, now)
    return reply


@dataclass(frozen=True)
class Entry:
    at: datetime
    from_staff: bool
    body: str


def replies_page(ticket: Ticket, number: int, per_page: int) -> Page:
    """A page of the conversation, newest first (what changed is on top), the buyer's
    request itself last. Raises PageOutOfRange."""
    entries = [Entry(r.at, r.from_staff, r.body) for r in reversed(ticket.replies)]
    entries.append(Entry(ticket.created_at, False, ticket.body))
    start = (number - 1) * per_page
    page = Page(entries[start : start + per_page], number, per_page, len(entries))
    if number > page.pages:
        raise PageOutOfRange(number)
    return page


def ticket_of(order: Order, ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.order_id != order.id:
        raise NotFound(_l("没有找到这个售后记录。"))
    return ticket


# --- Customer service's side.


def queue(number: int, per_page: int, status: str = "", kind: str = "") -> Page:
    """Tickets, those waiting for service first, oldest first. Raises PageOutOfRange."""
    stmt = select(Ticket)
    if status:
        stmt = stmt.where(Ticket.status == status)
    else:
        stmt = stmt.where(Ticket.status.in_([str(s) for s in ACTIVE]))
    if kind:
        stmt = stmt.where(Ticket.kind == kind)
    waiting_first = (Ticket.status != T.OPEN, Ticket.updated_at, Ticket.id)
    return paginate(stmt.order_by(*waiting_first), number, per_page)


def get(ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("没有这个售后单。")
    return ticket


def _reply(ticket: Ticket, body: str, from_staff: bool, actor: str, now: datetime):
    reply = TicketReply(ticket_id=ticket.id, at=now, from_staff=from_staff, actor=actor, body=body)
    db.session.add(reply)
    ticket.updated_at = now
    db.session.flush()
    db.session.refresh(ticket)
    return reply


def _set_status(ticket: Ticket, allowed, to: str, now: datetime) -> None:
    """Conditional UPDATE, so two agents deciding one ticket at once cannot both win."""
    moved = db.session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status.in_([str(s) for s in allowed]))
        .values(status=to, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(ticket)
    if moved != 1:
        label = STATUS_LABELS.get(ticket.status, ticket.status)
        raise AftersalesError(
            f"售后单 #{ticket.id} 现在是「{label}」，刚被别人处理过，请刷新后再看。"
        )


def _staff_text(body: str, required: str) -> str:
    body = body.strip()
    if not body:
        raise AftersalesError(required, field="body")
    if len(body) > REPLY_MAX:
        raise AftersalesError(f"回复最多 {REPLY_MAX} 个字（买家用手机看）。", field="body")
    return body


def reply(ticket: Ticket, body: str, staff: Staff, now: datetime, close: bool = False) -> None:
    """Answer the buyer (who sees it on the order page); questions and complaints may be
    closed with the answer."""
    body = _staff_text(body, "请写回复内容。")
    if ticket.status not in ACTIVE:
        raise AftersalesError("这个售后单已经结束了。")
    if close and ticket.kind in (K.RETURN, K.EXCHANGE):
        raise AftersalesError("退换货要同意或拒绝，不能直接结束。")
    if close:
        _set_status(ticket, ACTIVE, T.CLOSED, now)
    elif ticket.status == T.OPEN:
        _set_status(ticket, (T.OPEN,), T.ANSWERED, now)
    _reply(ticket, body, True, fulfilment.actor_of(staff), now)


def accept(ticket: Ticket, body: str, staff: Staff, now: datetime) -> None:
    """Agree to a return or exchange; the reply tells the buyer how to send the goods back."""
    body = _staff_text(body, "请告诉买家怎么寄回商品。")
    if ticket.kind not in (K.RETURN, K.EXCHANGE):
        raise AftersalesError("只有退货和换货需要同意。")
    _set_status(ticket, (T.OPEN, T.ANSWERED), T.ACCEPTED, now)
    _reply(ticket, body, True, fulfilment.actor_of(staff), now)


def reject(ticket: Ticket, body: str, staff: Staff, now: datetime) -> None:
    """Turn a return or exchange down with a reason; a return's order goes back to where it
    was (settled, if the courier has remitted for it meanwhile)."""
    body = _staff_text(body, "请写明拒绝的原因。")
    if ticket.kind not in (K.RETURN, K.EXCHANGE):
        raise AftersalesError("咨询和投诉请直接回复。")
    if ticket.kind == K.RETURN and ticket.order.status != S.RETURN_REQUESTED:
        raise AftersalesError("退货已经入库，只能退款。")
    _set_status(ticket, ACTIVE, T.REJECTED, now)
    actor = fulfilment.actor_of(staff)
    if ticket.kind == K.RETURN:
        order = ticket.order
        back = ticket.order_status_before or S.DELIVERED
        parcel = fulfilment.shipment_of(order)
        if back == S.DELIVERED and parcel is not None and parcel.remittance_id is not None:
            back = S.SETTLED
        note = f"退货未同意：{body}"
        fulfilment.move(order, S.RETURN_REQUESTED, back, (S.RETURN_REQUESTED,), actor, note, now)
    _reply(ticket, body, True, actor, now)


def receive_return(ticket: Ticket, staff: Staff, now: datetime) -> None:
    """The returned goods arrived: back in stock, the order is returned (refund next)."""
    if ticket.kind != K.RETURN or ticket.status != T.ACCEPTED:
        raise AftersalesError("只有已同意的退货才能入库。")
    order = ticket.order
    note = f"售后#{ticket.id} 退货入库"
    fulfilment.move(
        order,
        S.RETURN_REQUESTED,
        S.RETURNED,
        (S.RETURN_REQUESTED,),
        fulfilment.actor_of(staff),
        note,
        now,
    )
    orders.restock(order, deal_units=False)
    ticket.updated_at = now
    db.session.flush()


def refund(ticket: Ticket, cash_note: str, staff: Staff, now: datetime) -> Refund:
    """Give the money back for a returned order: to the payer's balance if paid online;
    otherwise record the cash refund (how and to whom, in `cash_note`). Closes the ticket."""
    if ticket.kind != K.RETURN:
        raise AftersalesError("只有退货才退款。")
    order = ticket.order
    if order.status != S.RETURNED:
        raise AftersalesError("退货还没入库，不能退款。")
    actor = fulfilment.actor_of(staff)
    cash = fulfilment.paid_online(order) is None
    cash_note = cash_note.strip()
    if cash and not cash_note:
        raise AftersalesError(
            "货到付款的订单请写明现金怎么退的（方式、账号或经手人）。", "cash_note"
        )
    note = f"售后#{ticket.id} " + (cash_note if cash else "退到账户余额")
    fulfilment.move(order, S.RETURNED, S.REFUNDED, (S.RETURNED,), actor, note, now)
    _set_status(ticket, (T.ACCEPTED,), T.CLOSED, now)
    if cash:
        money = Refund(
            order_id=order.id,
            ticket_id=ticket.id,
            method="cash",
            amount_fen=order.total_fen,
            note=cash_note[:120],
            at=now,
            actor=actor,
        )
        db.session.add(money)
        db.session.flush()
        notify.enqueue(order, "refunded", method="cash", amount_fen=order.total_fen)
    else:
        money = fulfilment.refund_if_paid(
            order, fulfilment.actor_of(staff), now, f"售后#{ticket.id}", ticket.id
        )
    _reply(ticket, f"已退款 {format_fen(money.amount_fen)}。", True, actor, now)
    return money


def complete_exchange(
    ticket: Ticket, carrier: str, tracking: str, staff: Staff, now: datetime
) -> Shipment:
    """The goods came back and a replacement leaves with its own waybill (SMS to the buyer).
    The replacement comes out of stock (refused when there is none): of the variant the buyer
    chose for its product's line, else of the line's own variant. The unit sent back is the
    faulty or unsuitable one, so it goes back to the seller, not onto the shelf. Closes the
    ticket."""
    if ticket.kind != K.EXCHANGE or ticket.status != T.ACCEPTED:
        raise AftersalesError("只有已同意的换货才能补发。")
    order = ticket.order
    number = fulfilment.check_waybill(order, carrier, tracking, collects_cash=False)
    _set_status(ticket, (T.ACCEPTED,), T.CLOSED, now)
    chosen = ticket.exchange_variant
    takes = sorted(  # lock order: ascending variant id
        (
            (chosen if chosen and chosen.product_id == item.product_id else None, item)
            for item in order.items
        ),
        key=lambda pair: pair[0].id if pair[0] else pair[1].variant_id,
    )
    stock.lock(variant.id if variant else item.variant_id for variant, item in takes)
    for variant, item in takes:
        taken = stock.take(variant.id if variant else item.variant_id, item.quantity)
        if not taken:
            what = f"{item.title} {variant.label if variant else item.variant_label}".strip()
            raise AftersalesError(f"{what} 没有库存了，不能换货，可以改为退货。")
    parcel = Shipment(
        order_id=order.id,
        kind="replacement",
        carrier=carrier,
        tracking_number=number,
        cod_fen=0,
        shipped_at=now,
        staff_id=staff.id,
        actor=fulfilment.actor_of(staff),
    )
    db.session.add(parcel)
    db.session.flush()
    chosen_label = {"variant": chosen.label} if chosen else {}  # else the lines' own
    notify.enqueue(
        order, "shipped", carrier=carrier, tracking=number, replacement=True, **chosen_label
    )
    which = f"（{chosen.label}）" if chosen else ""
    _reply(ticket, f"换货{which}已发出：{carrier} 运单号 {number}。", True, parcel.actor, now)
    return parcel
