"""The cart: several variants and quantities in the session, checked out as one purchase —
every line taken in one transaction, one order per seller, totals with shipping."""

import json
import re

import pytest
from sqlalchemy import func, select

from factories import (
    COVERED,
    make_deal,
    make_product,
    make_product_with_options,
    make_regions,
    make_seller,
)
from support.buyers import login, register
from wapshop.extensions import db
from wapshop.models import Deal, Order, OrderItem, OutboxMessage, ShippingRule, Variant
from wapshop.models import WebSession

# Hand-made prices and a national rule: first 1 kg 10.00, each further kg 5.00, COD 3.00.
SHOE_PRICE, SHOE_39_PRICE, DEAL_PRICE, OTHER_PRICE = 19900, 20900, 2990, 9900


@pytest.fixture
def store(app):
    with app.app_context():
        make_regions()
        seller = make_seller(name="鞋店")
        shoe = make_product_with_options(
            stock={"38": 3, "39": 1, "40": 0},
            seller_id=seller.id,
            shop_price_fen=SHOE_PRICE,
            weight_g=800,
            title="跑鞋",
        )
        by_size = {v.label: v for v in shoe.variants}
        by_size["39"].price_fen = SHOE_39_PRICE
        deal = make_deal(
            make_product(seller_id=seller.id, weight_g=300, stock=10, title="袜子"),
            deal_price_fen=DEAL_PRICE,
            quantity=5,
            per_buyer_limit=2,
        )
        other = make_product(
            seller_id=make_seller(name="书店").id,
            shop_price_fen=OTHER_PRICE,
            free_shipping=True,
            stock=10,
            title="字典",
        )
        db.session.add(
            ShippingRule(
                first_weight_g=1000,
                first_fee_fen=1000,
                extra_weight_g=1000,
                extra_fee_fen=500,
                cod_fee_fen=300,
            )
        )
        db.session.commit()
        return {
            "shoe": shoe.id,
            "38": by_size["38"].id,
            "39": by_size["39"].id,
            "40": by_size["40"].id,
            "deal": deal.id,
            "socks": deal.product.variants[0].id,
            "book": other.variants[0].id,
        }


def hidden(text: str) -> dict:
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', text))


def add(client, variant_id, q=1, ver="basic"):
    return client.post(f"/cart/add?ver={ver}", data={"v": str(variant_id), "q": str(q)})


def checkout(client, region=COVERED, phone="13800138000", ver="basic"):
    """The cart's confirmation for a region, and the fields a buyer submits."""
    page = client.get(f"/cart/checkout?region={region}&ver={ver}")
    assert page.status_code == 200, page.text
    return page, {
        **hidden(page.text),
        "name": "张三",
        "phone": phone,
        "street": "科技园路1号101室",
        "payment": "cod",
    }


def orders(app):
    with app.app_context():
        found = db.session.scalars(select(Order).order_by(Order.id)).all()
        return [
            (o.goods_fen, o.shipping_fen, o.discount_fen, o.total_fen, o.group_number)
            for o in found
        ]


def stock_of(app, *variant_ids):
    with app.app_context():
        return [db.session.get(Variant, v).stock for v in variant_ids]


