"""Shipping fees, exactly: which rule applies (district > city > province > country; a
carrier's rule over any carrier's for the same region), first weight + each started extra
step, the free-above boundary, 全国包邮 goods weighing nothing, and the COD fee. Every expected
figure below is worked out by hand from the rules in `rules`."""

import pytest

from factories import make_product, make_regions
from wapshop.extensions import db
from wapshop.models import Region, ShippingRule
from wapshop.services import shipping_fees
from wapshop.services.shipping_fees import Parcel, fee, fee_for_weight, quote, rule_for

# name: (carrier, region, first g, first fen, step g, step fen, free above fen, cod fen, active)
RULES = {
    "country": (None, None, 1000, 1000, 1000, 500, 9900, 200, True),
    "country_sf": ("顺丰", None, 1000, 1800, 1000, 800, None, 0, True),
    "guangdong": (None, "440000", 1000, 900, 500, 200, 19900, 100, True),
    "shenzhen_sf": ("顺丰", "440300", 500, 1200, 500, 300, None, 300, True),
    "nanshan": (None, "440305", 1000, 600, 1000, 100, 5900, 0, True),
    "tibet": (None, "540000", 1000, 2000, 1000, 1200, None, 0, True),
    "baoan_off": (None, "440306", 1000, 1, 1000, 1, None, 0, False),
}


@pytest.fixture
def rules(app):
    with app.app_context():
        make_regions()
        ids = {}
        for name, (carrier, region, fw, ff, sw, sf, free, cod, active) in RULES.items():
            rule = ShippingRule(
                carrier=carrier, region_code=region, first_weight_g=fw, first_fee_fen=ff,
                extra_weight_g=sw, extra_fee_fen=sf, free_above_fen=free, cod_fee_fen=cod,
                active=active,
            )  # fmt: skip
            db.session.add(rule)
            db.session.flush()
            ids[name] = rule.id
        db.session.commit()
        yield ids


@pytest.mark.parametrize(
    ("region", "carrier", "expected"),
    [
        ("440305", None, "nanshan"),  # the district's own rule
        (
            "440305",
            "顺丰",
            "nanshan",
        ),  # a district's any-carrier rule beats the city's carrier rule
        ("440306", "顺丰", "shenzhen_sf"),  # the city's carrier rule (宝安's own rule is off)
        ("440306", "EMS", "guangdong"),  # no EMS rule below the country: the province's
        ("440306", None, "guangdong"),
        ("440300", "顺丰", "shenzhen_sf"),  # a city itself
        ("440000", "顺丰", "guangdong"),  # a province itself: the city's rule is below it
        ("540102", "顺丰", "tibet"),  # a province's any-carrier rule beats the country's 顺丰
        (None, "顺丰", "country_sf"),  # the same region: the carrier's rule wins
        (None, "EMS", "country"),
        (None, None, "country"),
    ],
)
def test_the_most_specific_active_rule_wins(app, rules, region, carrier, expected):
    with app.app_context():
        place = db.session.get(Region, region) if region else None
        assert rule_for(place, carrier).id == rules[expected]


@pytest.mark.parametrize(
    ("rule", "weight_g", "goods_fen", "cod", "expected_fen"),
    [
        # 深圳 顺丰: first 500 g ￥12, then ￥3 per started 500 g, COD fee ￥3, never free.
        ("shenzhen_sf", 1, 100, False, 1200),
        ("shenzhen_sf", 500, 100, False, 1200),
        ("shenzhen_sf", 501, 100, False, 1500),
        ("shenzhen_sf", 1000, 100, False, 1500),
        ("shenzhen_sf", 1001, 100, False, 1800),
        ("shenzhen_sf", 1200, 10_000_000, False, 1800),  # no free-above: never free
        ("shenzhen_sf", 1200, 100, True, 2100),
        ("shenzhen_sf", 0, 100, False, 0),  # nothing chargeable
        ("shenzhen_sf", 0, 100, True, 300),  # ...but cash is still collected
        # 全国: first kg ￥10, ￥5 per started kg, free from ￥99.00, COD fee ￥2.
        ("country", 1200, 9899, False, 1500),
        ("country", 1200, 9900, False, 0),  # the boundary itself ships free
        ("country", 1200, 9900, True, 200),
        ("country", 1200, 9899, True, 1700),
        ("country", 3000, 5000, False, 2000),
        ("country", 3001, 5000, False, 2500),
        # 广东: first kg ￥9, ￥2 per started 500 g, free from ￥199.
        ("guangdong", 1200, 19899, False, 1100),
        ("guangdong", 1501, 19899, False, 1300),
        ("guangdong", 1501, 19900, True, 100),
    ],
)
def test_fee_exactness(app, rules, rule, weight_g, goods_fen, cod, expected_fen):
    with app.app_context():
        applied = db.session.get(ShippingRule, rules[rule])
        assert fee_for_weight(applied, weight_g, goods_fen, cod) == expected_fen


def test_free_shipping_goods_weigh_nothing(app, rules):
    with app.app_context():
        free = make_product(weight_g=2000, free_shipping=True)
        heavy = make_product(weight_g=600)
        country = db.session.get(ShippingRule, rules["country"])
        # 2 x 600 g chargeable = 1,200 g: ￥10 + one started kg ￥5; the free 2 kg count nothing.
        assert fee(country, Parcel(((free, 1), (heavy, 2)), 5000), False) == 1500
        assert fee(country, Parcel(((free, 3),), 5000), False) == 0
        assert fee(country, Parcel(((free, 3),), 5000), True) == 200
        assert Parcel(((free, 1), (heavy, 2)), 5000).chargeable_g == 1200


def test_quote_applies_the_rule_for_the_region_and_carrier(app, rules):
    with app.app_context():
        item = make_product(weight_g=700)
        baoan = db.session.get(Region, "440306")
        nanshan = db.session.get(Region, "440305")
        lhasa = db.session.get(Region, "540102")
        # 宝安 by 顺丰: the 深圳 顺丰 rule, 1,400 g: ￥12 + 2 steps of ￥3 = ￥18; COD + ￥3.
        assert quote(baoan, "顺丰", [(item, 2)], 5000, False) == 1800
        assert quote(baoan, "顺丰", [(item, 2)], 5000, True) == 2100
        # 宝安 by EMS: 广东, 1,400 g: ￥9 + 1 step (500 g) of ￥2 = ￥11.
        assert quote(baoan, "EMS", [(item, 2)], 5000, False) == 1100
        # 南山: its own rule, free from ￥59.
        assert quote(nanshan, "EMS", [(item, 2)], 5899, False) == 700
        assert quote(nanshan, "EMS", [(item, 2)], 5900, False) == 0
        # 拉萨: ￥20 + ￥12 for the started second kg, never free.
        assert quote(lhasa, "EMS", [(item, 2)], 1_000_000, False) == 3200


def test_no_rule_ships_free(app):
    with app.app_context():
        make_regions()
        item = make_product(weight_g=5000)
        nanshan = db.session.get(Region, "440305")
        assert rule_for(nanshan, "顺丰") is None
        assert shipping_fees.quote(nanshan, "顺丰", [(item, 1)], 100, True) == 0
