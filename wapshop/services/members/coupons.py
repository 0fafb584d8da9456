"""优惠券: created by operators, granted to phones (one, or a segment by a campaign) or
public behind a code anyone can type. A use is taken in the order's transaction: the coupon's
`used` rises by a conditional UPDATE (the total cap), and the phone's nth use is a unique row
(the per-phone cap), so neither cap is passed however many sessions race."""

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from wapshop.extensions import db
from wapshop.models import Coupon, CouponGrant, CouponUse, Staff
from wapshop.services import Refusal, admin_audit

CODE = re.compile(r"[A-Z0-9]{4,20}")
KIND_LABELS = {"fixed": "满额立减", "percent": "折扣"}
AUDITED = ("code", "name", "kind", "amount_fen", "percent_bp", "min_goods_fen", "total_cap",
           "per_phone_cap", "public", "stackable", "stopped")  # fmt: skip


class CouponRefused(Refusal):
    field = "coupon"


@dataclass(frozen=True)
class CouponInput:
    name: str
    kind: str  # fixed, percent
    amount_fen: int
    percent_bp: int
    max_off_fen: int | None
    min_goods_fen: int
    starts_at: datetime
    ends_at: datetime
    category_ids: tuple[int, ...]
    product_ids: tuple[int, ...]
    public: bool
    stackable: bool
    total_cap: int | None
    per_phone_cap: int
    code: str = ""


def normalise_code(text: str | None) -> str:
    return (text or "").strip().upper()


def create_coupon(data: CouponInput, staff: Staff | None) -> Coupon:
    """A new coupon (a random code when none is given). Raises CouponRefused on a taken or
    malformed code or an empty window. Flushes and audits; the caller commits."""
    code = normalise_code(data.code) or secrets.token_hex(4).upper()
    if not CODE.fullmatch(code):
        raise CouponRefused("券码只能是 4-20 位字母或数字。", field="code", status=400)
    if data.ends_at <= data.starts_at:
        raise CouponRefused("结束时间必须晚于开始时间。", field="ends_at", status=400)
    if db.session.scalar(select(Coupon.id).where(Coupon.code == code)) is not None:
        raise CouponRefused("这个券码已经有了。", field="code")
    coupon = Coupon(
        code=code, name=data.name, kind=data.kind, amount_fen=data.amount_fen,
        percent_bp=data.percent_bp, max_off_fen=data.max_off_fen,
        min_goods_fen=data.min_goods_fen, starts_at=data.starts_at, ends_at=data.ends_at,
        category_ids_json=json.dumps(sorted(set(data.category_ids))),
        product_ids_json=json.dumps(sorted(set(data.product_ids))), public=data.public,
        stackable=data.stackable, total_cap=data.total_cap, per_phone_cap=data.per_phone_cap,
    )  # fmt: skip
    db.session.add(coupon)
    db.session.flush()
    admin_audit.record(staff, "create", "coupon", coupon.id, None,
                       admin_audit.snapshot(coupon, AUDITED))  # fmt: skip
    return coupon


def stop_coupon(coupon: Coupon, staff: Staff | None) -> None:
    before = admin_audit.snapshot(coupon, AUDITED)
    coupon.stopped = True
    db.session.flush()
    admin_audit.record(staff, "stop", "coupon", coupon.id, before,
                       admin_audit.snapshot(coupon, AUDITED))  # fmt: skip


def get(coupon_id: int) -> Coupon | None:
    return db.session.get(Coupon, coupon_id)


def listing() -> list[Coupon]:
    return list(db.session.scalars(select(Coupon).order_by(Coupon.id.desc()).limit(200)))


def grant(coupon_id: int, phones, campaign_id: int | None = None) -> int:
    """Give the coupon to these phones (those holding it already are skipped). Returns how
    many got it. Flushes; the caller commits."""
    held = set(
        db.session.scalars(
            select(CouponGrant.phone).where(
                CouponGrant.coupon_id == coupon_id, CouponGrant.phone.in_(list(phones))
            )
        )
    )
    new = sorted(set(phones) - held)
    db.session.add_all(
        CouponGrant(coupon_id=coupon_id, phone=p, campaign_id=campaign_id) for p in new
    )
    db.session.flush()
    return len(new)


def uses_of(coupon_id: int, phone: str) -> int:
    return db.session.scalar(
        select(func.count(CouponUse.id)).where(
            CouponUse.coupon_id == coupon_id, CouponUse.phone == phone, CouponUse.nth.is_not(None)
        )
    )


