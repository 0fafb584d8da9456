"""Members and marketing test data: a small shop with two categories, 满减 running, coupons
of every kind and three phones (normal with points, gold, none) at a fixed time."""

from datetime import datetime, timedelta

from factories import make_category, make_product
from wapshop.extensions import db
from wapshop.models import PointsAccount
from wapshop.services.members import coupons, points, promotions

NOW = datetime(2026, 6, 1, 4, 0)  # naive UTC: 12:00 China time
NORMAL, GOLD, NOBODY = "13900000001", "13900000002", "13900000003"
WINDOW = {"starts_at": NOW - timedelta(days=1), "ends_at": NOW + timedelta(days=30)}


def coupon(code: str, **overrides):
    values = dict(
        name=code, kind="fixed", amount_fen=1000, percent_bp=0, max_off_fen=None,
        min_goods_fen=0, category_ids=(), product_ids=(), public=True, stackable=True,
        total_cap=None, per_phone_cap=1, code=code, **WINDOW,
    )  # fmt: skip
    values.update(overrides)
    return coupons.create_coupon(coupons.CouponInput(**values), None)


def make_marketing() -> dict:
    """P (in category A's child A1) and Q (in B); 满300减50, 满500减100 running, 满200减30
    not yet; coupons TEN10 (10 yuan from 100, stackable), PCT20 (20% of category A, at most
    30 yuan, not stackable), QONLY (50 yuan on Q), BIG500 (500 yuan); NORMAL holds 1,000
    points, GOLD has spent 2,500 yuan (金卡: 2% off, free shipping)."""
    a = make_category(name="A")
    a1 = make_category(name="A1", parent_id=a.id)
    b = make_category(name="B")
    p = make_product(title="P", category_id=a1.id)
    q = make_product(title="Q", category_id=b.id)
    for name, threshold, off, start in (
        ("满300减50", 30000, 5000, NOW - timedelta(hours=1)),
        ("满500减100", 50000, 10000, NOW - timedelta(hours=1)),
        ("满200减30", 20000, 3000, NOW + timedelta(hours=1)),
    ):
        promotions.create_promotion(
            promotions.PromotionInput(name, threshold, off, start, NOW + timedelta(days=1)), None
        )
    coupon("TEN10", min_goods_fen=10000)
    coupon("PCT20", kind="percent", amount_fen=0, percent_bp=2000, max_off_fen=3000,
           category_ids=(a.id,), stackable=False)  # fmt: skip
    coupon("QONLY", amount_fen=5000, product_ids=(q.id,))
    coupon("BIG500", amount_fen=50000)
    points.credit(NORMAL, 1000, "adjust", NOW - timedelta(days=10))
    db.session.add(PointsAccount(phone=GOLD, points=0, spend_fen=250000))
    db.session.flush()
    return {"P": p, "Q": q}


def arrange_member(phone: str, now: datetime, shown: int = 20) -> None:
    """The fullest 我的 page: 金卡 one step from 钻石, points expiring soon, and `shown`
    coupons with the longest names and every condition."""
    points.credit(phone, 99_999, "adjust", now - timedelta(days=360))
    db.session.merge(PointsAccount(phone=phone, points=99_999, spend_fen=499_999))
    for n in range(shown):
        held = coupon(
            f"{phone}{n:09d}", name=("全场通用满减优惠券" * 5)[:40], public=False,
            min_goods_fen=9_999_999, kind="percent", amount_fen=0, percent_bp=1250,
            starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=300),
        )  # fmt: skip
        coupons.grant(held.id, [phone])
    db.session.flush()
