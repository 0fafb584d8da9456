"""The cookie-less, script-less client (tests/wapclient.py) logs in, types a code and uses
its points on the confirmation, sees the saving, then places: on wml, basic and color."""

import pytest
from sqlalchemy import select

from factories import COVERED
from support.buyers import PASSWORD, PHONE, register
from test_cart import OTHER_PRICE
from test_featurephone_flows import PHONES
from test_members_checkout import codes, db_product, store  # noqa: F401
from wapclient import FlaskTransport, WapClient, only_sid
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Order
from wapshop.services.members import points


@pytest.mark.parametrize("rendition", ["wml", "basic", "color"])
def test_a_phone_uses_a_code_and_points_at_checkout(app, client, codes, rendition):  # noqa: F811
    assert register(client).status_code == 303  # the account; the phone logs in below
    phone = WapClient(FlaskTransport(app), *PHONES[rendition])
    phone.open(f"/u/login?ver={rendition}")
    phone.submit("登录", {"phone": PHONE, "password": PASSWORD})
    product = db_product(app, codes["book"])
    sid = only_sid(phone.page)
    page = phone.open(f"/buy/{product}?region={COVERED}&ver={rendition}&sid={sid}")
    fields = {"name": "张三", "phone": PHONE, "street": "人民路100号3单元"}
    choice = {"coupon": "SAVE50", "points": "1000"}
    if page.is_wml:  # chosen on a deck of its own, linked from the confirmation
        deck = phone.follow("用券")
        assert "用1000积分抵￥10.00" in deck.visible_text
        shown = phone.submit("确定", choice)
    else:
        assert "用1000积分抵￥10.00" in page.visible_text
        shown = phone.submit("提交订单", fields | choice)
        assert "已按所选优惠重新计算" in shown.visible_text
    assert shown.status == 200 and "￥42.00" in shown.visible_text
    # 99.00 + COD 3.00 − 50.00 (SAVE50) − 10.00 (1,000 points) = 42.00
    with app.app_context():
        assert db.session.scalar(select(Order.id)) is None
    placed = phone.submit("提交订单", fields if page.is_wml else {})
    assert placed.status == 200 and "￥42.00" in placed.visible_text
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert (order.goods_fen, order.shipping_fen) == (OTHER_PRICE, 300)
        assert (order.discount_fen, order.total_fen) == (6000, 4200)
        assert points.balance(PHONE, utcnow()) == 0
