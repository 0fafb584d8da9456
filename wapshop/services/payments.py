"""Online payments around an order: starting them, taking processors' notifications exactly
once, expiring unpaid orders, switching to cash on delivery, reconciling statements."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from wapshop.extensions import db
from wapshop.models import BalanceEntry, Buyer, Order, OrderStatus, Payment, Region
from wapshop.payments import (
    Availability,
    NotificationRefused,
    PaymentMethod,
    Situation,
    cod,
    registry,
    signing,
)
from wapshop.payments.online import Settings
from wapshop.services import Refusal, balances, orders, regions

SUCCESS = "success"
# A payment the processor took the money for: it paid the order, or went to the balance.
SETTLED = ("succeeded", "credited")
LATE_PAYMENT = "late_payment"  # the balance ledger's kind for a credited late success


class PaymentError(Refusal):
    """A buyer-facing refusal (the message says what to do)."""


def situation(region: Region, buyer_phone: str | None) -> Situation:
    """What the ways to pay need to know to say whether they are offered: the region's cash
    carrier and the logged-in buyer's balance (a guest's typed phone proves nothing)."""
    return Situation(region, regions.cod_carrier(region), balances.amount(buyer_phone))


def offers(
    region: Region, buyer_phone: str | None, settings: Settings
) -> list[tuple[PaymentMethod, Availability]]:
    """Every way to pay switched on, with whether it is offered to this buyer and region."""
    found = situation(region, buyer_phone)
    return [(m, m.availability(found)) for m in registry.methods(settings)]


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


def by_reference(reference) -> Payment | None:
    if not isinstance(reference, str):
        return None
    return db.session.scalar(select(Payment).where(Payment.reference == reference))


def latest(order: Order) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc()).limit(1)
    )


CARD_IN_FLIGHT = _l("充值卡正在处理，请稍后刷新查看结果。")
CARD_TOO_SMALL = _l("卡面额小于订单金额，请换一张面额更大的卡，或改用其他付款方式。")


def payable(order: Order) -> None:
    """Raise PaymentError unless the order is waiting for an online payment."""
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise PaymentError(_l("这个订单不需要付款了。"))
    if db.session.scalar(
        select(
            exists().where(
                Payment.order_id == order.id, Payment.method == "card", Payment.status == "pending"
            )
        )
    ):
        raise PaymentError(CARD_IN_FLIGHT)


def start(order: Order, method_code: str, settings: Settings, **card) -> Payment:
    """A pending payment of the order by card or bank (flushes; the caller commits).

    Raises PaymentError, also when another card for the order is in flight: the database's
    one-card-in-flight index decides between simultaneous submissions, so at most one card
    ever reaches the processor, and when a card's face value is below the order's total
    (refused before anything is sent). After a PaymentError the caller rolls back."""
    if card.get("card_face_fen") is not None and card["card_face_fen"] < order.total_fen:
        raise PaymentError(CARD_TOO_SMALL)
    payable(order)
    method = registry.by_code(method_code, settings)
    if method is None or not method.online:
        raise PaymentError(_l("这种付款方式现在不能用，请换一种。"))
    try:
        return new_payment(order, method.code, method.processor, **card)
    except IntegrityError as twin:
        raise PaymentError(CARD_IN_FLIGHT) from twin


def accepted(payment: Payment, transaction: str) -> None:
    """The processor took the card under this transaction id (its notification may have
    come first and said the same)."""
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.transaction_id.is_(None))
        .values(transaction_id=transaction)
        .execution_options(synchronize_session=False)
    )


def unreachable(payment: Payment) -> None:
    """We never heard the processor accept the card. It may have: a success may still come
    (and is taken, see _succeed); meanwhile the buyer may try again."""
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == "pending")
        .values(status="failed", failure="unreachable")
        .execution_options(synchronize_session=False)
    )


def take_notification(processor: str, fields: dict, settings: Settings, now: float) -> str:
    """Verify and apply a processor's notification, exactly once however often it comes.

    Returns 'success'. Raises NotificationRefused (nothing changed). A notification whose
    timestamp is older than settings.notify_max_age is refused, unless it repeats what was
    already taken (then 'success': nothing to do, and the processor may stop retrying).
    The caller commits, or rolls back on IntegrityError (a transaction id used twice)."""
    method = registry.by_processor(processor, settings)
    if method is None:
        raise NotificationRefused("unknown processor")
    key = settings.keys.get(processor)
    if not key or not signing.verify(fields, key):
        raise NotificationRefused("bad signature")
    if fields.get("merchant_id") != settings.merchant_id:
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
    if not signing.fresh(fields, settings.notify_max_age, now):
        if payment.transaction_id == transaction and payment.status != "pending":
            return SUCCESS  # an old copy of news already taken
        raise NotificationRefused("stale notification")
    if fields.get("status") == "success":
        return _succeed(payment, processor, transaction)
    if fields.get("status") == "failed":
        return _fail(payment, transaction, fields.get("reason", "failed")[:40])
    raise NotificationRefused("unknown status")


def _succeed(payment: Payment, processor: str, transaction: str) -> str:
    """The processor has the money: it pays the order if the order still waits for it,
    else (expired, switched to COD, cancelled, paid another way) it goes to the payer's
    balance. Never refused for the order's sake: no success is ever dropped."""
    # The order's row first, as cancelling and switching lock it: twins queue here rather
    # than deadlock, and the loser then finds the payment settled. (No-op on SQLite, whose
    # first write below serialises.)
    order = db.session.scalar(
        select(Order)
        .where(Order.id == payment.order_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    claimed = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status.not_in(SETTLED))
        .values(status="succeeded", transaction_id=transaction, failure="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:  # a twin was here first
        db.session.refresh(payment)
        if payment.transaction_id == transaction:
            return SUCCESS
        raise NotificationRefused("payment already settled by another transaction")
    paid = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.AWAITING_PAYMENT)
        .values(status=OrderStatus.PAID)
        .execution_options(synchronize_session=False)
    ).rowcount
    payer = payer_phone(order)
    if paid != 1:
        _credit_late(payment, order, payer, transaction)
        return SUCCESS
    orders.record_event(
        order, f"processor:{processor}", OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID, transaction
    )
    remainder = (payment.card_face_fen or 0) - payment.amount_fen
    if remainder > 0:
        balances.credit(payer, remainder, "card_remainder", payment.id, order.id, order.number)
    db.session.flush()
    return SUCCESS


