"""What shipping costs: the most specific active rule for the carrier and region (see
models/shipping.py), applied to the chargeable weight of a parcel's goods.

The rule: the deepest region wins (district > city > province > the whole country), and among
rules for the same region one naming the carrier wins over one for any carrier. The fee: the
first weight's fee, plus the extra fee for each started extra step; nothing when the goods
reach the rule's free-above amount or weigh nothing (全国包邮 goods weigh nothing here); plus the
rule's COD fee whenever the buyer pays cash on delivery (the courier's charge for collecting
cash, owed even on a parcel that ships free). No rule at all: the shop ships free."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select

from wapshop.extensions import db
from wapshop.models import Product, Region, ShippingRule
from wapshop.services import regions
from wapshop.services.reference_cache import remembered


@dataclass(frozen=True)
class Parcel:
    """One seller's goods to one address: (product, quantity) pairs and what they cost."""

    lines: tuple[tuple[Product, int], ...]
    goods_fen: int

    @property
    def chargeable_g(self) -> int:
        """Weight of the goods that do not ship free (全国包邮 goods weigh nothing here)."""
        return sum(max(p.weight_g, 0) * q for p, q in self.lines if not p.free_shipping)


@dataclass(frozen=True)
class Terms:
    """What fee() reads of a rule, as plain values (kept per worker between orders)."""

    first_weight_g: int
    first_fee_fen: int
    extra_weight_g: int
    extra_fee_fen: int
    free_above_fen: int | None
    cod_fee_fen: int

    @classmethod
    def of(cls, rule: ShippingRule | None) -> "Terms | None":
        if rule is None:
            return None
        return cls(
            rule.first_weight_g, rule.first_fee_fen, rule.extra_weight_g, rule.extra_fee_fen,
            rule.free_above_fen, rule.cod_fee_fen,
        )  # fmt: skip


def rule_for(region: Region | None, carrier: str | None) -> ShippingRule | None:
    """The most specific active rule: deepest region first (none = the whole country), then a
    rule naming the carrier over one for any carrier; the oldest of equals (the back office
    refuses a second active rule for the same carrier and region)."""
    codes = list(regions.path_codes(region)) if region is not None else []
    depth = {code: level for level, code in enumerate(codes, start=1)}
    candidates = db.session.scalars(
        select(ShippingRule).where(
            ShippingRule.active.is_(True),
            or_(ShippingRule.region_code.is_(None), ShippingRule.region_code.in_(codes)),
            or_(ShippingRule.carrier.is_(None), ShippingRule.carrier == carrier),
        )
    ).all()
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda r: (depth.get(r.region_code, 0), r.carrier is not None, -r.id),
    )


def terms_for(region: Region | None, carrier: str | None) -> Terms | None:
    """rule_for's terms, kept per worker (services/reference_cache.py)."""
    code = region.code if region is not None else None
    return remembered(("shipping_rule", code, carrier), lambda: Terms.of(rule_for(region, carrier)))


def fee_for_weight(
    rule: ShippingRule | Terms | None, weight_g: int, goods_fen: int, cash_on_delivery: bool
) -> int:
    """Fen to ship `weight_g` grams of chargeable goods worth `goods_fen` under `rule`."""
    if rule is None:
        return 0
    if weight_g <= 0 or (rule.free_above_fen is not None and goods_fen >= rule.free_above_fen):
        base = 0
    else:
        extra_steps = -(-max(weight_g - rule.first_weight_g, 0) // rule.extra_weight_g)
        base = rule.first_fee_fen + extra_steps * rule.extra_fee_fen
    return base + (rule.cod_fee_fen if cash_on_delivery else 0)


def fee(rule: ShippingRule | Terms | None, parcel: Parcel, cash_on_delivery: bool) -> int:
    """Fen to ship `parcel` under `rule` (no rule: the shop ships free)."""
    return fee_for_weight(rule, parcel.chargeable_g, parcel.goods_fen, cash_on_delivery)


def quote(
    region: Region | None, carrier: str | None, lines: Iterable[tuple[Product, int]],
    goods_fen: int, cash_on_delivery: bool,
) -> int:  # fmt: skip
    """Fen to ship these goods to `region` with `carrier` (None: a rule for any carrier)."""
    return fee(terms_for(region, carrier), Parcel(tuple(lines), goods_fen), cash_on_delivery)
