"""SMS to buyers through an outbox: an order action writes the message in its own
transaction (so it is sent exactly when the action commits, and never holds the action up);
`flask sms send` claims and sends them later through the configured sender (wapshop/sms.py).

Placement is written by services/checkout.py and services/payments.py, which know nothing of
SMS: a mapper hook below queues the "order placed" message whenever an order event says an
order was placed (cash on delivery) or paid."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, event, inspect, insert, or_, select, update
from sqlalchemy.orm import object_session
from sqlalchemy.orm.util import identity_key

from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, OrderItem, OrderStatus, OutboxMessage
from wapshop.money import format_fen
from wapshop.services.pagination import Page, paginate

# A run that died after claiming a message leaves it "sending"; after this, another run
# takes it over.
CLAIM_TIMEOUT = timedelta(minutes=10)
# Candidates beyond `limit`, for when another run takes some between our read and our UPDATE.
CLAIM_SLACK = 20
# One SMS in Chinese (UCS-2); a longer one goes as parts of 67 characters each.
ONE_SMS = 70

KIND_LABELS = {
    "placed": "下单",
    "confirmed": "已确认",
    "shipped": "已发货",
    "delivered": "已签收",
    "please_reply": "请回复",
    "refunded": "已退款",
    "campaign": "营销",
}
STATUS_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}


@dataclass(frozen=True)
class Signature:
    """How the shop signs its SMS: 【shop】 first, 客服 hotline (if any) last."""

    shop: str
    hotline: str

    @classmethod
    def from_config(cls, config: Mapping) -> "Signature":
        return cls(config["SHOP_NAME"], config["HOTLINE"])


def signature() -> Signature:
    """The app's signature. (SMS are written in a flush hook, where nothing is passed in.)"""
    return Signature.from_config(current_app.config)


def variant_text(labels) -> str:
    """What an SMS says of an order's variants: the one label, or the first and 等."""
    labels = [label for label in labels if label]
    if not labels:
        return ""
    return labels[0] + ("等" if len(labels) > 1 else "")


def compose(kind: str, number: str, total_fen: int, cod: bool, variant: str = "", **extra) -> str:
    """The text of one SMS, at most about two messages long. The order's variant ("白色/42",
    see variant_text) follows the order number when the message still fits in one SMS (or
    did not fit before)."""
    plain = _compose(kind, number, total_fen, cod, "", **extra)
    if not variant:
        return plain
    named = _compose(kind, number, total_fen, cod, f"（{variant}）", **extra)
    return named if len(named) <= ONE_SMS or len(plain) > ONE_SMS else plain


def _compose(kind: str, number: str, total_fen: int, cod: bool, which: str, **extra) -> str:
    signed = signature()
    head, tail = f"【{signed.shop}】", f"客服{signed.hotline}" if signed.hotline else ""
    total = format_fen(total_fen)
    named = number + which  # the order and, in brackets, its variant
    if kind == "placed" and cod:
        call = "客服将致电确认。" if which else "客服将致电确认，请保持电话畅通。"
        body = f"订单{named}已收到，货到付款{total}。{call}"
    elif kind == "placed":
        body = f"订单{named}已付款{total}，我们会尽快安排发货。"
    elif kind == "confirmed":
        body = f"订单{named}已确认，将尽快发货。"
    elif kind == "shipped" and extra.get("replacement"):  # free of charge, whatever the order
        body = f"换货商品{which}已由{extra['carrier']}发出，运单号{extra['tracking']}。"
    elif kind == "shipped":
        pay = f"签收时请付款{total}。" if cod else ""
        body = f"订单{named}已由{extra['carrier']}发出，运单号{extra['tracking']}。{pay}"
    elif kind == "delivered":
        body = f"订单{named}已签收，谢谢惠顾！签收7天内可在订单页申请退换货。"
    elif kind == "please_reply":
        body = f"我们多次致电未能联系到您，订单{number}（{total}）等您确认，请回复本短信或回电。"
    elif kind == "refunded":
        where = "账户余额" if extra.get("method") == "balance" else "您"
        body = f"订单{number}的退款{format_fen(extra['amount_fen'])}已退给{where}。"
    else:
        raise ValueError(f"no SMS for {kind!r}")
    return head + body + tail


def enqueue(order: Order, kind: str, **extra) -> OutboxMessage:
    """Queue one SMS about the order in the current transaction (flushes; the caller
    commits, and a rollback takes the message with it). `variant` in `extra` overrides the
    order lines' (an exchange to another size)."""
    extra.setdefault("variant", variant_text(item.variant_label for item in order.items))
    cod = order.payment_method == "cod"
    message = OutboxMessage(
        order_id=order.id,
        phone=order.phone,
        kind=kind,
        body=compose(kind, order.number, order.total_fen, cod, **extra),
    )
    db.session.add(message)
    db.session.flush()
    return message


# Built once (its cache key with it): every order placed runs it.
_PLACED_SMS = insert(OutboxMessage).values(
    order_id=bindparam("order_id"),
    phone=bindparam("phone"),
    kind="placed",
    body=bindparam("body"),
    status="pending",
    attempts=0,
    last_error="",
    sent_via="",
    created_at=bindparam("created_at"),
)