def _credit_late(payment: Payment, order: Order, payer: str, transaction: str) -> None:
    """All the money taken (a card's whole face value) goes to the payer's balance, once:
    the payment is claimed by one notification only, and the ledger has one entry of a
    kind per payment. Staff see it on the order's timeline."""
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id)
        .values(status="credited")
        .execution_options(synchronize_session=False)
    )
    taken = payment.card_face_fen or payment.amount_fen
    balances.credit(
        payer, taken, LATE_PAYMENT, payment.id, order.id, f"{order.number} {transaction}"
    )
    db.session.refresh(payment)


def late_credits(order: Order) -> list[BalanceEntry]:
    """Successes that came when the order could no longer take them, credited to a balance."""
    return list(
        db.session.scalars(
            select(BalanceEntry)
            .where(BalanceEntry.order_id == order.id, BalanceEntry.kind == LATE_PAYMENT)
            .order_by(BalanceEntry.id)
        )
    )


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
    """An unpaid online order becomes cash on delivery, where a carrier collects cash; its
    pending attempts become void. Raises PaymentError. Flushes; the caller commits."""
    payable(order)
    offer = cod.CashOnDelivery().availability(situation(regions.get(order.region_code), None))
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
    orders.record_event(order, actor, OrderStatus.AWAITING_PAYMENT, OrderStatus.PLACED, "cod")
    # Attempts still open are void: a success that comes anyway goes to the balance.
    db.session.execute(
        update(Payment)
        .where(Payment.order_id == order.id, Payment.status == "pending")
        .values(status="void")
        .execution_options(synchronize_session=False)
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
            orders.cancel(order, "system", "unpaid", now=now)
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
        if theirs_paid != (payment.status in SETTLED):
            found.append(Mismatch(ref, f"status {row.get('status')} ≠ {payment.status}"))
        elif theirs_paid and payment.transaction_id != row.get("transaction_id"):
            found.append(Mismatch(ref, "transaction id differs"))
    for ref, payment in ours.items():
        if ref not in seen and payment.status in SETTLED:
            found.append(Mismatch(ref, "paid in the shop, not in the statement"))
    return found
