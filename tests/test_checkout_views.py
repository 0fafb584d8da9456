"""Buying through the views: the confirmation form, refusals, twin submits."""

import re

import pytest
from sqlalchemy import func, select

from factories import COVERED, UNCOVERED, make_deal, make_product, make_regions
from support.buyers import confirm_form
from support.pages import token_in
from wapshop.extensions import db
from wapshop.services import stock
from wapshop.models import Deal, Order, OrderEvent, OrderItem, Product


def hidden_fields(text: str) -> dict:
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', text))


@pytest.fixture
def shop(app):
    """Regions, a plain product and a deal product; ids to use in requests."""
    with app.app_context():
        make_regions()
        plain = make_product(stock=5)
        deal = make_deal(quantity=3, per_buyer_limit=2)
        db.session.commit()
        return {"plain": plain.id, "deal_product": deal.product_id, "deal": deal.id}


def counts(app, product_id, deal_id=None):
    """(orders, stock, deal sold) as the database has them now."""
    with app.app_context():
        stock = db.session.get(Product, product_id).stock
        sold = db.session.get(Deal, deal_id).sold if deal_id else None
        return db.session.scalar(select(func.count(Order.id))), stock, sold


def test_placing_a_cod_order_takes_stock_and_shows_the_order(app, client, shop):
    page = client.get(f"/buy/{shop['plain']}?q=2&region={COVERED}&ver=touch")
    form = {**confirm_form(client, shop["plain"]), **hidden_fields(page.text)}
    del form["quantity"]
    response = client.post(f"/buy/{shop['plain']}", data=form)
    assert response.status_code == 303
    number = re.search(r"/buy/done/(\d{10})", response.headers["Location"]).group(1)
    placed = client.get(response.headers["Location"])
    assert number in placed.text and "客服将致电 138****8000 确认订单" in placed.text
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        product = db.session.get(Product, shop["plain"])
        assert order.total_fen == 2 * product.shop_price_fen
        assert order.status == "placed" and order.carrier == "顺丰"
        assert product.stock == 3
        assert [e.to_status for e in db.session.scalars(select(OrderEvent))] == ["placed"]
    assert client.get(f"/o/{number}").status_code == 200


