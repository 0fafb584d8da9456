"""Payments and their attempts, the buyers' balance ledger, and the sandbox processors' books."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wapshop.extensions import db
from wapshop.models.base import utcnow


CARD_IN_FLIGHT = text("method = 'card' AND status = 'pending'")


class Payment(db.Model):
    """One attempt to pay an order one way. The processor's notification is the only truth."""

    __tablename__ = "payments"
    __table_args__ = (
        # However often a processor repeats itself, one transaction pays once.
        UniqueConstraint("processor", "transaction_id", name="uq_payments_processor_transaction"),
        CheckConstraint("amount_fen > 0", name="amount"),
        # One card in flight per order: a second submission fails here, before it is sent.
        Index(
            "uq_payments_card_in_flight",
            "order_id",
            unique=True,
            sqlite_where=CARD_IN_FLIGHT,
            postgresql_where=CARD_IN_FLIGHT,
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # card, bank, balance
    processor: Mapped[str] = mapped_column(String(30))
    # Our reference, sent to the processor and echoed in its notification.
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int]
    # pending → succeeded | failed | expired (order expired) | void (switched to COD);
    # credited: the processor took the money for an order that could no longer take it,
    # so it went to the payer's balance instead (a late success).
    status: Mapped[str] = mapped_column(String(12), default="pending")
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    failure: Mapped[str] = mapped_column(String(40), default="")
    # Prepaid cards: the operator, the face value, and only the serial's last four digits.
    card_operator: Mapped[str | None] = mapped_column(String(10))
    card_face_fen: Mapped[int | None]
    card_last4: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    order = relationship("Order")


class Balance(db.Model):
    """A buyer's balance, keyed on the normalised phone; changed only by conditional UPDATE."""

    __tablename__ = "balances"
    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount"),)
    phone: Mapped[str] = mapped_column(String(11), primary_key=True)
    amount_fen: Mapped[int] = mapped_column(default=0)


class BalanceEntry(db.Model):
    """The ledger behind Balance: every credit and debit with its reason."""

    __tablename__ = "balance_entries"
    __table_args__ = (
        # A payment credits a remainder (or debits an order) once, whatever repeats.
        UniqueConstraint("payment_id", "kind", name="uq_balance_entries_payment_kind"),
        Index("ix_balance_entries_phone_at", "phone", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11))
    amount_fen: Mapped[int]  # positive credit, negative debit
    kind: Mapped[str] = mapped_column(String(20))  # card_remainder, order_payment, refund
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    note: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxNotification(db.Model):
    """What a sandbox processor told (or will tell) the shop, kept so it can be replayed."""

    __tablename__ = "sandbox_notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    processor: Mapped[str] = mapped_column(String(30))
    url: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # JSON of the signed form fields
    deliveries: Mapped[int] = mapped_column(default=0)
    last_answer: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
