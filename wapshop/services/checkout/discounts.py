"""The members' discounts on a purchase: services/members/pricing priced over all its lines
and shipping, then split across the sellers' orders.

The split: a member's free shipping comes off each order's own shipping fee; every other
discount is shared pro rata on each order's goods (rounded down to the fen), the fen left
over going to the orders with the most goods first. No order's share exceeds its goods
(less 1 fen when it pays no shipping), so each order's total stays >= its shipping and > 0
on its own, as the schema's CHECK and a cancellation of one order of the group need. In the
rare case those per-order floors leave less room than the purchase-wide floor pricing used
(every goods fen discounted, one parcel shipping free), the last discounts (points, then the
coupon…) are trimmed by the difference, so the buyer sees and pays the figures placed."""

from dataclasses import replace
from datetime import datetime

from wapshop.extensions import db
from wapshop.models import Category
from wapshop.services.checkout.quotes import Totals
from wapshop.services.members import pricing
from wapshop.services.reference_cache import remembered


def price(bill: Totals, phone, proven: bool, code, points_to_use: int, now: datetime):
    """Price the discounts of `bill` (pricing.discounts: raises its refusals) and set each
    part's discount_fen. Returns the Priced, trimmed to what the split could place."""
    lines = [
        pricing.Line(q.product.id, category_ids(q.product.category_id), q.unit_price_fen * n)
        for part in bill.parts
        for q, n in part.lines
    ]
    priced = pricing.discounts(
        lines, bill.shipping_fen, phone, code or None, points_to_use, now, proven=proven
    )
    shipping_off = sum(d.amount_fen for d in priced.lines if d.kind == "shipping")
    shares = [part.shipping_fen if shipping_off else 0 for part in bill.parts]
    caps = [
        part.goods_fen - (0 if part.shipping_fen and not shipping_off else 1) for part in bill.parts
    ]
    goods_off = priced.discount_fen - shipping_off
    left = _share(goods_off, [p.goods_fen for p in bill.parts], caps, shares)
    if left:
        priced = _trim(priced, left)
    for part, fen in zip(bill.parts, shares, strict=True):
        part.discount_fen = fen
    return priced


def category_ids(category_id: int) -> tuple[int, ...]:
    """The category and its parent, as pricing.line names them; kept per worker."""
    return remembered(("category_ids", category_id), lambda: _category_ids(category_id))


def _category_ids(category_id: int) -> tuple[int, ...]:
    category = db.session.get(Category, category_id)
    return (category.id,) + ((category.parent_id,) if category.parent_id else ())


def _share(amount: int, weights: list[int], caps: list[int], shares: list[int]) -> int:
    """Add `amount` to `shares` pro rata on `weights`, each at most its cap; returns what
    could not be placed."""
    total = sum(weights)
    placed = [min(amount * w // total, max(c, 0)) for w, c in zip(weights, caps, strict=True)]
    left = amount - sum(placed)
    for i in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        more = min(left, max(caps[i], 0) - placed[i])
        placed[i] += more
        left -= more
    for i, fen in enumerate(placed):
        shares[i] += fen
    return left


def _trim(priced: pricing.Priced, fen: int) -> pricing.Priced:
    lines = list(priced.lines)
    points_used = priced.points_used
    coupon_id = priced.coupon_id
    for i in reversed(range(len(lines))):
        if fen <= 0 or lines[i].kind == "shipping":
            continue
        cut = min(fen, lines[i].amount_fen)
        fen -= cut
        lines[i] = replace(lines[i], amount_fen=lines[i].amount_fen - cut)
        if lines[i].kind == "points":
            points_used = lines[i].amount_fen
        if lines[i].kind == "coupon" and not lines[i].amount_fen:
            coupon_id = None
    lines = [d for d in lines if d.amount_fen]
    discount = sum(d.amount_fen for d in lines)
    return replace(
        priced,
        lines=tuple(lines),
        discount_fen=discount,
        total_fen=priced.goods_fen + priced.shipping_fen - discount,
        points_used=points_used,
        coupon_id=coupon_id,
    )