def test_a_cart_of_three_lines_becomes_one_order_with_hand_computed_totals(app, client, store):
    for variant, q in ((store["38"], 2), (store["39"], 1), (store["socks"], 2)):
        assert add(client, variant, q).status_code == 303
    cart = client.get("/cart?ver=basic")
    assert "跑鞋" in cart.text and "38" in cart.text and "袜子" in cart.text
    # goods 2×199.00 + 209.00 + 2×29.90 = 666.80; 3×800 g + 2×300 g = 3 kg: 10.00 + 2×5.00,
    # and 3.00 for cash on delivery: shipping 23.00, total 689.80.
    page, form = checkout(client)
    assert "￥666.80" in page.text and "￥23.00" in page.text and "￥689.80" in page.text
    placed = client.post("/cart/checkout?ver=basic", data=form)
    assert placed.status_code == 303, placed.text
    assert orders(app) == [(66680, 2300, 0, 68980, None)]
    with app.app_context():
        items = db.session.scalars(select(OrderItem).order_by(OrderItem.id)).all()
        assert sorted((i.variant_label, i.quantity, i.unit_price_fen) for i in items) == [
            ("", 2, DEAL_PRICE),
            ("38", 2, SHOE_PRICE),
            ("39", 1, SHOE_39_PRICE),
        ]
        assert db.session.get(Deal, store["deal"]).sold == 2
    assert stock_of(app, store["38"], store["39"]) == [1, 0]
    done = client.get(placed.headers["Location"])
    assert "￥689.80" in done.text and "跑鞋 38" in done.text and "￥23.00" in done.text
    assert "购物车(" not in client.get("/?ver=basic").text  # the cart is empty now


def test_the_same_cart_confirmation_twice_places_one_order(app, client, store):
    add(client, store["38"], 2)
    _page, form = checkout(client)
    first = client.post("/cart/checkout?ver=basic", data=form)
    second = client.post("/cart/checkout?ver=basic", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(orders(app)) == 1 and stock_of(app, store["38"]) == [1]


def test_two_sellers_goods_become_two_orders_sharing_a_group_number(app, client, store):
    add(client, store["38"])
    add(client, store["book"])
    page, form = checkout(client)
    # Shoe parcel: 0.8 kg → 10.00 + COD 3.00; the dictionary ships free (全国包邮) + COD 3.00.
    assert "￥16.00" in page.text and "分2个包裹发货" in page.text
    placed = client.post("/cart/checkout?ver=basic", data=form)
    assert placed.status_code == 303
    found = orders(app)
    assert [row[:4] for row in found] == [
        (SHOE_PRICE, 1300, 0, SHOE_PRICE + 1300),
        (OTHER_PRICE, 300, 0, OTHER_PRICE + 300),
    ]
    assert found[0][4] and found[0][4] == found[1][4]
    with app.app_context():
        numbers = db.session.scalars(select(Order.number).order_by(Order.id)).all()
        sellers = db.session.execute(
            select(Order.id, func.count(func.distinct(OrderItem.seller_id)))
            .join(OrderItem)
            .group_by(Order.id)
        ).all()
        assert all(n == 1 for _id, n in sellers)  # each seller sees only its own parcel
        # Each order its own lines, its first event and its own "placed" SMS, once.
        for order in db.session.scalars(select(Order).order_by(Order.id)):
            assert [(e.from_status, e.to_status, e.actor, e.note) for e in order.events] == [
                (None, "placed", "guest", "cod")
            ]
            [sms] = db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.order_id == order.id)
            )
            labels = [item.variant_label for item in order.items]
            assert (sms.kind, sms.phone, sms.status) == ("placed", order.phone, "pending")
            assert f"订单{order.number}" in sms.body and (not labels[0] or labels[0] in sms.body)
    done = client.get(placed.headers["Location"])
    assert (
        all(n in done.text for n in numbers) and "￥314.00" in done.text
    )  # 199.00 + 13.00 + 99.00 + 3.00


def test_a_refused_line_names_the_item_and_the_cart_keeps_its_lines(app, client, store):
    add(client, store["38"], 3)
    add(client, store["39"], 1)
    _page, form = checkout(client)
    with app.app_context():
        db.session.get(Variant, store["39"]).active = True
        from_stock = db.session.get(Variant, store["38"])
        from_stock.stock = 2  # someone else bought one meanwhile (test shortcut)
        db.session.commit()
    refused = client.post("/cart/checkout?ver=basic", data=form)
    assert refused.status_code == 409
    assert "「跑鞋 38」库存不足，只剩 2 件" in refused.text
    assert orders(app) == [] and stock_of(app, store["39"]) == [1]
    assert "购物车(2)" in client.get("/?ver=basic").text


