import io
from datetime import datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from wapshop.extensions import db
from wapshop.images import IMAGE_SIZES, image_path, stored
from wapshop.clock import china_day
from wapshop.models import (
    Category,
    CodCoverage,
    Collection,
    Deal,
    Order,
    OrderStatus,
    Product,
    Region,
)
from wapshop.services import demo, reference, reports, search

# 14:30 in Beijing.
NOW = datetime(2013, 5, 20, 6, 30)


@pytest.fixture
def demo_app(app, tmp_path):
    with app.app_context():
        demo.load_demo(now=NOW)
        db.session.commit()
    return app


def count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


def test_load_demo_creates_active_products_in_subcategories(demo_app):
    with demo_app.app_context():
        products = db.session.scalars(select(Product).where(Product.active)).all()
        assert len(products) >= 200
        for product in products:
            assert product.category.parent is not None
            assert product.category.parent.parent is None
            assert 1 <= len(product.title) <= 24
            assert 2 <= len(product.specs) <= 5


def test_load_demo_has_sold_out_and_low_stock_products(demo_app):
    with demo_app.app_context():
        assert count(select(Product).where(Product.stock == 0)) > 0
        assert count(select(Product).where(Product.stock.between(1, 50))) > 0


def test_load_demo_prices_market_above_shop(demo_app):
    with demo_app.app_context():
        assert count(select(Product)) > 0
        assert count(select(Product).where(Product.market_price_fen <= Product.shop_price_fen)) == 0
        cheap = count(select(Product).where(Product.shop_price_fen < 150_00))
        assert cheap > count(select(Product)) / 2


def test_load_demo_creates_the_three_collections(demo_app):
    with demo_app.app_context():
        collections = {c.slug: c for c in db.session.scalars(select(Collection))}
        assert set(collections) == {"phones", "back-to-school", "couples"}
        for collection in collections.values():
            assert 8 <= len(collection.products) <= 15
        assert collections["phones"].shown_to("wml")
        assert not collections["couples"].shown_to("wml")
        assert collections["couples"].shown_to("touch")


@pytest.mark.parametrize(
    "now",
    [NOW, datetime(2013, 5, 20, 15, 59), datetime(2013, 5, 20, 16, 1)],
    ids=["afternoon", "just-before-midnight", "just-after-midnight"],
)
def test_load_demo_runs_deals_at_now(app, tmp_path, now):
    with app.app_context():
        demo.load_demo(now=now)
        deals = db.session.scalars(select(Deal)).all()
        running = [d for d in deals if d.running_at(now)]
        assert 8 <= len(running) <= 12
        assert len([d for d in deals if d.starts_at > now]) == 2
        assert len([d for d in deals if d.ends_at <= now]) == 1
        assert any(d.shown_to("wml") for d in running)
        assert any(not d.shown_to("wml") and d.shown_to("touch") for d in running)


def test_load_demo_deal_prices_below_shop_price(demo_app):
    with demo_app.app_context():
        deals = db.session.scalars(select(Deal)).all()
        for deal in deals:
            assert 0 < deal.deal_price_fen < deal.product.shop_price_fen
            assert 0 <= deal.sold <= deal.quantity <= deal.product.stock
            assert 1 <= deal.per_buyer_limit <= 3
        assert sum(d.deal_price_fen < 50_00 for d in deals) > len(deals) / 2


def test_load_demo_gives_every_city_a_district(demo_app):
    with demo_app.app_context():
        provinces = db.session.scalars(select(Region.name).where(Region.level == 1)).all()
        assert len(provinces) == 31
        assert {"北京市", "广东省", "西藏自治区", "新疆维吾尔自治区"} <= set(provinces)
        district = aliased(Region)
        childless = select(Region.code).where(
            Region.level == 2,
            ~select(district.code).where(district.parent_code == Region.code).exists(),
        )
        assert count(select(Region).where(Region.level == 2)) > 300
        assert db.session.scalars(childless).all() == []
        assert db.session.get(Region, "440305").name == "南山区"
        assert db.session.get(Region, "440305").parent_code == "440300"


def test_load_demo_leaves_a_province_without_cod(demo_app):
    with demo_app.app_context():
        covered = db.session.scalars(select(CodCoverage.region_code)).all()
        provinces = db.session.scalars(select(Region.code).where(Region.level == 1)).all()
        uncovered = [p for p in provinces if not any(c[:2] == p[:2] for c in covered)]
        assert "540000" in uncovered
        assert set(covered) <= set(db.session.scalars(select(Region.code)))
        assert db.session.get(CodCoverage, ("440300", "顺丰")).priority == 1


