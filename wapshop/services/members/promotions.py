"""满减: "满300减50" for a window, scheduled like deals. An order gets the one running
promotion that takes the most off among those whose threshold its goods reach."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from wapshop.extensions import db
from wapshop.models import Promotion, Staff
from wapshop.services import Refusal, admin_audit
from wapshop.services.reference_cache import changed, remembered

AUDITED = ("name", "threshold_fen", "off_fen", "starts_at", "ends_at", "stopped")
STATE_LABELS = {"running": "进行中", "scheduled": "未开始", "ended": "已结束", "stopped": "已停止"}


class PromotionRefused(Refusal):
    status = 400


@dataclass(frozen=True)
class PromotionInput:
    name: str
    threshold_fen: int
    off_fen: int
    starts_at: datetime
    ends_at: datetime


def state(promotion: Promotion, now: datetime) -> str:
    if promotion.stopped:
        return "stopped"
    if now < promotion.starts_at:
        return "scheduled"
    return "running" if now < promotion.ends_at else "ended"


def create_promotion(data: PromotionInput, staff: Staff | None) -> Promotion:
    """Raises PromotionRefused when the amount is not below the threshold or the window is
    empty. Flushes and audits; the caller commits."""
    if data.off_fen >= data.threshold_fen:
        raise PromotionRefused("减的金额必须小于门槛。", field="off")
    if data.ends_at <= data.starts_at:
        raise PromotionRefused("结束时间必须晚于开始时间。", field="ends_at")
    promotion = Promotion(
        name=data.name, threshold_fen=data.threshold_fen, off_fen=data.off_fen,
        starts_at=data.starts_at, ends_at=data.ends_at,
    )  # fmt: skip
    db.session.add(promotion)
    db.session.flush()
    changed(db.session)  # every worker's kept promotions (services/reference_cache.py)
    admin_audit.record(staff, "create", "promotion", promotion.id, None,
                       admin_audit.snapshot(promotion, AUDITED))  # fmt: skip
    return promotion


def stop_promotion(promotion: Promotion, staff: Staff | None) -> None:
    before = admin_audit.snapshot(promotion, AUDITED)
    promotion.stopped = True
    db.session.flush()
    changed(db.session)
    admin_audit.record(staff, "stop", "promotion", promotion.id, before,
                       admin_audit.snapshot(promotion, AUDITED))  # fmt: skip


def get(promotion_id: int) -> Promotion | None:
    return db.session.get(Promotion, promotion_id)


def listing() -> list[Promotion]:
    return list(db.session.scalars(select(Promotion).order_by(Promotion.id.desc()).limit(200)))


@dataclass(frozen=True)
class Offer:
    """A promotion as orders read it (plain values, kept per worker between orders)."""

    id: int
    name: str
    threshold_fen: int
    off_fen: int
    starts_at: datetime
    ends_at: datetime


def best(goods_fen: int, now: datetime) -> Offer | None:
    """The running promotion taking the most off goods worth `goods_fen` (ties: the older)."""
    found = [
        p
        for p in remembered(("promotions",), _offers)
        if p.starts_at <= now < p.ends_at and p.threshold_fen <= goods_fen
    ]
    return min(found, key=lambda p: (-p.off_fen, p.id), default=None)


def _offers() -> tuple[Offer, ...]:
    """Every promotion not stopped, in any window: the clock picks the running ones."""
    rows = db.session.execute(
        select(
            Promotion.id, Promotion.name, Promotion.threshold_fen, Promotion.off_fen,
            Promotion.starts_at, Promotion.ends_at,
        ).where(Promotion.stopped.is_(False))
    )  # fmt: skip
    return tuple(Offer(*row) for row in rows)