def test_the_per_buyer_limit_counts_across_the_variants_a_deal_covers(app, client, store):
    with app.app_context():
        shoe_deal = make_deal(
            db.session.get(Variant, store["38"]).product, deal_price_fen=9900, per_buyer_limit=2
        )
        shoe_deal.variants = [db.session.get(Variant, store["38"])]
        db.session.commit()
    # The deal covers 38 only: 39 keeps its own price.
    product_page = client.get(f"/p/{store['shoe']}?ver=basic").text
    assert "￥99.00" in product_page and "￥209.00" in product_page
    add(client, store["38"], 2)
    add(client, store["39"], 1)
    page, form = checkout(client)
    assert "￥99.00 ×2" in page.text and "￥209.00 ×1" in page.text
    assert client.post("/cart/checkout?ver=basic", data=form).status_code == 303
    with app.app_context():
        for variant in db.session.scalars(select(Variant).where(Variant.id == store["39"])):
            variant.stock = 1
        shoe_deal = db.session.scalar(select(Deal).where(Deal.deal_price_fen == 9900))
        shoe_deal.variants = []  # now all sizes, still 2 per buyer
        db.session.get(Variant, store["38"]).stock = 5
        db.session.commit()
    add(client, store["39"], 1)
    _page, form = checkout(client)
    over = client.post("/cart/checkout?ver=basic", data=form)
    assert over.status_code == 409 and "特价每人限购 2 件，这个手机号还能买 0 件" in over.text


def test_two_lines_of_one_deal_count_together_against_the_limit(app, client, store):
    with app.app_context():
        shoe = db.session.get(Variant, store["38"]).product
        make_deal(shoe, deal_price_fen=9900, per_buyer_limit=2)
        db.session.commit()
    add(client, store["38"], 2)
    add(client, store["39"], 1)
    _page, form = checkout(client)
    refused = client.post("/cart/checkout?ver=basic", data=form)
    assert refused.status_code == 409 and "每人限购 2 件" in refused.text
    assert orders(app) == [] and stock_of(app, store["38"], store["39"]) == [3, 1]


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"v": "", "q": "1"}, "请先选择款式"),
        ({"v": "²", "q": "1"}, "请先选择款式"),
        ({"v": "99999999999999999999", "q": "1"}, "请先选择款式"),
        ({"q": "100"}, "数量请填1到99"),
        ({"q": "-1"}, "数量请填1到99"),
        ({"q": "\x00"}, "控制字符"),
    ],
)
def test_hostile_cart_input_is_a_clear_4xx(app, client, store, fields, message):
    data = {"v": str(store["38"]), **fields}
    answer = client.post(f"/cart/add?p={store['shoe']}&ver=basic", data=data)
    assert 400 <= answer.status_code < 500 and message in answer.text
    assert client.get("/cart?ver=basic").text.count("删除") == 0


def test_sold_out_and_unknown_variants_are_refused(app, client, store):
    sold_out = client.post(f"/cart/add?p={store['shoe']}&ver=basic", data={"v": store["40"]})
    assert sold_out.status_code == 409 and "已售完" in sold_out.text
    assert add(client, 999999).status_code == 404


def test_caps_99_per_line_and_10_lines(app, client, store):
    with app.app_context():
        many = make_product_with_options(
            options=(("颜色", [f"色{i}" for i in range(11)]),), stock=100
        )
        ids = [v.id for v in many.variants]
        db.session.commit()
    assert add(client, ids[0], 99).status_code == 303
    assert add(client, ids[0], 1).status_code == 409
    for v in ids[1:10]:
        assert add(client, v).status_code == 303
    full = add(client, ids[10])
    assert full.status_code == 409 and "最多放10种" in full.text


