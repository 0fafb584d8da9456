"""Coupons and points at checkout: each discount a line on the confirmation, the buyer's
choice shown before placing, the discount split across the sellers' orders, redeemed in the
order's transaction; a typed phone gets neither a member's points nor its granted coupons."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from factories import COVERED
from support.buyers import PHONE, register
from support.members import coupon
from test_cart import OTHER_PRICE, SHOE_PRICE, add, checkout, hidden, orders, store  # noqa: F401
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Coupon, CouponUse, Order, OutboxMessage, Variant
from wapshop.payments.online import Settings
from wapshop.services import checkout as checkout_service
from wapshop.services.checkout import discounts
from wapshop.services import orders as order_service
from wapshop.services.members import coupons, points, settlement


def window():
    now = utcnow()
    return {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=5)}


@pytest.fixture
def codes(app, store):  # noqa: F811
    """SAVE50: a public 50-yuan code; ONCE: a public 20-yuan code capped at one use in all;
    HELD10: 10 yuan granted to PHONE only; PHONE holds 1,000 points."""
    with app.app_context():
        coupon("SAVE50", amount_fen=5000, **window())
        coupon("ONCE", amount_fen=2000, total_cap=1, per_phone_cap=5, **window())
        held = coupon("HELD10", public=False, **window())
        coupons.grant(held.id, [PHONE])
        points.credit(PHONE, 1000, "adjust", utcnow() - timedelta(days=3))
        db.session.commit()
    return store


def choose(client, url, form, **choice):
    """Post a discount choice: the page comes back (200) with it priced, not yet placed."""
    again = client.post(url, data={**form, **choice})
    assert again.status_code == 200, again.text
    assert "已按所选优惠重新计算" in again.text
    return again, {**form, **hidden(again.text), **choice}


def coupon_uses(app):
    with app.app_context():
        return db.session.execute(
            select(CouponUse.order_id, CouponUse.amount_fen).order_by(CouponUse.id)
        ).all()


def test_a_code_on_two_sellers_orders_is_split_pro_rata_on_goods(app, client, codes):
    add(client, codes["38"])
    add(client, codes["book"])
    _page, form = checkout(client)
    url = "/cart/checkout?ver=basic"
    page, form = choose(client, url, form, coupon="save50")
    # goods 199.00 + 99.00, shipping 13.00 + 3.00, 50.00 off: 264.00 to pay
    assert "优惠券：SAVE50: -￥50.00" in page.text and "￥264.00" in page.text
    assert client.post(url, data=form).status_code == 303
    # 50.00 × 199/298 = 33.389 → 33.38, × 99/298 = 16.61; the fen left to the larger
    assert [row[:4] for row in orders(app)] == [
        (SHOE_PRICE, 1300, 3339, SHOE_PRICE + 1300 - 3339),
        (OTHER_PRICE, 300, 1661, OTHER_PRICE + 300 - 1661),
    ]
    with app.app_context():
        first = db.session.scalar(select(Order.id).order_by(Order.id))
    assert coupon_uses(app) == [(first, 5000)]


def test_a_member_picks_a_granted_coupon_and_uses_points(app, client, codes):
    assert register(client).status_code == 303
    url = f"/buy/{db_product(app, codes['book'])}"
    page = client.get(f"{url}?region={COVERED}&ver=basic")
    assert "用1000积分抵￥10.00" in page.text and 'value="HELD10"' in page.text
    form = {**hidden(page.text), "quantity": "1", "name": "张三", "phone": PHONE,
            "street": "科技园路1号101室", "payment": "cod"}  # fmt: skip
    page, form = choose(client, f"{url}?ver=basic", form, mine="HELD10", points="1000")
    assert "-￥10.00" in page.text and "积分抵扣（1000积分）" in page.text
    # 99.00 + COD 3.00 − 10.00 coupon − 10.00 points = 82.00
    assert "￥82.00" in page.text
    assert client.post(f"{url}?ver=basic", data=form).status_code == 303
    assert client.post(f"{url}?ver=basic", data=form).status_code == 303  # a twin submit
    assert [row[:4] for row in orders(app)] == [(OTHER_PRICE, 300, 2000, 8200)]
    with app.app_context():
        assert points.balance(PHONE, utcnow()) == 0
    assert [fen for _o, fen in coupon_uses(app)] == [1000]


def test_a_typed_phone_cannot_spend_a_members_points_or_granted_coupons(app, client, codes):
    add(client, codes["book"])
    _page, form = checkout(client, phone=PHONE)
    url = "/cart/checkout?ver=basic"
    refused = client.post(url, data={**form, "coupon": "HELD10"})
    assert refused.status_code == 403 and "请先登录再用这张优惠券" in refused.text
    refused = client.post(url, data={**form, "points": "500"})  # a hostile post
    assert refused.status_code == 403 and "请先登录再用积分" in refused.text
    # Placing itself, for a typed phone (no logged-in buyer), refuses both too.
    with app.app_context():
        for code, spend in (("HELD10", 0), ("", 500)):
            request = checkout_service.OrderRequest(
                receiver_name="张三", phone=PHONE, region_code=COVERED, street="科技园路1号",
                payment_method="cod", form_token=f"hostile-token-{spend:04d}",
                lines=(checkout_service.Line(codes["book"], 1, OTHER_PRICE),), coupon_code=code, points=spend,
            )  # fmt: skip
            with pytest.raises(checkout_service.DiscountRefused) as placing:
                checkout_service.place(request, utcnow(), Settings.from_config(app.config))
            assert placing.value.status == 403
            db.session.rollback()
    assert orders(app) == [] and coupon_uses(app) == []
    with app.app_context():
        assert points.balance(PHONE, utcnow()) == 1000


def test_a_capped_code_used_meanwhile_is_a_409_and_no_order(app, client, codes):
    add(client, codes["38"])
    _page, form = checkout(client)
    url = "/cart/checkout?ver=basic"
    _page, ready = choose(client, url, form, coupon="ONCE")
    other = app.test_client()
    add(other, codes["book"])
    _page, theirs = checkout(other, phone="13700137000")
    _page, theirs = choose(other, url, theirs, coupon="ONCE")
    assert other.post(url, data=theirs).status_code == 303
    late = client.post(url, data=ready)
    assert late.status_code == 409 and "这张优惠券已被领完" in late.text
    assert len(orders(app)) == 1 and len(coupon_uses(app)) == 1
    with app.app_context():
        assert db.session.scalar(select(Coupon.used).where(Coupon.code == "ONCE")) == 1
        assert db.session.get(Variant, codes["38"]).stock == 3


def test_the_order_page_shows_the_discounted_total(app, client, codes):
    add(client, codes["book"])
    _page, form = checkout(client)
    url = "/cart/checkout?ver=basic"
    _page, form = choose(client, url, form, coupon="SAVE50")
    placed = client.post(url, data=form)
    done = client.get(placed.headers["Location"])
    # 99.00 + 3.00 − 50.00
    assert "-￥50.00" in done.text and "￥52.00" in done.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 1
        sms = db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.phone == "13800138000")
        ).all()
        assert sms and all("￥52.00" in body for body in sms), sms


def db_product(app, variant_id):
    with app.app_context():
        return db.session.get(Variant, variant_id).product_id


def test_a_code_chosen_on_the_wml_deck_is_kept_or_refused_in_words(app, client, codes):
    product = db_product(app, codes["book"])
    deck = client.get(f"/buy/{product}?d={COVERED}&ver=wml")
    assert deck.status_code == 200 and 'name="coupon"' in deck.text
    chosen = client.get(f"/buy/{product}?region={COVERED}&coupon=nope&points=x&ver=wml")
    assert chosen.status_code == 303
    shown = client.get(chosen.headers["Location"])
    assert shown.status_code == 200 and "没有这张优惠券" in shown.text
    again = client.get(f"/buy/{product}?region={COVERED}&coupon=SAVE50&ver=wml")
    shown = client.get(again.headers["Location"])  # no phone typed yet: the code waits
    assert "请先填手机号再用优惠券" in shown.text and "应付￥102.00" in shown.text
    form = {**wml_hidden(shown.text), "quantity": "1", "name": "张三", "phone": "13800138000",
            "street": "科技园路1号101室", "payment": "cod"}  # fmt: skip
    changed = client.post(f"/buy/{product}?ver=wml", data=form)
    # 99.00 + COD 3.00 − 50.00: shown before any order
    assert changed.status_code == 409 and "优惠有变化" in changed.text
    assert "优惠</a>-￥50.00" in changed.text and "应付￥52.00" in changed.text
    placed = client.post(f"/buy/{product}?ver=wml", data={**form, **wml_hidden(changed.text)})
    assert placed.status_code == 303
    assert [row[2:4] for row in orders(app)] == [(5000, 5200)]


def wml_hidden(deck: str) -> dict:
    return dict(re.findall(r'<postfield name="(\w+)" value="([^$"][^"]*)"/>', deck))


@pytest.mark.parametrize(
    "amount, weights, caps, shares, left",
    [
        (5000, [19900, 9900], [19900, 9899], [3339, 1661], 0),  # pro rata, the fen to the larger
        (100, [1, 1, 1], [1, 1, 1], [1, 1, 1], 97),  # nothing beyond each order's goods
        (150, [100, 50], [100, 49], [100, 49], 1),  # a free-shipping order keeps 1 fen to pay
        (7, [10, 30, 20], [10, 30, 20], [1, 4, 2], 0),  # 1.16, 3.5, 2.33: the fen left to the 30
    ],
)
def test_a_discount_splits_pro_rata_within_each_orders_floor(amount, weights, caps, shares, left):
    placed = [0] * len(weights)
    assert discounts._share(amount, weights, caps, placed) == left
    assert placed == shares


def test_a_split_purchase_gets_its_coupon_back_only_when_every_part_is_cancelled(
    app, client, codes
):
    add(client, codes["38"])
    add(client, codes["book"])
    _page, form = checkout(client)
    url = "/cart/checkout?ver=basic"
    _page, form = choose(client, url, form, coupon="save50")
    assert client.post(url, data=form).status_code == 303

    def cancel_and_settle(position: int) -> list:
        with app.app_context():
            order = db.session.scalars(select(Order).order_by(Order.id)).all()[position]
            order_service.cancel(order, "guest", now=utcnow())
            settlement.settle(utcnow(), app.config["POINTS_PER_YUAN"])
            db.session.commit()
            return db.session.scalars(select(CouponUse.released_at)).all()

    # The shoe's order (where the use is recorded) goes; the book's keeps its 16.61 share of
    # the code: the use stands until that part goes too.
    assert cancel_and_settle(0) == [None]
    [released] = cancel_and_settle(1)
    assert released is not None