def test_the_same_confirmation_submitted_twice_creates_one_order(app, client, shop):
    form = confirm_form(client, shop["deal_product"])
    first = client.post(f"/buy/{shop['deal_product']}", data=form)
    second = client.post(f"/buy/{shop['deal_product']}", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    orders, stock, sold = counts(app, shop["deal_product"], shop["deal"])
    assert (orders, sold) == (1, 1)


BAD_INPUT = [
    ("phone", "12345678901", "11位手机号"),
    ("phone", "0755-12345678", "11位手机号"),
    ("phone", "", "请填写手机号"),
    ("name", "", "请填写收货人"),
    ("name", "张" * 5000, "姓名最多20个字"),
    ("street", "", "请填写详细地址"),
    ("street", "路" * 3500, "详细地址请写"),  # 10 KB of UTF-8
    ("quantity", "0", "数量请填"),
    ("quantity", "-1", "数量请填"),
    ("quantity", "100", "数量请填"),
    ("quantity", "abc", "数量请填"),
    ("quantity", "", "数量请填"),
    ("csrf_token", "", "页面已过期"),
    ("csrf_token", "stale-token", "页面已过期"),
    ("payment", "bitcoin", "请选择付款方式"),
]


@pytest.mark.parametrize("field,value,message", BAD_INPUT)
def test_bad_input_gets_the_form_back_and_changes_nothing(app, client, shop, field, value, message):
    before = counts(app, shop["deal_product"], shop["deal"])
    form = {**confirm_form(client, shop["deal_product"]), field: value}
    response = client.post(f"/buy/{shop['deal_product']}", data=form)
    assert 400 <= response.status_code < 500
    assert message in response.text
    assert 'name="street"' in response.text  # the form is back
    assert counts(app, shop["deal_product"], shop["deal"]) == before


def test_a_forged_price_is_never_charged(app, client, shop):
    form = confirm_form(client, shop["plain"])
    variant, quantity, _price, deal = form["lines"].split(".")
    form["lines"] = f"{variant}.{quantity}.1.{deal}"  # one fen
    response = client.post(f"/buy/{shop['plain']}", data=form)
    assert response.status_code == 409 and "价格或特价有变化" in response.text
    assert counts(app, shop["plain"])[0] == 0
    # The page now carries the real price: confirming again places the order at that price.
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', response.text))
    again = client.post(f"/buy/{shop['plain']}", data={**form, **hidden})
    assert again.status_code == 303
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.total_fen == db.session.get(Product, shop["plain"]).shop_price_fen


@pytest.mark.parametrize("region", ["999999", "abc", "", "440300", "4403051"])
def test_an_unknown_or_incomplete_region_is_refused(app, client, shop, region):
    form = {**confirm_form(client, shop["plain"]), "region": region}
    response = client.post(f"/buy/{shop['plain']}", data=form)
    assert response.status_code == 400 and "请先选择收货地区" in response.text
    assert counts(app, shop["plain"])[0] == 0


def test_cod_is_not_offered_where_no_carrier_collects_cash(app, client, shop):
    page = client.get(f"/buy/{shop['plain']}?region={UNCOVERED}&ver=basic")
    assert "暂无快递代收货款" in page.text
    assert 'value="cod"' not in page.text
    # The page had no form to send; a form from a covered region, sent with this one, is refused.
    form = {**confirm_form(client, shop["plain"]), "region": UNCOVERED, "payment": "cod"}
    response = client.post(f"/buy/{shop['plain']}", data=form)
    assert response.status_code == 409 and "暂无快递代收货款" in response.text
    assert counts(app, shop["plain"])[0] == 0


def confirm_q(client, product_id, q: int) -> dict:
    """The confirmation of 立即购买 with `q` chosen on the product page."""
    page = client.get(f"/buy/{product_id}?q={q}&region={COVERED}&ver=touch")
    form = {**confirm_form(client, product_id), **hidden_fields(page.text)}
    del form["quantity"]
    return form


def test_quantity_over_stock_is_refused(app, client, shop):
    form = confirm_q(client, shop["plain"], 6)
    response = client.post(f"/buy/{shop['plain']}", data=form)
    assert response.status_code == 409 and "库存不足" in response.text
    assert counts(app, shop["plain"]) == (0, 5, None)


def test_per_buyer_deal_limit_counts_earlier_orders_of_the_phone(app, client, shop):
    pid = shop["deal_product"]
    first = client.post(f"/buy/{pid}", data=confirm_q(client, pid, 2))
    assert first.status_code == 303
    over = client.post(f"/buy/{pid}", data=confirm_form(client, pid))
    assert over.status_code == 409 and "每人限购 2 件" in over.text
    other_phone = {**confirm_form(client, pid), "phone": "13900139000"}
    assert client.post(f"/buy/{pid}", data=other_phone).status_code == 303
    assert counts(app, pid, shop["deal"])[0::2] == (2, 3)


def test_cancelling_frees_the_limit_and_restores_stock(app, client, shop):
    pid = shop["deal_product"]
    placed = client.post(f"/buy/{pid}", data=confirm_q(client, pid, 2))
    number = placed.headers["Location"].rsplit("/", 1)[-1].split("?")[0]
    page = client.get(f"/o/{number}/cancel")  # the question before cancelling
    token = token_in(page.text)
    assert client.post(f"/o/{number}/cancel", data={"csrf_token": token}).status_code == 303
    assert counts(app, pid, shop["deal"])[2] == 0
    again = client.post(f"/o/{number}/cancel", data={"csrf_token": token})
    assert again.status_code == 409 and "不能再取消" in again.text
    assert counts(app, pid, shop["deal"])[2] == 0
    assert client.post(f"/buy/{pid}", data=confirm_q(client, pid, 2)).status_code == 303


def test_a_deal_that_ends_while_the_buyer_looks_is_caught_at_placing(app, client, shop):
    pid = shop["deal_product"]
    form = confirm_form(client, pid)
    with app.app_context():
        db.session.get(Deal, shop["deal"]).stopped = True
        db.session.commit()
    response = client.post(f"/buy/{pid}", data=form)
    assert response.status_code == 409 and "价格或特价有变化" in response.text
    assert counts(app, pid)[0] == 0


def test_a_deal_price_change_is_caught_and_orders_keep_their_price(app, client, shop):
    pid = shop["deal_product"]
    first = client.post(f"/buy/{pid}", data=confirm_form(client, pid))
    assert first.status_code == 303
    form = {**confirm_form(client, pid), "phone": "13900139000"}
    with app.app_context():
        deal = db.session.get(Deal, shop["deal"])
        old_price = deal.deal_price_fen
        deal.deal_price_fen = old_price + 500
        db.session.commit()
    assert client.post(f"/buy/{pid}", data=form).status_code == 409
    with app.app_context():
        line = db.session.scalar(select(OrderItem))
        assert line.unit_price_fen == old_price


def test_sold_out_product_cannot_be_ordered(app, client, shop):
    form = confirm_form(client, shop["plain"])
    with app.app_context():
        stock.set_sole_stock(shop["plain"], 0)
        db.session.commit()
    response = client.post(f"/buy/{shop['plain']}", data=form)
    assert response.status_code == 409 and "库存不足" in response.text


@pytest.mark.parametrize("url", ["/buy/999999", "/buy/999999?region=440305"])
def test_unknown_product_is_a_404(client, shop, url):
    assert client.get(url).status_code == 404


def test_a_pick_list_index_chooses_the_nth_region_under_its_parent(client, shop):
    # WML posts the chosen option's position (iname) with the parent's code.
    page = client.get(f"/buy/{shop['plain']}?region=440300&n=1&ver=basic")
    assert "广东省深圳市南山区" in page.text and 'name="street"' in page.text
    top = client.get(f"/buy/{shop['plain']}?pick=1&n=2&ver=basic")
    assert "拉萨市" in top.text  # second province by code: 西藏, whose cities are listed
    beyond = client.get(f"/buy/{shop['plain']}?region=440300&n=99&ver=basic")
    assert (
        beyond.status_code == 200 and "南山区" in beyond.text and 'name="street"' not in beyond.text
    )


def test_a_confirmation_from_before_carts_still_places_its_order(app, client, shop):
    """A page a phone kept from before this version posts price and deal, no lines."""
    form = confirm_form(client, shop["deal_product"])
    variant, _q, price, deal = form.pop("lines").split(".")
    del form["total"]
    old = {**form, "price": price, "deal": deal}
    assert client.post(f"/buy/{shop['deal_product']}", data=old).status_code == 303
    stale = {**confirm_form(client, shop["deal_product"]), "price": "1", "deal": deal}
    del stale["lines"]
    refused = client.post(f"/buy/{shop['deal_product']}", data={**stale, "phone": "13900139000"})
    assert refused.status_code == 409 and "价格或特价有变化" in refused.text
    assert counts(app, shop["deal_product"], shop["deal"])[0::2] == (1, 1)