def test_load_demo_twice_adds_nothing(demo_app, tmp_path):
    with demo_app.app_context():
        tables = (Product, Category, Collection, Deal, Region, CodCoverage)
        before = [count(select(model)) for model in tables]
        assert demo.load_demo(now=NOW) == 0
        reference.load_regions()
        assert [count(select(model)) for model in tables] == before


def test_load_demo_writes_both_image_sizes(demo_app):
    with demo_app.app_context():
        names = db.session.scalars(select(Product.image)).all()
        assert names and all(names)
        for name in names[:20]:
            for size, dimensions in IMAGE_SIZES.items():
                with Image.open(io.BytesIO(stored(image_path(name, size)))) as image:
                    assert image.format == "JPEG"
                    assert image.size == dimensions
            assert len(stored(image_path(name, "s"))) < 2048


def test_load_demo_products_found_by_a_two_character_word(demo_app):
    with demo_app.app_context():
        product = db.session.scalars(select(Product).where(Product.title.contains("板鞋"))).first()
        found = db.session.scalars(search.matching_products("板鞋")).all()
        assert product in found
        assert all("板鞋" in p.title for p in found)


def test_make_bulk_catalog_adds_searchable_products(app):
    with app.app_context():
        assert demo.make_bulk_catalog(2000) == 2000
        db.session.commit()
    with app.app_context():
        assert count(select(Product)) == 2000
        assert count(select(Category).where(Category.parent_id.is_(None))) >= 5
        word = "手机"
        expected = count(select(Product).where(Product.title.contains(word)))
        assert expected > 0
        assert count(search.matching_products(word)) == expected


def test_load_demo_has_thirty_days_of_orders_moved_through_the_services(demo_app):
    """The daily COD report covers the 30 days before `now` with orders on most of them, every
    step of an order's life happened, and the KPI identities hold each day."""
    today = china_day(NOW)
    first, last = today - timedelta(days=30), today - timedelta(days=1)
    with demo_app.app_context():
        rows = reports.daily(first, last)
        total = reports.totals(first, last)
        statuses = set(db.session.scalars(select(Order.status).distinct()))
        settled = count(select(Order.id).where(Order.status == OrderStatus.SETTLED))
    assert len(rows) == 30
    assert sum(1 for _day, f in rows if f.orders) >= 27
    for day, f in rows:
        assert f.shipped <= f.address_ok <= f.orders, day
        assert f.refused <= f.shipped, day
    assert 60 <= total.orders <= 400
    assert total.refused >= 1 and total.shipped > total.orders // 2
    assert {OrderStatus.ADDRESS_INVALID, OrderStatus.CANCELLED, OrderStatus.REFUSED,
            OrderStatus.DELIVERED} <= statuses  # fmt: skip
    assert settled > 0


def test_load_demo_sells_shoes_and_clothes_in_sizes_and_phones_in_capacities(demo_app):
    with demo_app.app_context():
        by_sub: dict[str, list[Product]] = {}
        for product in db.session.scalars(select(Product)):
            by_sub.setdefault(product.category.name, []).append(product)
            # Product.stock is the sum of its variants' stock, for every product.
            assert product.stock == sum(v.stock for v in product.variants), product.title
            assert product.variants and all(v.active for v in product.variants)
        shoe_sizes = {
            "男鞋": [str(n) for n in range(38, 45)],
            "女鞋": [str(n) for n in range(35, 41)],
        }
        for sub, sizes in {**shoe_sizes, "运动服": ["S", "M", "L", "XL", "XXL"]}.items():
            for product in by_sub[sub]:
                options = dict(product.options)
                assert options["尺码"] == sizes, product.title
                assert len(product.variants) == len(sizes) * len(options.get("颜色", [1]))
                assert "尺码" not in dict(product.specs)  # chosen, no longer a text spec
        labels = {v.label for p in by_sub["女装"] for v in p.variants}
        assert {"S", "XXL"} & {label.split("/")[-1] for label in labels} == {"S", "XXL"}
        assert any("/" in label for label in labels)  # some in colours too
        for phone in by_sub["手机"]:
            prices = [v.price_fen or phone.shop_price_fen for v in phone.variants]
            assert [v.values[-1] for v in phone.variants][:3] == ["64G", "128G", "256G"]
            assert prices[0] < prices[1] < prices[2]
        sold_out_sizes = [v for p in by_sub["男鞋"] if p.stock for v in p.variants if v.stock == 0]
        assert sold_out_sizes  # a size may be sold out while the shoe is not
        one_form = by_sub["充电宝"][0]
        assert [(v.values_json, v.label) for v in one_form.variants] == [("[]", "")]