def held(phone: str, now: datetime) -> list[Coupon]:
    """Coupons granted to the phone that it may still use now, soonest to end first."""
    coupons = db.session.scalars(
        select(Coupon)
        .join(CouponGrant, CouponGrant.coupon_id == Coupon.id)
        .where(
            CouponGrant.phone == phone,
            Coupon.stopped.is_(False),
            Coupon.starts_at <= now,
            Coupon.ends_at > now,
        )
        .order_by(Coupon.ends_at, Coupon.id)
    ).all()
    return [c for c in coupons if uses_of(c.id, phone) < c.per_phone_cap and not _all_gone(c)]


def _all_gone(coupon: Coupon) -> bool:
    return coupon.total_cap is not None and coupon.used >= coupon.total_cap


def usable(code: str | None, phone: str | None, now: datetime) -> Coupon:
    """The coupon behind a typed or picked code, if this phone may use it now. Raises
    CouponRefused saying why not. Reads only."""
    code = normalise_code(code)
    coupon = None
    if CODE.fullmatch(code):  # anything else (NUL, 10 KB…) is no code of ours
        coupon = db.session.scalar(select(Coupon).where(Coupon.code == code))
    if coupon is None or coupon.stopped:
        raise CouponRefused(_l("没有这张优惠券，请核对券码。"), status=404)
    if not phone:
        raise CouponRefused(_l("请先填手机号再用优惠券。"), status=400)
    if (
        not coupon.public
        and db.session.scalar(
            select(CouponGrant.id).where(
                CouponGrant.coupon_id == coupon.id, CouponGrant.phone == phone
            )
        )
        is None
    ):
        raise CouponRefused(_l("没有这张优惠券，请核对券码。"), status=404)
    if not coupon.starts_at <= now < coupon.ends_at:
        raise CouponRefused(_l("这张优惠券不在有效期内。"))
    if _all_gone(coupon):
        raise CouponRefused(_l("这张优惠券已被领完。"))
    if uses_of(coupon.id, phone) >= coupon.per_phone_cap:
        raise CouponRefused(_l("这张优惠券您已经用过了。"))
    return coupon


def covers(coupon: Coupon, product_id: int, category_ids) -> bool:
    """Whether the coupon applies to a product (in these categories: its own and its parent)."""
    products, categories = coupon.product_ids, coupon.category_ids
    if not products and not categories:
        return True
    return product_id in products or any(c in categories for c in category_ids)


def off_for(coupon: Coupon, eligible_fen: int) -> int:
    """What the coupon takes off `eligible_fen` of goods it covers (before any floor)."""
    if coupon.kind == "fixed":
        return min(coupon.amount_fen, eligible_fen)
    off = eligible_fen * coupon.percent_bp // 10_000
    return min(off, coupon.max_off_fen) if coupon.max_off_fen is not None else off


def take(coupon_id: int, phone: str, order_id: int, amount_fen: int, now: datetime) -> CouponUse:
    """Record a use on the order: within the total cap (conditional UPDATE, which also locks
    the coupon row, so the count below is this phone's latest) and the per-phone cap (the
    unique nth). Raises CouponRefused, changing nothing. Flushes; the caller commits."""
    taken = db.session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon_id,
            Coupon.stopped.is_(False),
            Coupon.starts_at <= now,
            Coupon.ends_at > now,
            (Coupon.total_cap.is_(None)) | (Coupon.used < Coupon.total_cap),
        )
        .values(used=Coupon.used + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise CouponRefused(_l("这张优惠券刚被领完或已失效。"))
    cap = db.session.scalar(select(Coupon.per_phone_cap).where(Coupon.id == coupon_id))
    nth = uses_of(coupon_id, phone) + 1
    if nth > cap:
        raise CouponRefused(_l("这张优惠券您已经用过了。"))
    use = CouponUse(coupon_id=coupon_id, phone=phone, nth=nth, order_id=order_id,
                    amount_fen=amount_fen, created_at=now)  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(use)
    except IntegrityError:
        raise CouponRefused(_l("这张优惠券您已经用过了。")) from None
    return use


def release(order_id: int, now: datetime) -> bool:
    """Give back the coupon an order used (it was cancelled, refused or returned): the use
    no longer counts against either cap. Once; returns whether it released one."""
    use = db.session.scalar(
        select(CouponUse).where(CouponUse.order_id == order_id, CouponUse.released_at.is_(None))
    )
    if use is None:
        return False
    gone = db.session.execute(
        update(CouponUse)
        .where(CouponUse.id == use.id, CouponUse.released_at.is_(None))
        .values(released_at=now, nth=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if gone:
        db.session.execute(
            update(Coupon)
            .where(Coupon.id == use.coupon_id, Coupon.used > 0)
            .values(used=Coupon.used - 1)
            .execution_options(synchronize_session=False)
        )
    db.session.expire(use)
    return bool(gone)
