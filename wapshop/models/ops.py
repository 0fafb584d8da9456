"""The back office's books around an order: confirmation calls, parcels and courier
remittances, after-sales tickets, refunds, and the SMS outbox.

An order's status and its transitions stay in models/orders.py (every transition is an
OrderEvent); these tables hold what happens around them."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wapshop.extensions import db
from wapshop.models.base import utcnow
from wapshop.models.catalog import Variant
from wapshop.models.orders import Order


class CallOutcome(StrEnum):
    CONFIRMED = "confirmed"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    FAKE = "fake"


class CallTask(db.Model):
    """The confirmation call of one order, from its address check on: when to call next, how
    often nobody answered, who has it on their screen now."""

    __tablename__ = "call_tasks"
    __table_args__ = (Index("ix_call_tasks_queue", "parked_at", "call_by", "next_call_at"),)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)  # unanswered calls so far
    next_call_at: Mapped[datetime]
    # Urgency: the deal's end for deal orders (its buyers forget fastest), else a deadline
    # after the address check. The queue calls the earliest first.
    call_by: Mapped[datetime]
    # Set after CALL_ATTEMPTS unanswered calls, when the "please reply" SMS went out.
    parked_at: Mapped[datetime | None]
    # "Next order to call" hands a task to one agent for a few minutes, so two agents never
    # dial the same buyer.
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_until: Mapped[datetime | None]

    order: Mapped[Order] = relationship()


class CallAttempt(db.Model):
    """One call to the buyer and how it ended."""

    __tablename__ = "call_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(String(200), default="")


class Remittance(db.Model):
    """A courier's transfer of the cash it collected for a batch of parcels, less its fee."""

    __tablename__ = "remittances"
    __table_args__ = (
        UniqueConstraint("carrier", "reference", name="uq_remittances_carrier_reference"),
        CheckConstraint("collected_fen >= 0 AND fee_fen >= 0", name="amounts"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(40))  # the courier's statement number
    parcels: Mapped[int]
    collected_fen: Mapped[int]
    fee_fen: Mapped[int]  # the COD fee the courier kept
    at: Mapped[datetime] = mapped_column(default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[str] = mapped_column(String(40))

    @property
    def net_fen(self) -> int:
        return self.collected_fen - self.fee_fen


class Shipment(db.Model):
    """A parcel on its way: the order's own delivery, or an exchange's replacement."""

    __tablename__ = "shipments"
    __table_args__ = (
        # One waybill is one parcel: a number typed twice is a mistake, not a second parcel.
        UniqueConstraint("carrier", "tracking_number", name="uq_shipments_carrier_tracking"),
        CheckConstraint("cod_fen >= 0", name="cod"),
        Index("ix_shipments_unremitted", "carrier", "remittance_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="delivery")  # or "replacement"
    carrier: Mapped[str] = mapped_column(String(20))
    tracking_number: Mapped[str] = mapped_column(String(30))
    cod_fen: Mapped[int] = mapped_column(default=0)  # cash the courier collects at the door
    shipped_at: Mapped[datetime] = mapped_column(default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[str] = mapped_column(String(40))
    remittance_id: Mapped[int | None] = mapped_column(ForeignKey("remittances.id"), index=True)

    order: Mapped[Order] = relationship()
    remittance: Mapped[Remittance | None] = relationship()


class TicketKind(StrEnum):
    QUESTION = "question"
    COMPLAINT = "complaint"
    RETURN = "return"
    EXCHANGE = "exchange"


class TicketStatus(StrEnum):
    OPEN = "open"  # waiting for customer service
    ANSWERED = "answered"  # customer service replied
    ACCEPTED = "accepted"  # return or exchange agreed; waiting for the goods to come back
    REJECTED = "rejected"
    CLOSED = "closed"


class Ticket(db.Model):
    """A buyer's question, complaint, or return or exchange request about one order."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_updated", "status", "updated_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=TicketStatus.OPEN)
    body: Mapped[str] = mapped_column(Text)
    # A return moves the order to return_requested; a rejected one moves it back to this.
    order_status_before: Mapped[str | None] = mapped_column(String(20))
    # An exchange to another size or colour of a product on the order: the variant the
    # replacement is taken from (None: the same variant as the order line).
    exchange_variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship()
    exchange_variant: Mapped["Variant | None"] = relationship()
    replies: Mapped[list["TicketReply"]] = relationship(
        back_populates="ticket", order_by="TicketReply.id"
    )


class TicketReply(db.Model):
    """A message on a ticket, from customer service or from the buyer; the buyer sees all."""

    __tablename__ = "ticket_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_staff: Mapped[bool]
    actor: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="replies")


class Refund(db.Model):
    """Money given back for an order, once: to the buyer's balance or in cash."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    method: Mapped[str] = mapped_column(String(10))  # balance, cash
    amount_fen: Mapped[int]
    note: Mapped[str] = mapped_column(String(120), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))


class OutboxMessage(db.Model):
    """An SMS to a buyer, written in the transaction of the action it tells about and sent
    later by `flask sms send`, so a slow or broken SMS gateway never holds up an order."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_id", "status", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    phone: Mapped[str] = mapped_column(String(11))
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # sending, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    sent_via: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
