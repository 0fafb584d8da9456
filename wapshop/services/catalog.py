"""What the storefront shows: today's deals, collections, categories and products."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager, joinedload

from wapshop.extensions import db
from wapshop.models import Category, Collection, Deal, Product, Variant
from wapshop.models import collection_products as collection_links
from wapshop.services import NotFound, search
from wapshop.services.pagination import Page, Position, count_rows, keyed_page, paginate
from wapshop.services.reference_cache import memo, remembered


SEARCH_MAX_HITS = 500  # nobody pages past this on a phone; refine the words instead


@dataclass(frozen=True)
class Home:
    deals: list[Deal]
    collections: list[Collection]
    categories: list[Category]
    more_deals: bool = False  # more deals run than `deals` holds: link to 更多特价


def running_deals(now: datetime, with_product: bool = True):
    """Deals running at `now` on products on sale, in their order; each with its product
    (from the join the filter needs: one join), unless `with_product` is False (a caller that
    holds the product already: its columns are not read twice)."""
    found = select(Deal).join(Deal.product)
    if with_product:
        found = found.options(contains_eager(Deal.product))
    return found.where(
        Deal.starts_at <= now,
        Deal.ends_at > now,
        Deal.stopped.is_(False),
        Product.active.is_(True),
    ).order_by(Deal.position, Deal.id)


def home(rendition: str, now: datetime, max_deals: int) -> Home:
    """The home page's mix for a rendition: its deals first, then collections, categories."""
    deals = [d for d in db.session.scalars(running_deals(now)) if d.shown_to(rendition)]
    collections = db.session.scalars(
        select(Collection).where(Collection.active.is_(True)).order_by(Collection.position)
    ).all()
    return Home(
        deals=deals[:max_deals],
        collections=[c for c in collections if c.shown_to(rendition)],
        categories=top_categories(),
        more_deals=len(deals) > max_deals,
    )


def top_categories() -> list[Category]:
    return list(
        db.session.scalars(
            select(Category).where(Category.parent_id.is_(None)).order_by(Category.position)
        )
    )


def category(category_id: int) -> Category:
    found = db.session.get(Category, category_id)
    if found is None:
        raise NotFound(_l("没有这个分类。"))
    return found


def category_products(cat: Category, at: Position, per_page: int) -> Page:
    """Active products of a category and, for a top-level one, of its subcategories, newest
    first, paged by keyset (services/pagination.keyed_page)."""
    ids = [cat.id, *(child.id for child in cat.children)]
    stmt = select(Product).where(Product.category_id.in_(ids), Product.active.is_(True))
    return keyed_page(stmt, Product.id, at, per_page, count=lambda s: _products_in(cat.id, s))


def _products_in(category_id: int, stmt) -> int:
    """How many products a category page pages through: counted once per worker while the
    catalogue stays as it is (reference_cache: any change to products or categories moves
    the figure it is kept under; a sale does not change it), not on every page of a category
    of 10,000."""
    return remembered(("products in category", category_id), lambda: count_rows(stmt))


def collection(slug: str, rendition: str) -> Collection:
    found = db.session.scalar(select(Collection).where(Collection.slug == slug))
    if found is None or not found.active or not found.shown_to(rendition):
        raise NotFound(_l("这个专场不存在或已结束。"))
    return found


def collection_products(coll: Collection, number: int, per_page: int) -> Page:
    link = collection_links
    stmt = (
        select(Product)
        .join(link, link.c.product_id == Product.id)
        .where(link.c.collection_id == coll.id, Product.active.is_(True))
        .order_by(link.c.position, Product.id)
    )
    return paginate(stmt, number, per_page)


def product(product_id: int) -> Product:
    found = db.session.get(Product, product_id)
    if found is None or not found.active:
        raise NotFound(_l("这个商品不存在或已下架。"))
    return found


def current_deal(product_id: int, now: datetime) -> Deal | None:
    """The deal on this product running now, if any. Its price is everyone's price."""
    return db.session.scalar(running_deals(now).where(Deal.product_id == product_id).limit(1))


def covers(deal: Deal, variant_id: int) -> bool:
    """A deal listing no variants covers them all."""
    return not deal.variants or any(v.id == variant_id for v in deal.variants)


# A product's running deals with the variants each covers (built once: every order runs it);
# its product is the caller's, held already (quotes.quote_variant).
_RUNNING_ON_PRODUCT = (
    running_deals(bindparam("now"), with_product=False)
    .where(Deal.product_id == bindparam("product_id"))
    .options(joinedload(Deal.variants))
)


def deal_for_variant(product_id: int, variant_id: int, now: datetime) -> Deal | None:
    """The running deal on this product that covers this variant, if any. The product's
    running deals and the variants they cover are read in one statement, once per
    transaction (a placing quotes each line twice: the view's links back, then the
    placing's); a deal's price, window and units are checked again by its conditional
    UPDATE anyway."""
    kept = memo("running_deals")
    deals = kept.get(product_id) if kept is not None else None
    if deals is None:
        found = db.session.scalars(_RUNNING_ON_PRODUCT, {"now": now, "product_id": product_id})
        deals = found.unique().all()
        if kept is not None:
            kept[product_id] = deals
    return next((d for d in deals if d.running_at(now) and covers(d, variant_id)), None)


def variant_price(product: Product, variant: Variant) -> int:
    return variant.price_fen if variant.price_fen is not None else product.shop_price_fen


def default_variant(product: Product) -> Variant | None:
    """The variant a product without options is sold as; for one with options the first
    active one in stock (None when the buyer must choose and nothing is left)."""
    active = [v for v in product.variants if v.active]
    if len(active) == 1 and active[0].values_json == "[]":
        return active[0]
    return next((v for v in active if v.stock > 0), None)


def variant_by_choice(product: Product, picks: list[int]) -> Variant | None:
    """The active variant at these 1-based positions in each option's values (a WML pick
    list per option posts its index), or None when there is no such combination."""
    options = product.options
    if len(picks) != len(options) or not all(
        1 <= n <= len(v) for n, (_o, v) in zip(picks, options)
    ):
        return None
    values = [v[n - 1] for n, (_o, v) in zip(picks, options)]
    return next((x for x in product.variants if x.active and x.values == values), None)


@dataclass(frozen=True)
class VariantOffer:
    """One variant as the product page shows it: its price now and whether it can be chosen."""

    variant: Variant
    price_fen: int
    deal: Deal | None

    @property
    def available(self) -> bool:
        return self.variant.stock > 0


def variant_offers(product: Product, now: datetime) -> list[VariantOffer]:
    """The active variants of a product with options, in display order (empty without options)."""
    if product.options_json in ("", "[]"):
        return []
    deals = [
        d
        for d in db.session.scalars(running_deals(now).where(Deal.product_id == product.id))
        if d.remaining > 0
    ]
    found = []
    for v in product.variants:
        if not v.active:
            continue
        deal = next((d for d in deals if covers(d, v.id)), None)
        price = deal.deal_price_fen if deal else variant_price(product, v)
        found.append(VariantOffer(v, price, deal))
    return found


def search_products(query: str, at: Position, per_page: int) -> Page | None:
    """A page of products matching the query, or None when there is nothing to search for;
    paged by keyset on the first term's product id (the index the search walks), without a
    count of the matches: the page costs the same for 30 matches or 30,000."""
    found = search.keyed_matches(query)
    if found is None:
        return None
    return keyed_page(
        found.stmt, found.key, at, per_page, max_rows=SEARCH_MAX_HITS, same=found.same
    )
