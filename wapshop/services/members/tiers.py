"""会员等级: tiers by delivered-and-paid spend, with their perks. Admins set them (the
member_tiers table); until they do, config MEMBER_TIERS applies."""

from dataclasses import dataclass

from sqlalchemy import delete, select

from wapshop.extensions import db
from wapshop.models import MemberTier, PointsAccount
from wapshop.services import Refusal
from wapshop.services.reference_cache import changed, remembered


@dataclass(frozen=True)
class Tier:
    code: str
    name: str
    threshold_fen: int
    discount_bp: int
    free_shipping: bool
    priority: bool
    birthday_coupon_fen: int


@dataclass(frozen=True)
class Standing:
    """Where a phone stands: its tier, spend, and what the next tier needs (None at the top)."""

    tier: Tier
    spend_fen: int
    next_tier: Tier | None
    to_next_fen: int


class BadTiers(Refusal):
    status = 400


def tiers(defaults) -> list[Tier]:
    """The tiers, lowest first: the admins' rows (kept per worker: save_tiers moves the
    generation), else `defaults` (config MEMBER_TIERS)."""
    saved = remembered(("member_tiers",), _saved_tiers)
    if saved:
        return list(saved)
    return sorted((Tier(*row) for row in defaults), key=lambda t: t.threshold_fen)


def _saved_tiers() -> tuple[Tier, ...]:
    rows = db.session.scalars(select(MemberTier).order_by(MemberTier.threshold_fen)).all()
    return tuple(
        Tier(r.code, r.name, r.threshold_fen, r.discount_bp, r.free_shipping, r.priority,
             r.birthday_coupon_fen)
        for r in rows
    )  # fmt: skip


def tier_for(spend_fen: int, defaults) -> Standing:
    levels = tiers(defaults)
    reached = [t for t in levels if t.threshold_fen <= spend_fen] or levels[:1]
    current = reached[-1]
    higher = [t for t in levels if t.threshold_fen > spend_fen]
    upcoming = higher[0] if higher else None
    to_next = upcoming.threshold_fen - spend_fen if upcoming else 0
    return Standing(current, spend_fen, upcoming, to_next)


def standing(phone: str | None, defaults) -> Standing:
    spend = 0
    if phone:
        spend = (
            db.session.scalar(select(PointsAccount.spend_fen).where(PointsAccount.phone == phone))
            or 0
        )
    return tier_for(spend, defaults)


def save_tiers(new: list[Tier]) -> None:
    """Replace the tiers. The lowest must start at 0 and thresholds must rise. Raises
    BadTiers. Flushes; the caller commits (and audits)."""
    ordered = sorted(new, key=lambda t: t.threshold_fen)
    if not ordered or ordered[0].threshold_fen != 0:
        raise BadTiers("最低一级的门槛必须是 0 元。")
    if len({t.threshold_fen for t in ordered}) != len(ordered):
        raise BadTiers("各级门槛不能相同。")
    db.session.execute(delete(MemberTier))
    changed(db.session)  # every worker's kept tiers (services/reference_cache.py)
    for t in ordered:
        db.session.add(
            MemberTier(code=t.code, name=t.name, threshold_fen=t.threshold_fen,
                       discount_bp=t.discount_bp, free_shipping=t.free_shipping,
                       priority=t.priority, birthday_coupon_fen=t.birthday_coupon_fen)
        )  # fmt: skip
    db.session.flush()
