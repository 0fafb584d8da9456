"""Small test-data helpers: make_<thing>(**overrides), each adding and flushing one row."""

import itertools
import json
from datetime import timedelta

from wapshop.extensions import db
from wapshop.models import (
    Category,
    CodCoverage,
    Collection,
    Deal,
    Product,
    Region,
    Seller,
    Variant,
)
from wapshop.clock import utcnow
from wapshop.services import product_variants, search
from wapshop.services import stock as stock_service

_seq = itertools.count(1)

# A covered district (COD by 顺丰) and an uncovered one, under their own province and city.
COVERED = "440305"
UNCOVERED = "540102"


def make_regions() -> None:
    rows = [
        ("440000", None, "广东省", 1),
        ("440300", "440000", "深圳市", 2),
        ("440305", "440300", "南山区", 3),
        ("440306", "440300", "宝安区", 3),
        ("540000", None, "西藏自治区", 1),
        ("540100", "540000", "拉萨市", 2),
        ("540102", "540100", "城关区", 3),
    ]
    for code, parent, name, level in rows:
        db.session.add(Region(code=code, parent_code=parent, name=name, level=level))
    db.session.flush()
    db.session.add(CodCoverage(region_code="440300", carrier="顺丰", priority=1))
    db.session.flush()


def make_seller(**overrides) -> Seller:
    seller = Seller(**{"name": f"卖家{next(_seq)}", **overrides})
    db.session.add(seller)
    db.session.flush()
    return seller


def make_category(**overrides) -> Category:
    category = Category(**{"name": f"分类{next(_seq)}", **overrides})
    db.session.add(category)
    db.session.flush()
    return category


def make_product(**overrides) -> Product:
    if "category_id" not in overrides:
        parent = make_category()
        overrides["category_id"] = make_category(parent_id=parent.id).id
    if "seller_id" not in overrides:
        overrides["seller_id"] = make_seller().id
    values = {
        "title": f"测试商品{next(_seq)}",
        "shop_price_fen": 5990,
        "market_price_fen": 9900,
        "stock": 100,
        "specs_json": json.dumps([["颜色", "黑色"], ["产地", "深圳"]], ensure_ascii=False),
        **overrides,
    }
    product = Product(**values)
    product.variants.append(Variant(stock=product.stock))
    db.session.add(product)
    db.session.flush()
    search.reindex([product])
    return product


def make_product_with_options(options="尺码:38-44", stock=5, **overrides) -> Product:
    """A product with options and a variant per combination, made as the product form makes
    them. `options`: as typed on the form ("颜色:黑色 白色\n尺码:38-44") or (name, values)
    pairs; `stock`: units of each variant, or {label: units} (labels as the shop writes
    them, "黑色/38"; a variant not named gets none). Its variants in display order."""
    if not isinstance(options, str):
        options = "\n".join(f"{name}:{' '.join(values)}" for name, values in options)
    product = make_product(**{"stock": 0, **overrides})
    each = 0 if isinstance(stock, dict) else stock
    product_variants.set_options(product, product_variants.parse_options(options), None, each)
    db.session.refresh(product)
    if isinstance(stock, dict):
        for variant in product.variants:
            stock_service.set_stock(variant.id, stock.get(variant.label, 0))
        db.session.refresh(product)
    return product


def make_deal(product: Product | None = None, **overrides) -> Deal:
    product = product or make_product()
    now = utcnow()
    values = {
        "product_id": product.id,
        "deal_price_fen": 2990,
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(hours=3, minutes=12, seconds=30),
        "quantity": 50,
        "per_buyer_limit": 2,
        **overrides,
    }
    deal = Deal(**values)
    db.session.add(deal)
    db.session.flush()
    return deal


def make_collection(products=(), **overrides) -> Collection:
    collection = Collection(**{"slug": f"c{next(_seq)}", "name": f"专场{next(_seq)}", **overrides})
    collection.products = list(products)
    db.session.add(collection)
    db.session.flush()
    return collection
