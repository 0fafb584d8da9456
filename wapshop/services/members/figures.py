"""Marketing figures for the back office: discounts given per China day, each coupon's
redemption rate, and the points liability (what the shop owes in discounts)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from wapshop.clock import china_day, china_day_bounds
from wapshop.extensions import db
from wapshop.models import Coupon, CouponGrant, CouponUse, Order, PointsEntry
from wapshop.services.members import points
from wapshop.services.members.settlement import UNDONE


@dataclass(frozen=True)
class DiscountDay:
    day: date
    orders: int  # orders placed that day with a discount, not undone
    discount_fen: int
    coupon_uses: int
    points_redeemed: int


@dataclass(frozen=True)
class Redemption:
    coupon: Coupon
    granted: int
    used: int

    @property
    def rate(self) -> float | None:
        return self.used / self.granted if self.granted else None


@dataclass(frozen=True)
class Liability:
    points: int
    phones: int
    expiring_30_days: int

    @property
    def fen(self) -> int:  # 1 point = 1 fen off
        return self.points


def discounts_per_day(first: date, last: date) -> list[DiscountDay]:
    """One row per China day from `first` to `last`, days without discounts included."""
    start, _ = china_day_bounds(first)
    _, end = china_day_bounds(last)
    rows: dict[date, list[int]] = {}
    orders = db.session.execute(
        select(Order.created_at, Order.discount_fen).where(
            Order.created_at >= start, Order.created_at < end, Order.discount_fen > 0,
            Order.status.not_in(UNDONE),
        )
    ).all()  # fmt: skip
    for at, fen in orders:
        row = rows.setdefault(china_day(at), [0, 0, 0, 0])
        row[0] += 1
        row[1] += fen
    for (at,) in db.session.execute(
        select(CouponUse.created_at).where(
            CouponUse.created_at >= start, CouponUse.created_at < end,
            CouponUse.released_at.is_(None),
        )
    ).all():  # fmt: skip
        rows.setdefault(china_day(at), [0, 0, 0, 0])[2] += 1
    for at, spent in db.session.execute(
        select(PointsEntry.created_at, PointsEntry.points).where(
            PointsEntry.kind == "redeem", PointsEntry.created_at >= start,
            PointsEntry.created_at < end,
        )
    ).all():  # fmt: skip
        rows.setdefault(china_day(at), [0, 0, 0, 0])[3] += -spent
    days = []
    day = first
    while day <= last:
        days.append(DiscountDay(day, *rows.get(day, [0, 0, 0, 0])))
        day += timedelta(days=1)
    return days


def redemptions() -> list[Redemption]:
    """Per coupon: phones it was granted to (public coupons: phones that used it) and uses."""
    granted = dict(
        db.session.execute(
            select(CouponGrant.coupon_id, func.count(CouponGrant.id)).group_by(
                CouponGrant.coupon_id
            )
        ).all()
    )
    used = dict(
        db.session.execute(
            select(CouponUse.coupon_id, func.count(CouponUse.id))
            .where(CouponUse.released_at.is_(None))
            .group_by(CouponUse.coupon_id)
        ).all()
    )
    coupons = db.session.scalars(select(Coupon).order_by(Coupon.id.desc()).limit(200)).all()
    return [
        Redemption(c, granted.get(c.id, 0) if not c.public else used.get(c.id, 0),
                   used.get(c.id, 0))
        for c in coupons
    ]  # fmt: skip


def liability(now: datetime) -> Liability:
    outstanding, phones = points.liability(now)
    soon = db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
            PointsEntry.remaining > 0,
            PointsEntry.expires_at > now,
            PointsEntry.expires_at <= now + timedelta(days=30),
        )
    )
    return Liability(outstanding, phones, soon)
