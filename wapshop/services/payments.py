"""Online payments around an order: starting them, taking processors' notifications exactly
once, expiring unpaid orders, switching to cash on delivery, reconciling statements."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update

from wapshop.extensions import db
from wapshop.models import Buyer, Order, OrderEvent, OrderStatus, Payment
from wapshop.payments import NotificationRefused, by_code, by_processor, signing
from wapshop.services import Refusal, balances, orders, regions

SUCCESS = "success"


class PaymentError(Refusal):
    """A buyer-facing refusal (the message says what to do)."""


def payer_phone(order: Order) -> str:
    """Whose balance: the account's phone for a logged-in buyer, else the order's phone."""
    if order.buyer_id:
        return db.session.get(Buyer, order.buyer_id).phone
    return order.phone


def new_payment(order: Order, method: str, processor: str, **fields) -> Payment:
    payment = Payment(
        order_id=order.id,
        method=method,
        processor=processor,
        reference="P" + secrets.token_hex(10),
        amount_fen=order.total_fen,
        **fields,
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def latest(order: Order) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc()).limit(1)
    )


def payable(order: Order) -> None:
    """Raise PaymentError unless the order is waiting for an online payment."""
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise PaymentError(_l("这个订单不需要付款了。"))
    pending = latest(order)
    if pending is not None and pending.status == "pending" and pending.method == "card":
        raise PaymentError(_l("充值卡正在处理，请稍后刷新查看结果。"))


def start(order: Order, method_code: str, **card) -> Payment:
    """A pending payment of the order by card or bank (flushes; the caller commits)."""
    payable(order)
    method = by_code(method_code)
    return new_payment(order, method.code, method.processor, **card)


@dataclass(frozen=True)
class Keys:
    """The processors' signing keys and our merchant id, from configuration."""

    merchant_id: str
    by_processor: dict[str, str]


def take_notification(processor: str, fields: dict, keys: Keys) -> str:
    """Verify and apply a processor's notification, exactly once however often it comes.

    Returns 'success'. Raises NotificationRefused (nothing changed). The caller commits, or
    rolls back on IntegrityError (a transaction id used twice), which is a refusal too."""
    method = by_processor(processor)
    if method is None:
        raise NotificationRefused("unknown processor")
    key = keys.by_processor.get(processor)
    if not key or not signing.verify(fields, key):
        raise NotificationRefused("bad signature")
    if fields.get("merchant_id") != keys.merchant_id:
        raise NotificationRefused("wrong merchant")
    payment = db.session.scalar(
        select(Payment).where(
            Payment.reference == fields.get("reference"), Payment.processor == processor
        )
    )
    if payment is None:
        raise NotificationRefused("unknown payment")
    method.check_notification(fields, payment)
    transaction = fields.get("transaction_id", "")
    if not transaction:
        raise NotificationRefused("no transaction id")
    if fields.get("status") == "success":
        return _succeed(payment, processor, transaction)
    if fields.get("status") == "failed":
        return _fail(payment, transaction, fields.get("reason", "failed")[:40])
    raise NotificationRefused("unknown status")


def _already(payment: Payment, transaction: str, status: str) -> bool:
    db.session.refresh(payment)
    return payment.status == status and payment.transaction_id == transaction


def _succeed(payment: Payment, processor: str, transaction: str) -> str:
    if _already(payment, transaction, "succeeded"):
        return SUCCESS
    order = payment.order
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise NotificationRefused("order is not awaiting payment (expired or paid otherwise)")
    moved = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            # "unreachable" only means we never heard the processor accept: it may have.
            or_(
                Payment.status == "pending",
                and_(Payment.status == "failed", Payment.failure == "unreachable"),
            ),
        )
        .values(status="succeeded", transaction_id=transaction, failure="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:  # a twin notification won the race
        if _already(payment, transaction, "succeeded"):
            return SUCCESS
        raise NotificationRefused("payment already settled differently")
    paid = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.AWAITING_PAYMENT)
        .values(status=OrderStatus.PAID)
        .execution_options(synchronize_session=False)
    ).rowcount
    if paid != 1:
        raise NotificationRefused("order is not awaiting payment")
    db.session.add(
        OrderEvent(
            order_id=order.id,
            actor=f"processor:{processor}",
            from_status=OrderStatus.AWAITING_PAYMENT,
            to_status=OrderStatus.PAID,
            note=transaction,
        )
    )
    remainder = (payment.card_face_fen or 0) - payment.amount_fen
    if remainder > 0:
        balances.credit(
            payer_phone(order), remainder, "card_remainder", payment.id, order.id, order.number
        )
    db.session.flush()
    return SUCCESS