def sends_placed(from_status: str | None, to_status: str) -> bool:
    """Whether an order's move gets the "placed" SMS: placed (cash on delivery) or paid
    online."""
    placed = to_status == OrderStatus.PLACED and from_status in (
        None,
        OrderStatus.AWAITING_PAYMENT,
    )
    return placed or to_status == OrderStatus.PAID


def placed_message(order, labels, at: datetime) -> tuple:
    """The "placed" SMS of `order` (anything with its id, number, phone, total_fen and
    payment_method) as a statement and its parameters, for the caller's transaction."""
    cod = order.payment_method == "cod"
    body = compose("placed", order.number, order.total_fen, cod, variant_text(labels))
    return _PLACED_SMS, {"order_id": order.id, "phone": order.phone, "body": body, "created_at": at}


@event.listens_for(OrderEvent, "after_insert")
def _queue_placed(_mapper, connection, row: OrderEvent) -> None:
    """An order event written through the ORM that places or pays the order (sends_placed)
    queues the "placed" SMS in the same flush: payments stay free of notification code. (The
    placing writes its first event and SMS itself, with its lines: services/checkout.)"""
    if not sends_placed(row.from_status, row.to_status):
        return
    order = _order_in_session(row)
    if order is None:
        order = connection.execute(
            select(
                Order.id, Order.number, Order.phone, Order.total_fen, Order.payment_method
            ).where(Order.id == row.order_id)
        ).one()
    labels = _labels_in_session(row)
    if labels is None:
        labels = connection.execute(
            select(OrderItem.variant_label)
            .where(OrderItem.order_id == row.order_id)
            .order_by(OrderItem.id)
        ).scalars()
    connection.execute(*placed_message(order, labels, row.at))


def _session_order(row: OrderEvent) -> Order | None:
    session = object_session(row)
    if session is None:
        return None
    return session.identity_map.get(identity_key(Order, row.order_id)) or next(
        (o for o in session.new if isinstance(o, Order) and o.id == row.order_id), None
    )


def _order_in_session(row: OrderEvent) -> Order | None:
    """The event's order when the session holds it with the figures the SMS needs loaded
    (an order written in the same flush as the event), else None (read it)."""
    order = _session_order(row)
    if (
        order is None
        or {"number", "phone", "total_fen", "payment_method"} & inspect(order).unloaded
    ):
        return None
    return order


def _labels_in_session(row: OrderEvent) -> list[str] | None:
    """The variant labels of the event's order when its lines are in the session (an order
    written with its lines and the event in one flush: the lines may follow the event), else None."""
    order = _session_order(row)
    if order is None or "items" in inspect(order).unloaded:
        return None
    return [item.variant_label for item in order.items]


def claim(now: datetime, limit: int, tried: Collection[int] = ()) -> list[int]:
    """Mark up to `limit` waiting messages as being sent by this run; returns their ids. A
    conditional UPDATE per message, so two runs (two machines' cron) never claim one message;
    on PostgreSQL the candidates are locked and skipped by the other run (SKIP LOCKED), so both
    find work instead of waiting on the same rows. The caller commits before sending, and
    claims just before sending: a claim older than CLAIM_TIMEOUT is taken over. Messages in
    `tried` (sent or failed earlier in this run) are left for the next run."""
    stale = now - CLAIM_TIMEOUT
    waiting = or_(
        OutboxMessage.status == "pending",
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale),
    )
    candidates = db.session.scalars(
        select(OutboxMessage.id)
        .where(waiting, OutboxMessage.id.not_in(list(tried)))
        .order_by(OutboxMessage.id)
        .limit(limit + CLAIM_SLACK)
        .with_for_update(skip_locked=True)
    ).all()
    claimed: list[int] = []
    for message_id in candidates:
        if len(claimed) == limit:
            break
        taken = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, waiting)
            .values(status="sending", claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken == 1:
            claimed.append(message_id)
    return claimed


def deliver(message_id: int, sender, now: datetime, max_attempts: int) -> bool:
    """Send one claimed message. Whatever the sender raises is recorded on the message, which
    waits for the next run until it has failed `max_attempts` times. The caller commits."""
    message = db.session.get(OutboxMessage, message_id)
    message.attempts += 1
    try:
        sender.send(message.phone, message.body)
    except Exception as exc:  # noqa: BLE001 - any failure of any gateway is recorded, not raised
        message.last_error = f"{type(exc).__name__}: {exc}"[:200]
        message.status = "failed" if message.attempts >= max_attempts else "pending"
        db.session.flush()
        return False
    message.status = "sent"
    message.sent_at = now
    message.sent_via = str(getattr(sender, "name", type(sender).__name__))[:40]
    message.last_error = ""
    db.session.flush()
    return True


def outbox(number: int, per_page: int, status: str | None = None, phone: str | None = None) -> Page:
    """The outbox, newest first, optionally by status or phone. Raises PageOutOfRange."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if phone:
        stmt = stmt.where(OutboxMessage.phone == phone)
    return paginate(stmt, number, per_page)


def of_order(order_id: int) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.order_id == order_id)
            .order_by(OutboxMessage.id)
        )
    )
