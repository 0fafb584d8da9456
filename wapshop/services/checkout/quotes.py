"""What a cart costs now: each line's price from the server's catalogue (variant price, or the
deal's when a running deal covers that variant), and per seller parcel the goods, shipping
(services/shipping_fees.quote), discount and total."""

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from wapshop.extensions import db
from wapshop.models import Deal, Product, Region, Variant
from wapshop.services import NotFound, Refusal, catalog, shipping_fees

MAX_QUANTITY = 99  # per line
MAX_LINES = 10  # per cart / order: what a 2,000-byte WML deck can list


class CheckoutError(Refusal):
    """A refusal with a message for the buyer; subclasses name the form field."""


class QuoteChanged(CheckoutError):
    """The deal ended, sold out or changed price since the buyer saw the page."""


class LineGone(CheckoutError):
    """A line's product or variant is no longer sold."""


@dataclass(frozen=True)
class Line:
    """What the buyer asks for: a variant, how many, and the price and deal the buyer saw
    (None: not checked, e.g. a line just added)."""

    variant_id: int
    quantity: int
    seen_price_fen: int | None = None
    seen_deal_id: int | None = None


@dataclass(frozen=True)
class Quote:
    """One variant's price and the most a buyer may order now (before the per-buyer limit,
    which needs the phone)."""

    product: Product
    variant: Variant
    deal: Deal | None
    unit_price_fen: int
    max_quantity: int

    @property
    def deal_id(self) -> int | None:
        return self.deal.id if self.deal else None

    @property
    def name(self) -> str:
        """The item as refusals name it: title and variant label."""
        label = self.variant.label
        return f"{self.product.title} {label}" if label else self.product.title


@dataclass
class Part:
    """One seller's parcel: its lines, and what it costs."""

    seller_id: int
    lines: list[tuple[Quote, int]]
    goods_fen: int = 0
    shipping_fen: int = 0
    discount_fen: int = 0

    @property
    def total_fen(self) -> int:
        return self.goods_fen + self.shipping_fen - self.discount_fen


@dataclass
class Totals:
    parts: list[Part] = field(default_factory=list)
    shipping_known: bool = False  # False until the region is known

    @property
    def goods_fen(self) -> int:
        return sum(p.goods_fen for p in self.parts)

    @property
    def shipping_fen(self) -> int:
        return sum(p.shipping_fen for p in self.parts)

    @property
    def discount_fen(self) -> int:
        return sum(p.discount_fen for p in self.parts)

    @property
    def total_fen(self) -> int:
        return sum(p.total_fen for p in self.parts)


def quote_variant(variant_id: int, now: datetime) -> Quote:
    """The price and most a buyer may order of one variant now. Raises NotFound."""
    # With its product in the same statement (none when this session holds the variant).
    variant = db.session.get(Variant, variant_id, options=[joinedload(Variant.product)])
    if variant is None or not variant.active:
        raise NotFound(_l("这个商品不存在或已下架。"))
    product = catalog.product(variant.product_id)
    deal = catalog.deal_for_variant(product.id, variant.id, now)
    if deal is not None and deal.remaining <= 0:
        deal = None  # a sold-out deal no longer sets the price
    _hold(variant, product, deal)
    price = deal.deal_price_fen if deal else catalog.variant_price(product, variant)
    most = min(variant.stock, MAX_QUANTITY)
    if deal:
        most = min(most, deal.remaining, deal.per_buyer_limit)
    return Quote(product, variant, deal, price, max(most, 0))


def _hold(*rows) -> None:
    """Keep what a quote read for the rest of the session (the request): the identity map
    holds objects weakly, so the next quote of the same line in this request (the view's,
    then the placing's) would read them all again. A row held is read again after a COMMIT
    or ROLLBACK expires it; within the transaction its stock and deal units may be some
    milliseconds old, which the conditional UPDATEs of the placing check anyway."""
    held = db.session.info.setdefault("quoted", {})
    for row in rows:
        if row is not None:
            held[(type(row), row.id)] = row


def quote(product_id: int, now: datetime, variant_id: int | None = None) -> Quote:
    """One product's quote: the chosen variant, else its sole (or first buyable) variant.
    Raises NotFound."""
    product = None  # held (the identity map holds rows weakly) until quote_variant reads it
    if variant_id is None:
        product = catalog.product(product_id)
        variant = catalog.default_variant(product)
        if variant is None:
            raise NotFound(_l("这个商品不存在或已下架。"))
        variant_id = variant.id
    found = quote_variant(variant_id, now)  # NotFound for an inactive product too
    if found.product.id != product_id:
        raise NotFound(_l("这个商品不存在或已下架。"))
    return found


def price_lines(lines: list[Line], now: datetime, check_seen: bool) -> list[tuple[Quote, int]]:
    """Each line's quote, in the given order. Raises LineGone naming a line no longer sold,
    or QuoteChanged naming a line whose price or deal differs from what the buyer saw."""
    priced = []
    for line in lines:
        try:
            q = quote_variant(line.variant_id, now)
        except NotFound:
            raise LineGone(_l("购物车里有一件商品已下架，请回购物车看看。")) from None
        if check_seen and (
            q.unit_price_fen != line.seen_price_fen or q.deal_id != line.seen_deal_id
        ):
            raise QuoteChanged(
                _l("「%(item)s」的价格或特价有变化，请确认新的价格后再提交。", item=q.name)
            )
        priced.append((q, line.quantity))
    return priced


def totals(
    priced: list[tuple[Quote, int]], region: Region | None, carrier: str | None, cod: bool
) -> Totals:
    """Goods, shipping (per seller parcel, when the region is known), discount and total."""
    by_seller: dict[int, Part] = {}
    for q, quantity in priced:
        part = by_seller.setdefault(q.product.seller_id, Part(q.product.seller_id, []))
        part.lines.append((q, quantity))
        part.goods_fen += q.unit_price_fen * quantity
    parts = [by_seller[s] for s in sorted(by_seller)]
    if region is not None:
        for part in parts:
            part.shipping_fen = shipping_fees.quote(
                region, carrier, [(q.product, n) for q, n in part.lines], part.goods_fen, cod
            )
    return Totals(parts, shipping_known=region is not None)