def test_quantities_change_and_lines_go(app, client, store):
    add(client, store["38"], 1)
    add(client, store["socks"], 1)
    page = client.get("/cart?ver=basic")
    token = hidden(page.text)["csrf_token"]
    changed = client.post("/cart?ver=basic", data={"csrf_token": token, f"q{store['38']}": "3"})
    assert changed.status_code == 303
    assert 'name="q{}" value="3"'.format(store["38"]) in client.get("/cart?ver=basic").text
    client.post("/cart?ver=basic", data={"csrf_token": token, f"rm{store['socks']}": "删除"})
    text = client.get("/cart?ver=basic").text
    assert "袜子" not in text and "跑鞋" in text
    bad = client.post("/cart?ver=basic", data={"csrf_token": token, f"q{store['38']}": "²"})
    assert bad.status_code == 400 and "数量请填0到99" in bad.text
    assert client.post("/cart?ver=basic", data={f"q{store['38']}": "0"}).status_code == 400
    client.post("/cart?ver=basic", data={"csrf_token": token, f"q{store['38']}": "0"})
    assert "购物车是空的" in client.get("/cart?ver=basic").text


def test_the_cart_works_without_cookies_and_survives_a_new_sid(app, store):
    phone = app.test_client(use_cookies=False)
    first = phone.post("/cart/add?ver=wml", data={"v": str(store["38"])})
    sid = re.search(r"sid=([\w-]{16})", first.headers["Location"]).group(1)
    assert phone.get(f"/cart?sid={sid}").text.count("跑鞋") == 1
    with app.app_context():  # the cart is in the server-side session, not in a cookie
        assert "cart" in db.session.get(WebSession, sid).data


def test_the_cart_survives_the_new_sid_a_login_gives(app, client, store):
    register(client)
    client.delete_cookie("wsid")  # a new visitor on the same phone
    add(client, store["38"], 2)
    before = client.get_cookie("wsid").value
    assert login(client).status_code == 303
    assert client.get_cookie("wsid").value != before
    assert "跑鞋" in client.get("/cart?ver=basic").text


def test_wml_picks_one_list_per_option_and_gets_that_variant(app, client, store):
    with app.app_context():
        two = make_product_with_options(
            options=(("颜色", ("黑", "白")), ("尺码", ("38", "39", "40"))), stock=4
        )
        by_label = {v.label: v.id for v in two.variants}
        two_id = two.id
        db.session.commit()
    deck = client.get(f"/p/{two_id}?ver=wml").text
    assert 'iname="o1"' in deck and 'iname="o2"' in deck and "<option>白</option>" in deck
    confirm = client.get(f"/buy/{two_id}?o1=2&o2=3&region={COVERED}")
    assert confirm.status_code == 200 and "白/40" in confirm.text
    assert client.post(f"/cart/add?p={two_id}", data={"o1": "1", "o2": "2"}).status_code == 303
    assert hidden(client.get("/cart/checkout?ver=basic").text)["lines"].startswith("#")
    with app.test_request_context():
        assert session_cart(client) == [[by_label["黑/39"], 1]]
    for bad in ({"o1": "3", "o2": "1"}, {"o1": "²", "o2": "1"}, {"o1": "1"}):
        answer = client.get(f"/buy/{two_id}", query_string=bad)
        assert answer.status_code == 400 and "请先选择款式" in answer.text


def session_cart(client):
    """The cart as the server-side session holds it."""
    sid = client.get_cookie("wsid").value
    return json.loads(db.session.get(WebSession, sid).data)["cart"]


def test_the_cart_confirmation_catches_a_cart_changed_after_it_was_shown(app, client, store):
    add(client, store["38"], 1)
    _page, form = checkout(client)
    add(client, store["socks"], 1)  # another tab
    changed = client.post("/cart/checkout?ver=basic", data=form)
    assert changed.status_code == 409 and "购物车里的商品或价格有变化" in changed.text
    assert orders(app) == []
    again = client.post("/cart/checkout?ver=basic", data={**form, **hidden(changed.text)})
    assert again.status_code == 303 and orders(app)[0][0] == SHOE_PRICE + DEAL_PRICE
