"""pricing.discounts against a table of orders whose figures were worked out by hand, and
its refusals. Every amount in fen; see pricing's docstring for the order of the steps."""

import pytest

from support.members import GOLD, NOBODY, NORMAL, NOW, coupon, make_marketing
from wapshop.extensions import db
from wapshop.models import Product
from wapshop.services.members import coupons, pricing

# (lines [(product, fen)], shipping, phone, coupon, points) →
# ([(kind, fen)...], discount, total, points used, coupon used?)
TABLE = [
    # 1. nothing applies
    ([("P", 15000)], 1000, NORMAL, None, 0, [], 0, 16000, 0, False),
    # 2. 满300减50
    ([("P", 35000)], 1000, NORMAL, None, 0, [("threshold", 5000)], 5000, 31000, 0, False),
    # 3. 满减 + a stackable 10-yuan coupon
    ([("P", 35000)], 1000, NORMAL, "TEN10", 0,
     [("threshold", 5000), ("coupon", 1000)], 6000, 30000, 0, True),
    # 4. PCT20 is not stackable: 20% of 350 = 70, capped at 30 < 满减 50, so no coupon
    ([("P", 35000)], 1000, NORMAL, "PCT20", 0, [("threshold", 5000)], 5000, 31000, 0, False),
    # 5. PCT20 alone: 20% of 120.00 = 24.00
    ([("P", 12000)], 800, NORMAL, "pct20", 0, [("coupon", 2400)], 2400, 10400, 0, True),
    # 6. PCT20 covers category A only: 20% of P's 100.00, not Q's 60.00
    ([("P", 10000), ("Q", 6000)], 1000, NORMAL, "PCT20", 0,
     [("coupon", 2000)], 2000, 15000, 0, True),
    # 7. QONLY: 50 yuan on Q's 60.00
    ([("P", 10000), ("Q", 6000)], 1000, NORMAL, "QONLY", 0,
     [("coupon", 5000)], 5000, 12000, 0, True),
    # 8. 满500减100 (the larger), a coupon and 500 points
    ([("P", 60000)], 0, NORMAL, "TEN10", 500,
     [("threshold", 10000), ("coupon", 1000), ("points", 500)], 11500, 48500, 500, True),
    # 9. a 500-yuan coupon on 50.00 of goods stops at the goods: the shipping fee remains,
    #    and the points asked for find nothing left to take
    ([("P", 5000)], 1000, NORMAL, "BIG500", 1000, [("coupon", 5000)], 5000, 1000, 0, True),
    # 10. 金卡: 2% of 350.00 = 7.00, shipping 12.00 waived, 满减 by the subtotal, coupon
    ([("P", 35000)], 1200, GOLD, "TEN10", 0,
     [("member", 700), ("shipping", 1200), ("threshold", 5000), ("coupon", 1000)],
     7900, 28300, 0, True),
    # 11. 金卡 on 9.99: 2% = 19.98 → 19 fen (down); shipping waived, so 1 fen stays to pay
    ([("P", 999)], 1000, GOLD, "BIG500", 0,
     [("member", 19), ("shipping", 1000), ("coupon", 979)], 1998, 1, 0, True),
    # 12. a percentage rounds down to the fen: 20% of 123.45 = 24.69
    ([("P", 12345)], 0, NORMAL, "PCT20", 0, [("coupon", 2469)], 2469, 9876, 0, True),
    # 13. points only, a guest phone without any
    ([("Q", 8000)], 1000, NOBODY, None, 0, [], 0, 9000, 0, False),
    # 14. all 1,000 points of NORMAL on 80.00 + 10.00
    ([("Q", 8000)], 1000, NORMAL, None, 1000, [("points", 1000)], 1000, 8000, 1000, False),
]  # fmt: skip


@pytest.fixture
def shop_lines(app):
    with app.app_context():
        products = make_marketing()
        db.session.commit()
        yield {name: p.id for name, p in products.items()}


