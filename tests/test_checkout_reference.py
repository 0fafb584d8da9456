"""The rows every order reads and staff rarely change (COD coverage, shipping rules, categories,
member tiers, 满减) are kept per worker under the page cache's generation
(services/reference_cache.py): a second order reads none of them, and a staff change reaches
the very next order (issue 18)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import COVERED, make_deal
from support.buyers import confirm_form
from support.members import NOW, make_marketing
from test_checkout_views import shop  # noqa: F401 (a fixture)
from test_stock_locks import statements
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Order, Product, ShippingRule
from wapshop.services import checkout, reference_cache, shipping_fees
from wapshop.services.checkout import discounts
from wapshop.services.members import pricing, promotions, tiers
from wapshop.services.regions import get as region

REFERENCE = ("cod_coverage", "shipping_rules", "categories", "member_tiers", "promotions")


def reads(seen: list[str]) -> list[str]:
    return [
        table
        for table in REFERENCE
        for s in seen
        if s.startswith("SELECT") and re.search(rf"\bFROM {table}\b", s)
    ]


def add_country_rule(app, first_fee_fen: int) -> int:
    with app.app_context():
        rule = ShippingRule(
            carrier=None, region_code=None, first_weight_g=1000, first_fee_fen=first_fee_fen,
            extra_weight_g=1000, extra_fee_fen=0, free_above_fen=None, cod_fee_fen=0,
        )  # fmt: skip
        db.session.add(rule)
        db.session.commit()
        return rule.id


def shipping_of(app, location: str) -> int:
    number = re.search(r"/buy/done/(\d{10})", location).group(1)
    with app.app_context():
        return db.session.scalar(select(Order.shipping_fen).where(Order.number == number))


def place(client, pid: int, phone: str):
    return client.post(f"/buy/{pid}", data={**confirm_form(client, pid), "phone": phone})


def test_a_second_order_reads_no_reference_row(app, client, shop):  # noqa: F811
    add_country_rule(app, 800)
    pid = shop["plain"]
    with app.app_context(), statements() as first:
        assert place(client, pid, "13800138001").status_code == 303
    assert set(reads(first)) >= {"cod_coverage", "shipping_rules", "categories"}, first
    with app.app_context(), statements() as second:
        assert place(client, pid, "13800138002").status_code == 303
    assert reads(second) == [], second


def test_a_shipping_rule_changed_by_staff_reaches_the_very_next_order(app, client, shop):  # noqa: F811
    rule_id = add_country_rule(app, 800)
    pid = shop["plain"]
    first = place(client, pid, "13800138001")
    assert shipping_of(app, first.headers["Location"]) == 800  # the rule is kept now
    shown = {**confirm_form(client, pid), "phone": "13800138002"}  # at 8 yuan shipping
    with app.app_context():
        db.session.get(ShippingRule, rule_id).first_fee_fen = 1500
        db.session.commit()
    refused = client.post(f"/buy/{pid}", data=shown)
    assert refused.status_code == 409 and "应付总额有变化" in refused.text
    again = place(client, pid, "13800138002")
    assert shipping_of(app, again.headers["Location"]) == 1500


def test_a_promotion_or_tier_saved_by_staff_prices_the_next_order(app):
    with app.app_context():
        products = make_marketing()
        db.session.commit()
        lines = [pricing.Line(products["P"].id, discounts.category_ids(products["P"].category_id),
                              40000)]  # fmt: skip
        assert promotions.best(40000, NOW).name == "满300减50"  # kept now
        defaults = app.config["MEMBER_TIERS"]
        assert tiers.tiers(defaults)[0].discount_bp == 0
    with app.app_context():  # another request: staff adds 满400减80 and a tier with 5% off
        promotions.create_promotion(
            promotions.PromotionInput("满400减80", 40000, 8000, NOW - timedelta(hours=1),
                                      NOW + timedelta(days=1)), None,
        )  # fmt: skip
        assert promotions.best(40000, NOW).name == "满400减80"  # its own change, uncommitted
        tiers.save_tiers([tiers.Tier("all", "全员", 0, 500, False, False, 0)])
        db.session.commit()
    with app.app_context():
        priced = pricing.discounts(lines, 0, "13900000009", None, 0, NOW, proven=True)
        assert [(d.kind, d.amount_fen) for d in priced.lines] == [
            ("member", 2000),
            ("threshold", 8000),
        ]
        stopped = db.session.scalar(select(promotions.Promotion).where(
            promotions.Promotion.name == "满400减80"))  # fmt: skip
        promotions.stop_promotion(stopped, None)
        db.session.commit()
    with app.app_context():
        assert promotions.best(40000, NOW).name == "满300减50"


def test_the_kept_values_follow_the_generation_and_are_never_orm_rows(app, shop):  # noqa: F811
    rule_id = add_country_rule(app, 800)
    with app.app_context():
        district = region(COVERED)
        terms = shipping_fees.terms_for(district, None)
        assert isinstance(terms, shipping_fees.Terms) and terms.first_fee_fen == 800
        cache = app.extensions[reference_cache.EXTENSION]
        before = cache.generation
        assert len(cache) >= 2 and before == reference_cache.generation()
    with app.app_context():  # a catalogue write moves the figure: everything kept is dropped
        db.session.get(ShippingRule, rule_id).first_fee_fen = 900
        assert shipping_fees.terms_for(district, None).first_fee_fen == 900  # not yet committed
        db.session.commit()
    with app.app_context():
        assert shipping_fees.terms_for(region(COVERED), None).first_fee_fen == 900
        assert cache.generation == before + 1


def test_a_value_loaded_under_an_older_figure_is_not_kept():
    cache = reference_cache.ReferenceCache()
    assert cache.get("k", 1, lambda: "old") == "old"

    def load_while_the_figure_moves():
        cache.get("other", 2, lambda: "new")  # another request, after a staff change
        return "stale"

    assert cache.get("k2", 1, load_while_the_figure_moves) == "stale"
    assert cache.get("k2", 2, lambda: "fresh") == "fresh"
    assert cache.get("k", 2, lambda: "reloaded") == "reloaded"


@pytest.mark.parametrize("entries", [3])
def test_the_cache_is_bounded(entries):
    cache = reference_cache.ReferenceCache(max_values=entries)
    for n in range(10):
        cache.get(n, 1, lambda n=n: n)
    assert len(cache) == entries
    assert cache.get(9, 1, lambda: "read again") == 9  # the newest are kept
    assert cache.get(0, 1, lambda: "read again") == "read again"
    assert cache.get("none", 1, lambda: None, keep_none=False) is None
    assert cache.get("none", 1, lambda: "found") == "found"  # None was not kept


def test_a_products_running_deals_are_read_once_per_transaction_only(app, shop):  # noqa: F811
    with app.app_context():
        product = db.session.get(Product, shop["plain"])
        variant_id = product.variants[0].id
        with statements() as seen:
            assert checkout.quote_variant(variant_id, utcnow()).deal is None
            assert checkout.quote_variant(variant_id, utcnow()).deal is None
        assert len([s for s in seen if re.search(r"\bFROM deals\b", s)]) == 1, seen
        deal = make_deal(product, deal_price_fen=1990)  # this transaction's own deal
        assert checkout.quote_variant(variant_id, utcnow()).deal_id == deal.id
        db.session.commit()
        deal.stopped = True
        db.session.commit()  # another transaction: read again
        assert checkout.quote_variant(variant_id, utcnow()).deal is None
