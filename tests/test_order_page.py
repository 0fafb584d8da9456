"""The buyer's order page: lines with their variant, fees and total, the way paid, the parcel
once shipped, the other parts of a purchase, buyer words for every status, and cancelling
only after a confirmation page on every rendition."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from support.fulfilment import place_order, walk
from wapclient import FlaskTransport, WapClient
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, OrderStatus, Shipment
from wapshop.services import fulfilment
from wapshop.services.orders import STATUS_TEXT

PHONES = {
    "wml": ("Nokia7110/1.0 (05.01)", "text/vnd.wap.wml"),
    "basic": (
        "SAMSUNG-SGH-E250/1.0 Profile/MIDP-2.0 Configuration/CLDC-1.1 UP.Browser/6.2.3.3.c.1.101",
        "application/vnd.wap.xhtml+xml,application/xhtml+xml;q=0.9,*/*;q=0.5",
    ),
    "color": (
        "Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1",
        "application/vnd.wap.xhtml+xml,text/html;q=0.8,*/*;q=0.5",
    ),
    "touch": (
        "Mozilla/5.0 (Linux; Android 4.4.2; HM NOTE 1LTE) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/30.0.0.0 Mobile Safari/537.36",
        "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
    ),
}
RENDITIONS = tuple(PHONES)
BUYER = "13800138000"
# Words of the back office a buyer must never read.
STAFF_ONLY = {
    word
    for word in fulfilment.STATUS_LABELS.values()
    if not any(word in str(buyer) for buyer in STATUS_TEXT.values())
} | {"审核"}


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def order_in(app, number) -> Order:
    return db.session.scalar(select(Order).where(Order.number == number))


@pytest.fixture
def placed(app, shop):
    """A cash-on-delivery order of the small seller's product: (id, number, buyer's client)."""
    return place_order(app, shop["small_product"])


def dress(app, number, **values):
    """Arrange: give the order a variant, a shipping fee and a discount (totals kept right)."""
    with app.app_context():
        order = order_in(app, number)
        order.items[0].variant_label = values.get("variant", "尺码:42 颜色:黑")
        order.shipping_fen = values.get("shipping", 1200)
        order.discount_fen = values.get("discount", 500)
        order.total_fen = order.goods_fen + order.shipping_fen - order.discount_fen
        db.session.commit()
        return order.goods_fen, order.total_fen


@pytest.mark.parametrize("ver", RENDITIONS)
def test_order_page_shows_lines_with_variant_fees_total_and_way_paid(app, placed, ver):
    _id, number, client = placed
    goods, total = dress(app, number)
    page = text_of(client.get(f"/o/{number}?ver={ver}").text)
    assert "尺码:42 颜色:黑" in page and "x1" in page.replace("×", "x")
    assert "运费" in page and "￥12.00" in page
    assert "优惠" in page and "-￥5.00" in page
    assert f"￥{total / 100:.2f}" in page
    if ver != "wml":  # the deck has no bytes for the goods line: lines, fees and total say it
        assert "商品金额" in page and f"￥{goods / 100:.2f}" in page
    assert "货到付款" in page


def test_free_shipping_says_so_and_no_discount_line(app, placed):
    _id, number, client = placed
    dress(app, number, shipping=0, discount=0)
    page = text_of(client.get(f"/o/{number}?ver=basic").text)
    assert "免运费" in page and "优惠" not in page


@pytest.mark.parametrize("ver", RENDITIONS)
def test_carrier_and_waybill_appear_once_shipped(app, placed, ver):
    order_id, number, client = placed
    assert "运单号" not in client.get(f"/o/{number}?ver={ver}").text
    walk(app, order_id, "shipped")
    with app.app_context():
        parcel = db.session.scalar(select(Shipment).where(Shipment.order_id == order_id))
        carrier, waybill = parcel.carrier, parcel.tracking_number
    page = text_of(client.get(f"/o/{number}?ver={ver}").text)
    assert "运单号" in page and carrier in page and waybill in page
    assert str(STATUS_TEXT[OrderStatus.SHIPPED]) in page


def test_every_status_has_buyer_words():
    assert set(STATUS_TEXT) == set(OrderStatus)
    assert all("审核" not in str(words) for words in STATUS_TEXT.values())


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("ver", ["wml", "basic", "touch"])
def test_order_page_and_list_use_buyer_words_for_every_status(app, placed, status, ver):
    order_id, number, client = placed
    with app.app_context():
        order = order_in(app, number)
        db.session.add(
            OrderEvent(order_id=order_id, actor="test", from_status=order.status, to_status=status)
        )
        order.status = status
        db.session.commit()
    for url in (f"/o/{number}?ver={ver}", f"/o?ver={ver}"):
        page = text_of(client.get(url).text)
        assert str(STATUS_TEXT[status]) in page, url
        assert str(status) not in page, url  # no raw code
        assert not [word for word in STAFF_ONLY if word in page], url


def buyer_phone(app, ver: str) -> WapClient:
    phone = WapClient(FlaskTransport(app), *PHONES[ver])
    phone.open(f"/?ver={ver}")
    return phone


def find_order(phone: WapClient, number: str):
    phone.open("/o/find")
    return phone.submit("查询", {"phone": BUYER, "number": number})


@pytest.mark.parametrize("ver", RENDITIONS)
def test_cancelling_asks_first_on_every_rendition(app, placed, ver):
    order_id, number, _client = placed
    phone = buyer_phone(app, ver)
    page = find_order(phone, number)
    assert page.status == 200 and number in page.visible_text
    # The order page itself holds no form that cancels: only a link to the question.
    assert not any(
        go.get("method") == "post" and "/cancel" in go.get("href", "") for go in page.find("go")
    )
    assert not any("/cancel" in form.get("action", "") for form in page.find("form"))
    question = phone.follow("取消订单")
    assert question.status == 200 and "确认取消" in question.text
    with app.app_context():
        assert order_in(app, number).status == OrderStatus.PLACED  # a GET never cancels
    back = phone.follow("返回")
    assert urls_path(back.url) == f"/o/{number}"
    phone.follow("取消订单")
    done = phone.submit("确认取消")
    assert done.status == 200 and str(STATUS_TEXT[OrderStatus.CANCELLED]) in done.visible_text
    with app.app_context():
        assert order_in(app, number).status == OrderStatus.CANCELLED
    assert "取消订单" not in [link.text for link in done.links()]


def urls_path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0]


def test_the_question_of_an_order_that_cannot_be_cancelled_goes_back_to_it(app, placed):
    order_id, number, client = placed
    walk(app, order_id, "shipped")
    response = client.get(f"/o/{number}/cancel")
    assert response.status_code == 303 and response.headers["Location"].startswith(f"/o/{number}")
    with app.app_context():
        assert order_in(app, number).status == OrderStatus.SHIPPED


def test_a_stranger_gets_no_question_and_cannot_cancel(app, placed):
    _id, number, _client = placed
    stranger = app.test_client()
    assert stranger.get(f"/o/{number}/cancel").status_code == 404


def test_the_parts_of_one_purchase_link_each_other(app, shop, placed):
    order_id, number, client = placed
    other_id, other, _other_client = place_order(app, shop["big_product"])
    with app.app_context():
        for oid in (order_id, other_id):
            db.session.get(Order, oid).group_number = number
        db.session.commit()
    page = client.get(f"/o/{number}?ver=basic").text
    assert f"/o/{other}" in page
    # The session that placed one part may open the others; nobody else may.
    assert client.get(f"/o/{other}").status_code == 200
    assert app.test_client().get(f"/o/{other}").status_code == 404


@pytest.mark.parametrize("ver", ["basic", "touch"])
def test_my_orders_names_the_products_and_their_variants(app, placed, ver):
    _id, number, client = placed
    dress(app, number, variant="尺码:42")
    with app.app_context():
        title = order_in(app, number).items[0].title
    page = text_of(client.get(f"/o?ver={ver}").text)
    assert title[:10] in page and "尺码:42" in page and number in page


TOUCH_PAGES = ("/o/{n}", "/o/{n}/cancel", "/o", "/o/find", "/u/login", "/u/register")


@pytest.mark.parametrize("path", TOUCH_PAGES)
def test_touch_order_pages_use_the_touch_layout_and_style(app, placed, path):
    _id, number, client = placed
    page = client.get(path.format(n=number) + "?ver=touch").text
    assert "css/touch.css" in page and '<meta name="viewport"' in page
    assert 'class="card"' in page or 'class="orders"' in page
    assert re.search(r"<main><h1>", page)  # its own touch page, not basic markup in the layout


def test_touch_css_styles_the_basic_markup_of_placed_and_after_sales_pages(app):
    """Those pages are another lane's shared markup: styled through the stylesheet only."""
    css = (Path(app.static_folder) / "css" / "touch.css").read_text(encoding="utf-8")
    assert re.search(r"main>div\{background:#fff", css)
