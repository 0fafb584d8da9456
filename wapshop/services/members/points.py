"""积分: a ledger of lots. Every change is one PointsEntry; an earning is a lot whose
`remaining` points are spent oldest-expiry first; the account's running total changes only by
conditional UPDATE, so it never goes negative however many sessions spend at once.

Lock order everywhere: the phone's points_accounts row first (an UPDATE), then its lots.
100 points = 1 yuan off, so one point is one fen. Points earned on China day D are valid
through the same day a year later (the "到期" day) and gone at 00:00 China time after it;
reading the balance leaves expired lots out (lazily), `expire` writes them off (the command,
and before every spend)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from wapshop.clock import china_day, from_china
from wapshop.extensions import db
from wapshop.models import PointsAccount, PointsEntry, Staff
from wapshop.services import Refusal, admin_audit

KIND_LABELS = {
    "order": "订单积分",
    "checkin": "签到",
    "share": "分享购买",
    "adjust": "人工调整",
    "redeem": "下单抵扣",
    "refund": "抵扣退回",
    "reverse": "退货扣回",
    "expire": "过期",
}


class NotEnoughPoints(Refusal):
    field = "points"


class AlreadyCheckedIn(Refusal):
    pass


@dataclass(frozen=True)
class Expiring:
    day: date  # the last day they are valid
    points: int


def expiry_of(earned_at: datetime, years: int = 1) -> datetime:
    """Naive UTC when points earned at `earned_at` (naive UTC) are gone: 00:00 China time
    after their anniversary day (29 February earns until 1 March)."""
    day = china_day(earned_at)
    try:
        last = day.replace(year=day.year + years)
    except ValueError:
        last = date(day.year + years, 3, 1)
    return from_china(datetime.combine(last + timedelta(days=1), time()))


def last_valid_day(expires_at: datetime) -> date:
    return china_day(expires_at) - timedelta(days=1)


def account(phone: str) -> PointsAccount | None:
    return db.session.get(PointsAccount, phone)


def balance(phone: str | None, now: datetime) -> int:
    """Points the phone may spend now: its total less lots already past their expiry that no
    run has written off yet. Reads only."""
    if not phone:
        return 0
    total = db.session.scalar(select(PointsAccount.points).where(PointsAccount.phone == phone))
    if not total:
        return 0
    return total - _expired_remaining(phone, now)


def _expired_remaining(phone: str, now: datetime) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
            PointsEntry.phone == phone,
            PointsEntry.remaining > 0,
            PointsEntry.expires_at <= now,
        )
    )


def next_expiring(phone: str, now: datetime) -> Expiring | None:
    """The next day on which some of the phone's points expire, and how many."""
    soonest = db.session.scalar(
        select(func.min(PointsEntry.expires_at)).where(
            PointsEntry.phone == phone, PointsEntry.remaining > 0, PointsEntry.expires_at > now
        )
    )
    if soonest is None:
        return None
    day = last_valid_day(soonest)
    points = db.session.scalar(
        select(func.sum(PointsEntry.remaining)).where(
            PointsEntry.phone == phone,
            PointsEntry.remaining > 0,
            PointsEntry.expires_at == soonest,
        )
    )
    return Expiring(day, points)