def priced(names, given, shipping, phone, code, points_to_use):
    lines = [pricing.line(db.session.get(Product, names[n]), fen) for n, fen in given]
    return pricing.discounts(lines, shipping, phone, code, points_to_use, NOW)


@pytest.mark.parametrize(
    "given, shipping, phone, code, spend, lines, discount, total, used, with_coupon", TABLE
)
def test_discounts_give_the_figures_worked_by_hand(
    shop_lines, given, shipping, phone, code, spend, lines, discount, total, used, with_coupon
):
    result = priced(shop_lines, given, shipping, phone, code, spend)
    assert [(d.kind, d.amount_fen) for d in result.lines] == lines
    assert result.discount_fen == discount
    assert result.total_fen == total
    assert result.goods_fen + result.shipping_fen - result.discount_fen == total
    assert result.points_used == used
    assert (result.coupon_id is not None) == with_coupon


def test_a_coupon_that_loses_to_the_threshold_discount_says_so(shop_lines):
    result = priced(shop_lines, [("P", 35000)], 1000, NORMAL, "PCT20", 0)
    assert [str(n) for n in result.notes] == ["优惠券不与满减同享，满减更划算，这次没有用券。"]


@pytest.mark.parametrize(
    "given, phone, code, spend, refusal, message",
    [
        ([("P", 15000)], NORMAL, None, 1001, pricing.PointsRefused, "积分不够：可用 1000 积分。"),
        ([("P", 15000)], NORMAL, None, -1, pricing.PointsRefused, "积分请填 0 或正整数。"),
        ([("P", 15000)], None, None, 10, pricing.PointsRefused, "请先登录再用积分。"),
        ([("P", 15000)], NORMAL, "NOPE", 0, coupons.CouponRefused, "没有这张优惠券，请核对券码。"),
        ([("P", 15000)], NORMAL, "x" * 10_000, 0, coupons.CouponRefused, "没有这张优惠券"),
        ([("P", 15000)], NORMAL, "TEN\x00", 0, coupons.CouponRefused, "没有这张优惠券"),
        ([("Q", 15000)], NORMAL, "PCT20", 0, coupons.CouponRefused, "不适用于这些商品"),
        ([("P", 8000)], NORMAL, "TEN10", 0, coupons.CouponRefused, "要满 ￥100.00 才能用"),
    ],
)
def test_discounts_refuse_what_the_buyer_may_not_have(
    shop_lines, given, phone, code, spend, refusal, message
):
    with pytest.raises(refusal) as refused:
        priced(shop_lines, given, 1000, phone, code, spend)
    assert message in str(refused.value.message)


def test_a_granted_coupon_is_only_its_holders(shop_lines):
    held = coupon("MINE", public=False)
    coupons.grant(held.id, [NORMAL])
    assert priced(shop_lines, [("P", 15000)], 0, NORMAL, "MINE", 0).coupon_id == held.id
    with pytest.raises(coupons.CouponRefused):
        priced(shop_lines, [("P", 15000)], 0, GOLD, "MINE", 0)


def test_a_phone_typed_but_not_proven_gets_only_public_codes_and_threshold_discounts(shop_lines):
    """GOLD's typed number brings neither its tier nor its points nor its coupons."""
    held = coupon("GOLDS", public=False)
    coupons.grant(held.id, [GOLD, NORMAL])
    lines = [pricing.line(db.session.get(Product, shop_lines["P"]), 35000)]
    typed = pricing.discounts(lines, 1200, GOLD, "TEN10", 0, NOW, proven=False)
    assert [(d.kind, d.amount_fen) for d in typed.lines] == [("threshold", 5000), ("coupon", 1000)]
    with pytest.raises(pricing.PointsRefused) as refused:
        pricing.discounts(lines, 1200, NORMAL, None, 100, NOW, proven=False)
    assert refused.value.status == 403
    with pytest.raises(coupons.CouponRefused, match="请先登录"):
        pricing.discounts(lines, 1200, NORMAL, "GOLDS", 0, NOW, proven=False)
