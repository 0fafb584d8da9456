"""Buyers' balances: a ledger of entries plus a running total changed only atomically."""

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from wapshop.extensions import db
from wapshop.models import Balance, BalanceEntry


class InsufficientBalance(Exception):
    pass


def amount(phone: str | None) -> int:
    if not phone:
        return 0
    return db.session.scalar(select(Balance.amount_fen).where(Balance.phone == phone)) or 0


def credit(phone: str, fen: int, kind: str, payment_id=None, order_id=None, note="") -> None:
    """Add to a balance (creating it) with its ledger entry. Flushes; the caller commits."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(Balance).values(phone=phone, amount_fen=fen)
    db.session.execute(
        upsert.on_conflict_do_update(
            index_elements=[Balance.phone], set_={"amount_fen": Balance.amount_fen + fen}
        )
    )
    _entry(phone, fen, kind, payment_id, order_id, note)


def debit(phone: str, fen: int, kind: str, payment_id=None, order_id=None, note="") -> None:
    """Take from a balance only if it covers the amount. Raises InsufficientBalance."""
    taken = db.session.execute(
        update(Balance)
        .where(Balance.phone == phone, Balance.amount_fen >= fen)
        .values(amount_fen=Balance.amount_fen - fen)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise InsufficientBalance(phone)
    _entry(phone, -fen, kind, payment_id, order_id, note)


def _entry(phone, fen, kind, payment_id, order_id, note) -> None:
    db.session.add(
        BalanceEntry(
            phone=phone,
            amount_fen=fen,
            kind=kind,
            payment_id=payment_id,
            order_id=order_id,
            note=note,
        )
    )
    db.session.flush()


def entries(phone: str, limit: int = 20) -> list[BalanceEntry]:
    return list(
        db.session.scalars(
            select(BalanceEntry)
            .where(BalanceEntry.phone == phone)
            .order_by(BalanceEntry.id.desc())
            .limit(limit)
        )
    )