def credit(
    phone: str,
    points: int,
    kind: str,
    earned_at: datetime,
    *,
    order_id: int | None = None,
    day: date | None = None,
    staff_id: int | None = None,
    note: str = "",
    spend_fen: int = 0,
) -> PointsEntry:
    """Add a lot of `points` (expiring a year after `earned_at`) and, for an order, its spend
    towards the tier. Flushes; the caller commits. A repeated (order, kind) or check-in day
    raises IntegrityError: callers that may repeat run it in a savepoint."""
    entry = PointsEntry(
        phone=phone,
        points=points,
        kind=kind,
        remaining=points,
        expires_at=expiry_of(earned_at),
        day=day,
        order_id=order_id,
        staff_id=staff_id,
        note=note[:120],
        created_at=earned_at,
    )
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(PointsAccount).values(phone=phone, points=points, spend_fen=spend_fen)
    db.session.execute(
        upsert.on_conflict_do_update(
            index_elements=[PointsAccount.phone],
            set_={
                "points": PointsAccount.points + points,
                "spend_fen": PointsAccount.spend_fen + spend_fen,
            },
        )
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def debit(
    phone: str,
    points: int,
    kind: str,
    now: datetime,
    *,
    order_id: int | None = None,
    staff_id: int | None = None,
    note: str = "",
    first_lot: int | None = None,
) -> PointsEntry:
    """Spend `points` from the lots that expire first (the `first_lot` before any), after
    writing off what has expired. Raises NotEnoughPoints, changing nothing, when the balance
    does not cover them. Flushes; the caller commits."""
    expire(now, phone)
    taken = db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.phone == phone, PointsAccount.points >= points)
        .values(points=PointsAccount.points - points)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise NotEnoughPoints(_l("积分不够：可用 %(n)d 积分。", n=balance(phone, now)))
    _consume(phone, points, now, first_lot)
    entry = PointsEntry(
        phone=phone,
        points=-points,
        kind=kind,
        order_id=order_id,
        staff_id=staff_id,
        note=note[:120],
        created_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _consume(phone: str, points: int, now: datetime, first_lot: int | None) -> None:
    """Take `points` from the phone's live lots, soonest expiry first. The account row is
    already locked by this transaction, so no other spend moves these lots meanwhile."""
    lots = db.session.execute(
        select(PointsEntry.id, PointsEntry.remaining)
        .where(PointsEntry.phone == phone, PointsEntry.remaining > 0, PointsEntry.expires_at > now)
        .order_by(PointsEntry.expires_at, PointsEntry.id)
    ).all()
    lots.sort(key=lambda lot: lot.id != first_lot)
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(left, lot.remaining)
        db.session.execute(
            update(PointsEntry)
            .where(PointsEntry.id == lot.id, PointsEntry.remaining >= take)
            .values(remaining=PointsEntry.remaining - take)
            .execution_options(synchronize_session=False)
        )
        left -= take
    if left:
        raise RuntimeError(f"points lots of {phone} short by {left}")


def expire(now: datetime, phone: str | None = None) -> int:
    """Write off every lot past its expiry (one phone's, or everyone's): one "expire" entry
    per phone. Returns the points written off. Flushes; the caller commits."""
    stmt = select(PointsEntry.phone).where(PointsEntry.remaining > 0, PointsEntry.expires_at <= now)
    if phone is not None:
        stmt = stmt.where(PointsEntry.phone == phone)
    total = 0
    for owner in sorted(set(db.session.scalars(stmt))):
        total += _expire_phone(owner, now)
    return total


def _expire_phone(phone: str, now: datetime) -> int:
    # Lock the account first (the lock order), then read its expired lots afresh.
    db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.phone == phone)
        .values(points=PointsAccount.points)
        .execution_options(synchronize_session=False)
    )
    lots = db.session.execute(
        select(PointsEntry.id, PointsEntry.remaining).where(
            PointsEntry.phone == phone, PointsEntry.remaining > 0, PointsEntry.expires_at <= now
        )
    ).all()
    gone = 0
    for lot in lots:
        gone += (
            db.session.execute(
                update(PointsEntry)
                .where(PointsEntry.id == lot.id, PointsEntry.remaining == lot.remaining)
                .values(remaining=0)
                .execution_options(synchronize_session=False)
            ).rowcount
            * lot.remaining
        )
    if not gone:
        return 0
    db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.phone == phone, PointsAccount.points >= gone)
        .values(points=PointsAccount.points - gone)
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        PointsEntry(phone=phone, points=-gone, kind="expire", note="到期", created_at=now)
    )
    db.session.flush()
    return gone


def adjust(phone: str, delta: int, reason: str, staff: Staff | None, now: datetime) -> None:
    """A staff member adds (delta > 0, a lot valid a year) or takes (delta < 0, oldest
    first) points with a reason, audited. Raises NotEnoughPoints. The caller commits."""
    before = balance(phone, now)
    note = f"{reason}"[:120]
    staff_id = staff.id if staff is not None else None
    if delta > 0:
        credit(phone, delta, "adjust", now, staff_id=staff_id, note=note)
    else:
        debit(phone, -delta, "adjust", now, staff_id=staff_id, note=note)
    admin_audit.record(staff, "adjust", "points", phone, {"points": before},
                       {"points": balance(phone, now), "reason": note})  # fmt: skip


def check_in(phone: str, points: int, now: datetime) -> PointsEntry:
    """签到: `points` once per China day per phone. Raises AlreadyCheckedIn (a second tap, or
    another session the same day). Runs in a savepoint; the caller commits."""
    today = china_day(now)
    try:
        with db.session.begin_nested():
            return credit(phone, points, "checkin", now, day=today)
    except IntegrityError as exc:
        if _checked_in(phone, today):
            raise AlreadyCheckedIn(_l("今天已经签到过了，明天再来。")) from exc
        raise


def _checked_in(phone: str, day: date) -> bool:
    return (
        db.session.scalar(
            select(PointsEntry.id).where(
                PointsEntry.phone == phone, PointsEntry.kind == "checkin", PointsEntry.day == day
            )
        )
        is not None
    )


def checked_in_today(phone: str, now: datetime) -> bool:
    return _checked_in(phone, china_day(now))


def entries(phone: str, limit: int = 20) -> list[PointsEntry]:
    return list(
        db.session.scalars(
            select(PointsEntry)
            .where(PointsEntry.phone == phone)
            .order_by(PointsEntry.id.desc())
            .limit(limit)
        )
    )


def liability(now: datetime) -> tuple[int, int]:
    """Points outstanding and not yet expired, across all phones, and how many phones hold
    them. Each point is a fen the shop owes as a discount."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(PointsEntry.remaining), 0),
            func.count(func.distinct(PointsEntry.phone)),
        ).where(PointsEntry.remaining > 0, PointsEntry.expires_at > now)
    ).one()
    return row[0], row[1]
