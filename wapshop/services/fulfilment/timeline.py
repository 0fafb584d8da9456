"""The order's whole story, for its staff page."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from wapshop.extensions import db
from wapshop.models import (
    CallAttempt,
    Order,
    OutboxMessage,
    Refund,
    Shipment,
    Ticket,
)
from wapshop.models.ops import CallOutcome
from wapshop.money import format_fen
from wapshop.services import notify, payments
from wapshop.services.fulfilment.rules import OUTCOME_LABELS, PAYMENT_LABELS, who


CORRECTION = "更正："  # an event that changed the order's facts, not its status (corrections)

# --- The order's whole story, for its staff page.


@dataclass(frozen=True)
class Entry:
    at: datetime
    who: str
    what: str
    note: str = ""
    from_status: str | None = None
    to_status: str | None = None


def event_note(note: str, from_status: str | None) -> str:
    """An event's note as staff read it: the placing event notes the way to pay as a code."""
    if from_status is None and note in PAYMENT_LABELS:
        return PAYMENT_LABELS[note]
    return note


def timeline(order: Order) -> list[Entry]:
    """Transitions, calls, parcels, after-sales, refunds and SMS in one list, oldest first."""
    entries = [
        Entry(e.at, who(e.actor), "订单更正", e.note.removeprefix(CORRECTION))
        if e.from_status == e.to_status and e.note.startswith(CORRECTION)
        else Entry(
            e.at,
            who(e.actor),
            "状态变更",
            event_note(e.note, e.from_status),
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
