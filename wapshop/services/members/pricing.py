"""What an order's discounts come to, and taking them when it is placed.

`discounts(lines, shipping_fen, phone, coupon_code, points_to_use, now)` reads and never
writes. The fixed order, each step capped by what is left:

1. 会员折扣: the phone's tier takes its percentage off the goods (rounded down to the fen);
2. 会员包邮: a tier with free shipping takes the shipping fee off (a line of its own);
3. 满减: the running promotion taking the most off, by the goods' subtotal;
4. 优惠券: one coupon per order, on the goods it covers (its minimum counts those goods'
   subtotal); a coupon that is not stackable does not combine with 满减: the larger applies;
5. 积分: 100 points = 1 yuan, so a point is a fen; never more than the phone holds.

Floors: the goods are never discounted below zero and the total never falls below the
shipping fee the buyer still pays, nor below 1 fen (an order's total is positive).

`phone` is the buyer's phone. Only a proven one (logged in with an account) brings its
tier, points and granted coupons: for a phone merely typed into the order form the checkout
passes `proven=False`, and then only 满减 and public codes apply (the typed phone still counts
towards a code's per-phone cap).

`redeem(priced, order, now)` then takes the coupon use and spends the points inside the
order's transaction, all or nothing (lock order: the coupon row, then the points account):
it raises a Refusal when a cap or the balance no longer allows what was priced, and the
caller rolls the order back."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from wapshop.models import Order, Product
from wapshop.money import format_fen
from wapshop.services import Refusal
from wapshop.services.members import coupons, points, promotions, tiers


@dataclass(frozen=True)
class Line:
    """A line of the order as pricing sees it: the product, its categories (its own and its
    parent's), and what it costs (unit price × quantity)."""

    product_id: int
    category_ids: tuple[int, ...]
    amount_fen: int


@dataclass(frozen=True)
class DiscountLine:
    kind: str  # member, shipping, threshold, coupon, points
    label: str
    amount_fen: int


@dataclass(frozen=True)
class Priced:
    lines: tuple[DiscountLine, ...]
    goods_fen: int
    shipping_fen: int
    discount_fen: int
    total_fen: int
    points_used: int
    coupon_id: int | None
    phone: str | None
    notes: tuple[str, ...] = ()


class PointsRefused(Refusal):
    field = "points"
    status = 400


def line(product: Product, amount_fen: int) -> Line:
    """The pricing line for `amount_fen` of a product."""
    category = product.category
    ids = (category.id,) + ((category.parent_id,) if category.parent_id else ())
    return Line(product.id, ids, amount_fen)


def _tier_defaults(config: Mapping | None = None):
    return (config or current_app.config)["MEMBER_TIERS"]


def discounts(
    lines: Iterable[Line],
    shipping_fen: int,
    phone: str | None,
    coupon_code: str | None,
    points_to_use: int,
    now: datetime,
    *,
    proven: bool = True,
) -> Priced:
    """Price the discounts in the documented order. Raises coupons.CouponRefused for a coupon
    this phone may not use on these goods now, PointsRefused for points it does not have."""
    lines = list(lines)
    goods = sum(ln.amount_fen for ln in lines)
    if goods <= 0 or shipping_fen < 0:
        raise ValueError("an order has goods and a shipping fee of at least 0")
    if points_to_use < 0:
        raise PointsRefused(_l("积分请填 0 或正整数。"))
    found: list[DiscountLine] = []
    notes: list[str] = []
    standing = tiers.standing(phone if proven else None, _tier_defaults())
    tier = standing.tier

    member_off = goods * tier.discount_bp // 10_000 if phone and proven else 0
    if member_off:
        found.append(DiscountLine("member", _l("%(tier)s会员优惠", tier=tier.name), member_off))
    charged_shipping = shipping_fen
    if phone and proven and tier.free_shipping and shipping_fen:
        found.append(DiscountLine("shipping", _l("%(tier)s会员包邮", tier=tier.name), shipping_fen))
        charged_shipping = 0
    floor = 0 if charged_shipping else 1  # of the goods left to pay

    def room() -> int:
        taken = sum(d.amount_fen for d in found if d.kind != "shipping")
        return max(goods - taken - floor, 0)

    promotion = promotions.best(goods, now)
    threshold_off = min(promotion.off_fen, room()) if promotion else 0
    threshold = None
    if threshold_off:
        threshold = DiscountLine("threshold", _l("满减：%(name)s", name=promotion.name),
                                 threshold_off)  # fmt: skip
        found.append(threshold)

    coupon_id = None
    if coupon_code:
        coupon = coupons.usable(coupon_code, phone, now)
        if not proven and not coupon.public:
            raise coupons.CouponRefused(_l("请先登录再用这张优惠券。"), status=403)
        eligible = sum(ln.amount_fen for ln in lines
                       if coupons.covers(coupon, ln.product_id, ln.category_ids))  # fmt: skip
        if eligible == 0:
            raise coupons.CouponRefused(_l("这张优惠券不适用于这些商品。"))
        if eligible < coupon.min_goods_fen:
            raise coupons.CouponRefused(_l("这张优惠券要满 %(m)s 才能用。",
                                           m=format_fen(coupon.min_goods_fen)))  # fmt: skip
        coupon_off = coupons.off_for(coupon, eligible)
        if threshold is not None and not coupon.stackable:
            if coupon_off > threshold.amount_fen:
                found.remove(threshold)
                notes.append(_l("优惠券不与满减同享，已用更划算的优惠券。"))
            else:
                coupon_off = 0
                notes.append(_l("优惠券不与满减同享，满减更划算，这次没有用券。"))
        coupon_off = min(coupon_off, room())
        if coupon_off:
            found.append(DiscountLine("coupon", _l("优惠券：%(name)s", name=coupon.name),
                                      coupon_off))  # fmt: skip
            coupon_id = coupon.id

    points_used = 0
    if points_to_use:
        if not phone or not proven:
            raise PointsRefused(_l("请先登录再用积分。"), status=403)
        available = points.balance(phone, now)
        if points_to_use > available:
            raise PointsRefused(_l("积分不够：可用 %(n)d 积分。", n=available))
        points_used = min(points_to_use, room())
        if points_used:
            found.append(DiscountLine("points", _l("积分抵扣（%(n)d积分）", n=points_used),
                                      points_used))  # fmt: skip

    discount = sum(d.amount_fen for d in found)
    return Priced(
        lines=tuple(found), goods_fen=goods, shipping_fen=shipping_fen, discount_fen=discount,
        total_fen=goods + shipping_fen - discount, points_used=points_used,
        coupon_id=coupon_id, phone=phone, notes=tuple(notes),
    )  # fmt: skip


def redeem(priced: Priced, order: Order | Sequence[Order], now: datetime) -> None:
    """Take what `priced` promised, in the order's transaction: the coupon's use (within its
    caps) and the points (within the balance). Raises coupons.CouponRefused or
    points.NotEnoughPoints; the caller rolls the whole order back. Flushes; never commits.

    A purchase split into one order per seller passes its orders: their discounts together
    are the priced one; the coupon use and the points are booked on the first order."""
    orders = [order] if isinstance(order, Order) else list(order)
    if (
        not orders
        or any(o.id is None for o in orders)
        or (sum(o.discount_fen for o in orders) != priced.discount_fen)
    ):
        raise ValueError("redeem flushed orders carrying the priced discount")
    order = orders[0]
    if priced.coupon_id is not None:
        amount = sum(d.amount_fen for d in priced.lines if d.kind == "coupon")
        coupons.take(priced.coupon_id, priced.phone, order.id, amount, now)
    if priced.points_used:
        points.debit(priced.phone, priced.points_used, "redeem", now, order_id=order.id,
                     note=f"订单{order.number}")  # fmt: skip
