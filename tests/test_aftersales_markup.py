"""The buyer's after-sales pages on every rendition, at their largest: valid WML 1.1 and
XHTML-MP 1.2, HTML5 on touch, and within each rendition's byte budget, measured from a phone
that keeps no cookies (a sid in every URL). The largest: the longest title, receiver and
street, two requests with the longest texts, each answered with the longest replies."""

import pytest
from lxml import html
from sqlalchemy import select

from conftest import require_tool
from factories import COVERED, make_product, make_product_with_options
from test_markup import BUDGET, PHONES, only_sid, validate, with_params
from support.fulfilment import walk
from support.staff import add_staff
from wapclient import FlaskTransport, WapClient, footer_versions
from wapshop.extensions import db
from wapshop.forms.checkout import NAME_MAX, STREET_MAX
from wapshop.models import Order, Staff
from wapshop.clock import utcnow
from wapshop.renditions import RENDITIONS
from wapshop.services import aftersales, fulfilment

LONG_TITLE = ("加厚保暖羽绒服男款冬季中长款连帽外套" * 8)[:120]
LONG_NAME = "欧阳" * (NAME_MAX // 2)
LONG_STREET = ("幸福村委会第三村民小组" * 6)[:STREET_MAX]
LONG_BODY = ("鞋码偏小穿着挤脚想换大一码可以吗" * 7)[: aftersales.BODY_MAX]
LONG_REPLY = ("您好，已为您登记，请把商品寄回深圳市南山区科技园仓库，运费由我们承担。" * 5)[
    : aftersales.REPLY_MAX
]


def buyer_phone(app, rendition: str, product_id: int) -> tuple[WapClient, str]:
    """A cookie-less phone that placed the largest order it could; returns it and the number."""
    user_agent, accept = PHONES[rendition]
    phone = WapClient(FlaskTransport(app), user_agent, accept)
    phone.open(f"/?ver={rendition}")
    phone.open(with_params(f"/buy/{product_id}?region={COVERED}", sid=only_sid(phone.page)))
    placed = phone.submit(
        "提交订单",
        {"quantity": "1", "name": LONG_NAME, "phone": "13800138000", "street": LONG_STREET},
    )
    assert placed.status == 200, placed.text
    with app.app_context():
        number = db.session.scalar(select(Order.number).order_by(Order.id.desc()).limit(1))
    return phone, number


def fill_after_sales(app, order_id: int) -> int:
    """The longest story an order page can tell: settled, returned and refunded (nine
    events), plus a complaint and a question, every request answered at length three times.
    Returns the complaint's id."""
    username = add_staff(app, "admin")
    walk(app, order_id, "delivered", username)
    with app.app_context():
        order = db.session.get(Order, order_id)
        staff = db.session.scalar(select(Staff).where(Staff.username == username))
        now = utcnow()
        fulfilment.settle(
            order.carrier, f"R{order_id}", [order_id], None, staff, now, fulfilment.Settings()
        )
        tickets = {}
        for kind in ("return", "complaint", "question"):
            tickets[kind] = ticket = aftersales.open_ticket(
                order, kind, LONG_BODY, "guest", now, app.config["RETURN_WINDOW"]
            )
            for _ in range(3):
                aftersales.reply(ticket, LONG_REPLY, staff, now)
                aftersales.buyer_reply(ticket, LONG_BODY, "guest", now)
        aftersales.accept(tickets["return"], LONG_REPLY, staff, now)
        aftersales.receive_return(tickets["return"], staff, now)
        aftersales.refund(tickets["return"], "现金退回", staff, now)
        db.session.commit()
        return tickets["complaint"].id


@pytest.fixture
def pages(app, shop):
    """Rendition → the order page, the request form sent back with an error, a ticket page."""
    with app.app_context():
        product = make_product(title=LONG_TITLE, stock=10, seller_id=shop["small"])
        # The widest exchange choice: another of 3 colours × 7 sizes.
        shoe = make_product_with_options("颜色:黑色 白色 卡其色\n尺码:38-44", stock=2)
        db.session.commit()
        product_id, shoe_id, first = product.id, shoe.id, shoe.variants[0]
        first_id, first_label = first.id, first.label
    found = {}
    for rendition in RENDITIONS:
        phone, number = buyer_phone(app, rendition, product_id)
        with app.app_context():
            order_id = db.session.scalar(select(Order.id).where(Order.number == number))
            item = db.session.get(Order, order_id).items[0]
            item.product_id, item.variant_id, item.variant_label = shoe_id, first_id, first_label
            db.session.commit()
        ticket_id = fill_after_sales(app, order_id)
        sid = only_sid(phone.page)
        order_page = phone.open(with_params(f"/o/{number}", sid=sid))
        phone.follow("售后" if rendition == "wml" else "咨询/投诉/退换货")
        refused = phone.submit("提交", {"kind": "return", "body": LONG_BODY})
        # The exchange form with its sizes (on WML a deck of its own), refused at its longest.
        phone.open(with_params(f"/o/{number}/help?kind=exchange", sid=sid))
        other_size = {"variant": str(first_id + 1), "body": LONG_BODY}
        exchange = phone.submit(
            "提交", other_size | ({} if rendition == "wml" else {"kind": "exchange"})
        )
        ticket = phone.open(with_params(f"/o/{number}/help/{ticket_id}", sid=sid))
        found[rendition] = {
            "order": order_page,
            "refused": refused,
            "exchange": exchange,
            "ticket": ticket,
        }
    return found


def test_after_sales_pages_are_valid_small_and_carry_the_session(pages):
    require_tool("/etc/xml/w3c-sgml-lib.xml", "XHTML-MP DTD modules")
    for rendition, by_name in pages.items():
        for name, page in by_name.items():
            where = f"{rendition} {name} {page.url}"
            assert page.status == (409 if name in ("refused", "exchange") else 200), where
            only_sid(page)
            assert len(page.body) <= BUDGET[rendition], (
                f"{where}: {len(page.body)} bytes\n{page.text}"
            )
            assert footer_versions(page) == set(RENDITIONS) - {rendition}, where
            if name == "exchange":  # the other sizes of its colour, its size in other colours
                assert "黑色/44" in page.text and "卡其色/38" in page.text, where
                assert "白色/39" not in page.text and "这个订单已经退款了" in page.text, where
            if rendition == "touch":
                assert page.body.startswith(b"<!DOCTYPE html>")
                html.document_fromstring(page.body)
            else:
                validate(page.body)
                assert page.find("script") == []


def test_the_replies_and_the_refusal_read_right_on_every_rendition(pages):
    for rendition, by_name in pages.items():
        order_text = by_name["order"].visible_text
        assert "售后" in order_text and "已退款" in order_text, rendition
        if rendition != "wml":
            assert LONG_REPLY in order_text, rendition
        assert "这个订单已经退款了" in by_name["refused"].visible_text, rendition
        assert LONG_REPLY in by_name["ticket"].visible_text, rendition
