"""Shipping fee rules in the back office: list, add, change, deactivate (every change audited),
find a region by name, preview what a parcel costs by each carrier, and the demo's table.

Every function adds or updates and flushes; the caller commits."""

from dataclasses import dataclass

from sqlalchemy import select

from wapshop.extensions import db
from wapshop.models import Region, ShippingRule, Staff
from wapshop.services import NotFound, Refusal, addresses, admin_audit, regions
from wapshop.services.fulfilment import CARRIERS
from wapshop.services.shipping_fees import fee_for_weight, rule_for

AUDITED = (
    "carrier",
    "region_code",
    "first_weight_g",
    "first_fee_fen",
    "extra_weight_g",
    "extra_fee_fen",
    "free_above_fen",
    "cod_fee_fen",
    "active",
)
MAX_WEIGHT_G = 100_000  # 100 kg: a step or first weight above that is a typo
MAX_FEE_FEN = 100_000  # 1,000 yuan per parcel step
MAX_FREE_ABOVE_FEN = 100_000_000  # 1,000,000 yuan
ANY_CARRIER = "任意快递"
WHOLE_COUNTRY = "全国"


class RuleError(Refusal):
    """A refusal of a rule; `field` names the form field it belongs to."""

    status = 422


@dataclass(frozen=True)
class RuleInput:
    carrier: str | None  # None: any carrier
    region_code: str | None  # None: the whole country
    first_weight_g: int
    first_fee_fen: int
    extra_weight_g: int
    extra_fee_fen: int
    free_above_fen: int | None
    cod_fee_fen: int


def get(rule_id: int) -> ShippingRule:
    found = db.session.get(ShippingRule, rule_id)
    if found is None:
        raise NotFound("没有这条运费规则。")
    return found


@dataclass(frozen=True)
class Listed:
    rule: ShippingRule
    region_name: str  # 全国 or the region's full name
    carrier_name: str  # 任意快递 or the carrier


def listing() -> list[Listed]:
    """Active rules first, each group from the whole country down to districts, by carrier."""
    rules = db.session.scalars(select(ShippingRule)).all()
    rows = [Listed(r, region_label(r.region_code), r.carrier or ANY_CARRIER) for r in rules]
    return sorted(
        rows,
        key=lambda x: (
            not x.rule.active,
            len((x.rule.region_code or "").rstrip("0")),
            x.rule.region_code or "",
            x.rule.carrier or "",
            x.rule.id,
        ),
    )


def region_label(code: str | None) -> str:
    if code is None:
        return WHOLE_COUNTRY
    region = regions.get(code)
    return regions.full_name(region) if region is not None else code


def create_rule(data: RuleInput, actor: Staff | None) -> ShippingRule:
    """Add an active rule. Raises RuleError before writing anything."""
    _check(data, None)
    rule = ShippingRule(**_values(data), active=True)
    db.session.add(rule)
    db.session.flush()
    admin_audit.record(actor, "create", "shipping_rule", rule.id, None, _snapshot(rule))
    return rule


def update_rule(rule: ShippingRule, data: RuleInput, actor: Staff | None) -> None:
    """Change a rule's carrier, region or amounts. Raises RuleError before writing anything.
    Orders already placed keep the fee they were quoted (Order.shipping_fen)."""
    _check(data, rule)
    before = _snapshot(rule)
    for name, value in _values(data).items():
        setattr(rule, name, value)
    db.session.flush()
    admin_audit.record(actor, "update", "shipping_rule", rule.id, before, _snapshot(rule))


def set_active(rule: ShippingRule, active: bool, actor: Staff | None) -> None:
    """Deactivate (or reactivate) a rule; doing it twice changes nothing and logs nothing.
    Reactivating is refused while another active rule covers the same carrier and region."""
    if rule.active == active:
        return
    if active:
        _refuse_duplicate(rule.carrier, rule.region_code, rule.id)
    before = _snapshot(rule)
    rule.active = active
    db.session.flush()
    action = "activate" if active else "deactivate"
    admin_audit.record(actor, action, "shipping_rule", rule.id, before, _snapshot(rule))


def _snapshot(rule: ShippingRule) -> dict:
    return admin_audit.snapshot(rule, AUDITED)


def _values(data: RuleInput) -> dict:
    return {
        "carrier": data.carrier,
        "region_code": data.region_code,
        "first_weight_g": data.first_weight_g,
        "first_fee_fen": data.first_fee_fen,
        "extra_weight_g": data.extra_weight_g,
        "extra_fee_fen": data.extra_fee_fen,
        "free_above_fen": data.free_above_fen,
        "cod_fee_fen": data.cod_fee_fen,
    }


def _check(data: RuleInput, rule: ShippingRule | None) -> None:
    """The rules a rule must meet (the form checked the shapes); raises RuleError."""
    if data.carrier is not None and data.carrier not in CARRIERS:
        raise RuleError(f"没有这家快递：{data.carrier}。", "carrier")
    if data.region_code is not None and regions.get(data.region_code) is None:
        raise RuleError("没有这个地区，请从搜索结果里选择。", "region_query")
    for name, value in (("first_weight_g", data.first_weight_g), ("extra_weight_g", data.extra_weight_g)):  # fmt: skip
        if not 0 < value <= MAX_WEIGHT_G:
            raise RuleError(f"重量 1 到 {MAX_WEIGHT_G} 克。", name)
    for name, value in (("first_fee", data.first_fee_fen), ("extra_fee", data.extra_fee_fen), ("cod_fee", data.cod_fee_fen)):  # fmt: skip
        if not 0 <= value <= MAX_FEE_FEN:
            raise RuleError(f"金额 0 到 {MAX_FEE_FEN // 100} 元。", name)
    if data.free_above_fen is not None and not 0 < data.free_above_fen <= MAX_FREE_ABOVE_FEN:
        raise RuleError("包邮门槛须大于 0 元、不超过 1000000 元；不设门槛请留空。", "free_above")
    if rule is None or rule.active:
        _refuse_duplicate(data.carrier, data.region_code, rule.id if rule is not None else None)


