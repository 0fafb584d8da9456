"""今日特价 in the back office: find the product (title, code or id), create, edit, schedule and
stop deals on all of a product's variants or chosen ones; a day's list; copying one day's deals
to another. Staff think in China Standard Time; the database keeps naive UTC.

Every function adds or updates and flushes, and writes the audit log; the caller commits."""

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from wapshop.clock import china_day, china_day_bounds
from wapshop.extensions import db
from wapshop.models import Deal, Product, Staff, Variant
from wapshop.renditions import RENDITIONS
from wapshop.money import format_fen
from wapshop.services import NotFound, Refusal, admin_audit, search

AUDITED = (
    "product_id",
    "deal_price_fen",
    "starts_at",
    "ends_at",
    "quantity",
    "per_buyer_limit",
    "renditions",
    "position",
    "stopped",
)
STATE_LABELS = {"running": "进行中", "scheduled": "未开始", "ended": "已结束", "stopped": "已停止"}


class DealError(Refusal):
    """A refusal of a deal; `field` names the form field (or CSV column) it belongs to."""


@dataclass(frozen=True)
class DealInput:
    product_id: int
    deal_price_fen: int
    starts_at: datetime  # naive UTC
    ends_at: datetime  # naive UTC
    quantity: int
    per_buyer_limit: int
    renditions: tuple[str, ...]
    position: int = 0
    # The variants the deal covers, () for all of them; None when updating: leave them be.
    variant_ids: tuple[int, ...] | None = None


def get(deal_id: int) -> Deal:
    found = db.session.get(Deal, deal_id)
    if found is None:
        raise NotFound("没有这个特价。")
    return found


class ProductChoice(DealError):
    """The text fits several products: the form lists them to pick one."""

    status = 422

    def __init__(self, message: str, candidates: list[Product]):
        super().__init__(message, "product_query")
        self.candidates = candidates


MAX_FOUND = 10


def find_products(text: str) -> list[Product]:
    """Products a staff member may mean by `text`: the one with that id, the one with a
    variant of that code (货号, any case), or up to MAX_FOUND whose titles hold every word."""
    text = (text or "").strip()
    if not text or len(text) > 60 or "\x00" in text:
        return []
    found: list[Product] = []
    if text.isascii() and text.isdigit() and len(text) < 10:
        found += filter(None, [db.session.get(Product, int(text))])
    found += db.session.scalars(
        select(Product)
        .join(Variant, Variant.product_id == Product.id)
        .where(func.lower(Variant.code) == text.lower())
    )
    titled = search.matching_products(text)
    if titled is not None:
        found += db.session.scalars(titled.limit(MAX_FOUND))
    unique = list({p.id: p for p in found}.values())
    return unique[:MAX_FOUND]


def choose_product(product_id: int | None, text: str | None) -> int:
    """The product a deal is for: an id given (picked from a list, or typed), else the one
    product `text` names. Raises DealError when nothing fits, ProductChoice when several do."""
    text = (text or "").strip()
    if product_id:
        chosen = db.session.get(Product, product_id)
        # Text that no longer finds the chosen product is a new search.
        if not text or chosen is None or text in (chosen.title, str(chosen.id)):
            return product_id
        if product_id in {p.id for p in find_products(text)}:
            return product_id
    if not text:
        raise DealError("请填商品标题、货号或商品ID。", "product_query", 422)
    found = find_products(text)
    if len(found) == 1:
        return found[0].id
    if not found:
        raise DealError(f"没有找到“{text[:20]}”，请换个词，或填商品ID。", "product_query", 422)
    raise ProductChoice(f"有 {len(found)} 个商品符合“{text[:20]}”，请选择一个。", found)


def product_or_none(product_id: int | None) -> Product | None:
    return db.session.get(Product, product_id) if product_id else None


def _snapshot(deal: Deal) -> dict:
    """The audited fields, and the variants covered (ids; [] for all)."""
    return admin_audit.snapshot(deal, AUDITED) | {
        "variant_ids": sorted(v.id for v in deal.variants)
    }