def _fail(payment: Payment, transaction: str, reason: str) -> str:
    if payment.status != "pending":
        return SUCCESS  # a repeat, or news too late to matter: nothing to change
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == "pending")
        .values(status="failed", transaction_id=transaction, failure=reason)
        .execution_options(synchronize_session=False)
    )
    return SUCCESS


def switch_to_cod(order: Order, actor: str) -> None:
    """An unpaid online order becomes cash on delivery, where a carrier collects cash.
    Raises PaymentError. Flushes; the caller commits."""
    payable(order)
    offer = by_code("cod").availability(regions.get(order.region_code), None)
    if not offer.offered:
        raise PaymentError(offer.reason)
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.AWAITING_PAYMENT)
        .values(status=OrderStatus.PLACED, payment_method="cod", carrier=offer.carrier)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise PaymentError(_l("这个订单不需要付款了。"))
    db.session.add(
        OrderEvent(
            order_id=order.id,
            actor=actor,
            from_status=OrderStatus.AWAITING_PAYMENT,
            to_status=OrderStatus.PLACED,
            note="cod",
        )
    )
    db.session.flush()
    db.session.refresh(order)


def expire_unpaid(now: datetime, timeout: timedelta) -> list[str]:
    """Cancel online orders unpaid for `timeout`, releasing stock and deal units.
    Returns their numbers. Flushes; the caller commits. Two runs at once (two machines' cron)
    expire each order once: the cancel is conditional, and on PostgreSQL a run skips the
    orders the other has locked instead of waiting for them."""
    stale = db.session.scalars(
        select(Order)
        .where(Order.status == OrderStatus.AWAITING_PAYMENT, Order.created_at < now - timeout)
        .order_by(Order.id)
        .with_for_update(skip_locked=True, of=Order)
    ).all()
    expired = []
    for order in stale:
        try:
            orders.cancel(order, "system", "unpaid")
        except orders.NotCancellable:
            continue  # paid or switched in the meantime
        db.session.execute(
            update(Payment)
            .where(Payment.order_id == order.id, Payment.status == "pending")
            .values(status="expired")
        )
        expired.append(order.number)
    return expired


@dataclass(frozen=True)
class Mismatch:
    reference: str
    problem: str


def reconcile(processor: str, statement: list[dict]) -> list[Mismatch]:
    """Compare a processor's statement rows (reference, transaction_id, amount_fen, status)
    with the shop's payments of that processor; every difference is listed."""
    ours = {
        p.reference: p
        for p in db.session.scalars(select(Payment).where(Payment.processor == processor))
    }
    found: list[Mismatch] = []
    seen = set()
    for row in statement:
        ref = row.get("reference", "")
        seen.add(ref)
        payment = ours.get(ref)
        if payment is None:
            found.append(Mismatch(ref, "in the statement, not in the shop"))
            continue
        if str(payment.amount_fen) != row.get("amount_fen"):
            found.append(Mismatch(ref, f"amount {row.get('amount_fen')} ≠ {payment.amount_fen}"))
        theirs_paid = row.get("status") == "success"
        if theirs_paid != (payment.status == "succeeded"):
            found.append(Mismatch(ref, f"status {row.get('status')} ≠ {payment.status}"))
        elif theirs_paid and payment.transaction_id != row.get("transaction_id"):
            found.append(Mismatch(ref, "transaction id differs"))
    for ref, payment in ours.items():
        if ref not in seen and payment.status == "succeeded":
            found.append(Mismatch(ref, "paid in the shop, not in the statement"))
    return found