def _refuse_duplicate(carrier: str | None, region_code: str | None, own_id: int | None) -> None:
    other = db.session.scalar(
        select(ShippingRule.id).where(
            ShippingRule.active.is_(True),
            ShippingRule.carrier.is_(None) if carrier is None else ShippingRule.carrier == carrier,
            ShippingRule.region_code.is_(None)
            if region_code is None
            else ShippingRule.region_code == region_code,
            ShippingRule.id != (own_id if own_id is not None else -1),
        )
    )
    if other is not None:
        raise RuleError(
            f"{region_label(region_code)}（{carrier or ANY_CARRIER}）已有规则 #{other}，"
            "请修改那一条或先停用。",
            "region_query",
        )


# --- Finding a region, and the preview


def find_regions(text: str, limit: int = 20) -> list[tuple[str, str]]:
    """(code, full name) of regions whose name contains `text`, provinces before cities before
    districts; empty for empty or over-long text."""
    text = (text or "").strip()
    if not text or len(text) > 20 or "\x00" in text:
        return []
    found = db.session.scalars(
        select(Region)
        .where(Region.name.contains(text, autoescape=True))
        .order_by(Region.level, Region.code)
        .limit(limit)
    ).all()
    return [(r.code, regions.full_name(r)) for r in found]


class RegionChoice(RuleError):
    """The region text fits several regions: the form lists them to pick one."""

    def __init__(self, message: str, candidates: list[tuple[str, str]]):
        super().__init__(message, "region_query")
        self.candidates = candidates


def choose_region(code: str | None, text: str | None) -> str | None:
    """The region a rule is for: a code picked from a list, else the one region the text names
    (its full name, an address the address parser reads, or a part of one name), else None
    for empty text or 全国. Raises RuleError
    when nothing fits and RegionChoice when several do."""
    if code:
        if regions.get(code) is None:
            raise RuleError("没有这个地区，请从搜索结果里选择。", "region_query")
        return code
    text = (text or "").strip()
    if text in ("", WHOLE_COUNTRY):
        return None
    named = _by_full_name(text) or addresses.parse(text).region
    if named is not None:
        return named.code
    found = find_regions(text)
    if len(found) == 1:
        return found[0][0]
    if not found:
        raise RuleError(f"没有找到“{text[:20]}”，请换个写法，例如 深圳 或 南山区。", "region_query")
    raise RegionChoice(f"有 {len(found)} 个地区符合“{text}”，请选择一个。", found)


def _by_full_name(text: str) -> Region | None:
    """The region whose full name (as region_label writes it) is exactly `text`."""
    region, rest = None, text
    while rest:
        step = next(
            (
                r
                for r in regions.children(region.code if region else None)
                if rest.startswith(r.name)
            ),
            None,
        )
        if step is None:
            # A municipality's city repeats its name (上海市 › 上海市): step down silently.
            step = (
                next((r for r in regions.children(region.code) if r.name == region.name), None)
                if region is not None
                else None
            )
            if step is None:
                return None
        else:
            rest = rest[len(step.name) :]
        region = step
    return region


@dataclass(frozen=True)
class PreviewLine:
    carrier: str
    rule: ShippingRule | None
    rule_region: str  # where the rule that applies is set
    fee_fen: int  # paying online
    cod_fee_fen: int  # paying cash on delivery


def preview(region: Region, weight_g: int, goods_fen: int) -> list[PreviewLine]:
    """What a parcel of `weight_g` grams worth `goods_fen` costs to `region` by each carrier."""
    lines = []
    for carrier in (*CARRIERS, None):
        rule = rule_for(region, carrier)
        lines.append(
            PreviewLine(
                carrier or ANY_CARRIER,
                rule,
                region_label(rule.region_code) if rule is not None else "",
                fee_for_weight(rule, weight_g, goods_fen, False),
                fee_for_weight(rule, weight_g, goods_fen, True),
            )
        )
    return lines


# --- The demo's table


# Any carrier: 全国 first kg 10 元 + 5 元 per started kg, 江浙沪 8 + 4 (near the warehouses),
# 新疆/西藏/青海 20 + 12 and never free (remote: the couriers charge us that much); free from
# 99 元 elsewhere, so a typical 150 元 order ships free and a deal under 50 元 pays its way;
# no COD fee, since nearly every buyer pays cash and a fee there is a penalty on the normal path.
DEMO_RULES = (
    (None, 1000, 1000, 500, 9900),
    ("310000", 800, 1000, 400, 9900),
    ("320000", 800, 1000, 400, 9900),
    ("330000", 800, 1000, 400, 9900),
    ("540000", 2000, 1000, 1200, None),
    ("630000", 2000, 1000, 1200, None),
    ("650000", 2000, 1000, 1200, None),
)


def load_demo_rules() -> None:
    """Add the demo's fee table when there are no rules (regions must be loaded)."""
    if db.session.scalar(select(ShippingRule.id).limit(1)) is not None:
        return
    for region_code, first_fee, step_g, extra_fee, free_above in DEMO_RULES:
        db.session.add(
            ShippingRule(
                carrier=None,
                region_code=region_code,
                first_weight_g=1000,
                first_fee_fen=first_fee,
                extra_weight_g=step_g,
                extra_fee_fen=extra_fee,
                free_above_fen=free_above,
                cod_fee_fen=0,
                active=True,
            )
        )
    db.session.flush()