def _variants(ids: tuple[int, ...]) -> list[Variant]:
    return (
        list(db.session.scalars(select(Variant).where(Variant.id.in_(ids)).order_by(Variant.id)))
        if ids
        else []
    )


def create_deal(data: DealInput, actor: Staff | None, action: str = "create") -> Deal:
    """Schedule a deal. Raises DealError before writing anything."""
    _check(data, None)
    deal = Deal(
        product_id=data.product_id,
        deal_price_fen=data.deal_price_fen,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        quantity=data.quantity,
        sold=0,
        per_buyer_limit=data.per_buyer_limit,
        renditions=_renditions(data.renditions),
        position=data.position,
        variants=_variants(data.variant_ids or ()),
    )
    db.session.add(deal)
    db.session.flush()
    admin_audit.record(actor, action, "deal", deal.id, None, _snapshot(deal))
    return deal


def update_deal(deal: Deal, data: DealInput, actor: Staff | None) -> None:
    """Change a deal, running or not. Raises DealError.

    Buyers may be checking out meanwhile, so the row is changed by one conditional UPDATE that
    matches only while `sold` is within the new quantity: a concurrent sale can never leave
    sold > quantity. Orders already placed keep their price (order lines store their own)."""
    if data.variant_ids is None and data.product_id != deal.product_id:
        data = replace(data, variant_ids=())  # another product: the old variants are not its
    _check(data, deal)
    before = _snapshot(deal)
    changed = db.session.execute(
        update(Deal)
        .where(Deal.id == deal.id, Deal.sold <= data.quantity, Deal.stopped.is_(False))
        .values(
            product_id=data.product_id,
            deal_price_fen=data.deal_price_fen,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            quantity=data.quantity,
            per_buyer_limit=data.per_buyer_limit,
            renditions=_renditions(data.renditions),
            position=data.position,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(deal)
    if changed != 1:
        if deal.stopped:
            raise DealError("这个特价已停止，不能再修改。", "product_id")
        raise DealError(f"刚刚又卖出了，已售 {deal.sold} 件：数量不能少于已售。", "quantity")
    if data.variant_ids is not None:
        deal.variants = _variants(data.variant_ids)
        db.session.flush()
    admin_audit.record(actor, "update", "deal", deal.id, before, _snapshot(deal))


def stop_deal(deal: Deal, actor: Staff | None) -> None:
    """Take a deal off the shop now; units sold stay sold. Stopping twice changes nothing."""
    if deal.stopped:
        return
    before = _snapshot(deal)
    db.session.execute(
        update(Deal)
        .where(Deal.id == deal.id)
        .values(stopped=True)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(deal)
    admin_audit.record(actor, "stop", "deal", deal.id, before, _snapshot(deal))


def _renditions(chosen) -> str:
    """In the canonical order, so equal choices store equal text."""
    return ",".join(r for r in RENDITIONS if r in chosen)


def _check(data: DealInput, deal: Deal | None) -> Product:
    """The rules a deal must meet; raises DealError naming the field at fault."""
    if deal is not None and deal.stopped:
        raise DealError("这个特价已停止，不能再修改。", "product_id")
    product = db.session.get(Product, data.product_id)
    if product is None:
        raise DealError(f"没有 ID 为 {data.product_id} 的商品。", "product_id")
    if not product.active:
        raise DealError("这个商品已下架，不能做特价。", "product_id")
    sold = deal.sold if deal is not None else 0
    if deal is not None and sold and data.product_id != deal.product_id:
        raise DealError("已经有人买了，不能更换商品。", "product_id")
    if not 0 < data.deal_price_fen < product.shop_price_fen:
        raise DealError(f"特价必须低于商城价 {format_fen(product.shop_price_fen)}。", "deal_price")
    if data.ends_at <= data.starts_at:
        raise DealError("结束时间必须晚于开始时间。", "ends_at")
    if data.quantity < max(sold, 1):
        raise DealError(f"数量至少 {max(sold, 1)} 件（已售 {sold} 件）。", "quantity")
    if data.per_buyer_limit < 1:
        raise DealError("每人限购至少 1 件。", "per_buyer_limit")
    if not data.renditions or not set(data.renditions) <= set(RENDITIONS):
        raise DealError("请至少选择一个版本（wml、basic、color、touch）。", "renditions")
    covered = _covered(product, data, deal)
    stock = sum(v.stock for v in covered) if covered else product.stock
    if data.quantity - sold > stock:
        raise DealError(f"特价还要卖 {data.quantity - sold} 件，库存只有 {stock} 件。", "quantity")
    overlapping = db.session.scalar(
        select(Deal.id).where(
            Deal.product_id == data.product_id,
            Deal.stopped.is_(False),
            Deal.id != (deal.id if deal is not None else -1),
            Deal.starts_at < data.ends_at,
            Deal.ends_at > data.starts_at,
        )
    )
    if overlapping is not None:
        raise DealError(f"这个商品在这段时间已有特价（#{overlapping}）。", "starts_at")
    return product


def _covered(product: Product, data: DealInput, deal: Deal | None) -> list[Variant]:
    """The chosen variants (none: all), each checked to be the product's and on sale."""
    ids = data.variant_ids
    if ids is None:
        ids = tuple(v.id for v in deal.variants) if deal is not None else ()
    own = {v.id: v for v in product.variants}
    if any(i not in own for i in ids):
        raise DealError("所选规格不属于这个商品，请重新选择。", "variant_ids")
    if any(not own[i].active for i in ids):
        raise DealError("所选规格已停售，请重新选择。", "variant_ids")
    return [own[i] for i in ids]


# --- The day's list and copying a day


@dataclass(frozen=True)
class DayDeal:
    deal: Deal
    state: str  # a key of STATE_LABELS

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def state(deal: Deal, now: datetime) -> str:
    if deal.stopped:
        return "stopped"
    if deal.ends_at <= now:
        return "ended"
    return "scheduled" if deal.starts_at > now else "running"


def day_deals(day: date, now: datetime) -> list[DayDeal]:
    """Deals that run at some moment of the CST day, by start time and home-page order."""
    start, end = china_day_bounds(day)
    found = db.session.scalars(
        select(Deal)
        .options(joinedload(Deal.product))
        .where(Deal.starts_at < end, Deal.ends_at > start)
        .order_by(Deal.starts_at, Deal.position, Deal.id)
    )
    return [DayDeal(d, state(d, now)) for d in found]


@dataclass
class CopyResult:
    copied: list[Deal] = field(default_factory=list)
    skipped: list[tuple[Deal, str]] = field(default_factory=list)


def copy_day(source: date, target: date, actor: Staff | None) -> CopyResult:
    """Schedule the deals that start on the CST day `source` again on `target`: same times of
    day, price, quantity, limit, renditions and order, nothing sold. Stopped deals are left
    out; a deal the rules now refuse (price no longer below the shop price, stock short,
    already on a deal then: copied before) is skipped with the reason."""
    start, end = china_day_bounds(source)
    shift = target - source
    result = CopyResult()
    originals = db.session.scalars(
        select(Deal)
        .where(Deal.starts_at >= start, Deal.starts_at < end, Deal.stopped.is_(False))
        .order_by(Deal.position, Deal.id)
    ).all()
    for deal in originals:
        data = DealInput(
            product_id=deal.product_id,
            deal_price_fen=deal.deal_price_fen,
            starts_at=deal.starts_at + shift,
            ends_at=deal.ends_at + shift,
            quantity=deal.quantity,
            per_buyer_limit=deal.per_buyer_limit,
            renditions=tuple(deal.renditions.split(",")),
            position=deal.position,
            variant_ids=tuple(v.id for v in deal.variants),
        )
        try:
            result.copied.append(create_deal(data, actor, action="copy"))
        except DealError as refused:
            result.skipped.append((deal, refused.message))
    return result


def copy_yesterday_to_tomorrow(now: datetime, actor: Staff | None) -> CopyResult:
    today = china_day(now)
    return copy_day(today - timedelta(days=1), today + timedelta(days=1), actor)
