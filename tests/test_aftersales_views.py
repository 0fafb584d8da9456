"""After-sales from the buyer's order page: questions, complaints, returns within 7 days of
delivery (refused after, with a clear message), replies from customer service shown on the
order page, and a return carried through to the refund."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from support.fulfilment import place_order, shift_events, state, walk
from support.pages import form_fields, token_in
from support.staff import staff_client
from wapshop.extensions import db
from wapshop.models import OutboxMessage, Refund, Ticket


def ask(client, number, kind, body, ver="basic", lang=None):
    """Open the after-sales form from the order page and send it."""
    query = f"?ver={ver}" + (f"&lang={lang}" if lang else "")
    order_page = client.get(f"/o/{number}{query}")
    assert f"/o/{number}/help" in order_page.text
    page = client.get(f"/o/{number}/help{query}")
    assert page.status_code == 200
    token = token_in(page.text)
    return client.post(
        f"/o/{number}/help{query}", data={"csrf_token": token, "kind": kind, "body": body}
    )


def tickets(app):
    with app.app_context():
        return db.session.scalars(select(Ticket)).all()


@pytest.fixture
def delivered(app, shop):
    """A cash-on-delivery order delivered just now, and the buyer's browser that placed it."""
    order_id, number, buyer = place_order(app, shop["small_product"])
    walk(app, order_id, "delivered")
    return order_id, number, buyer


def test_a_return_request_after_seven_days_is_refused_with_a_clear_message(app, shop, delivered):
    order_id, number, buyer = delivered
    shift_events(app, order_id, timedelta(days=7, minutes=1))
    response = ask(buyer, number, "return", "鞋子太小了")
    assert response.status_code == 409
    assert (
        "签收已超过7天，不能再申请退换货。有问题可以咨询或投诉，或拨打客服电话。" in response.text
    )
    assert state(app, order_id, shop["small_product"])[0] == "delivered"
    assert tickets(app) == []
    # In English too, and an exchange is refused the same way.
    english = ask(buyer, number, "exchange", "wrong size", lang="en")
    assert english.status_code == 409
    assert "more than 7 days ago" in english.text
    # A question is still welcome.
    assert ask(buyer, number, "question", "怎么保养？").status_code == 303


def test_a_return_before_delivery_is_refused(app, shop):
    order_id, number, buyer = place_order(app, shop["small_product"])
    response = ask(buyer, number, "return", "不想要了")
    assert response.status_code == 409 and "订单签收后才能申请退换货" in response.text
    assert state(app, order_id, shop["small_product"])[0] == "placed"


def test_only_whoever_may_see_the_order_reaches_its_after_sales(app, delivered):
    _order_id, number, _buyer = delivered
    stranger = app.test_client()
    assert stranger.get(f"/o/{number}/help").status_code == 404
    assert stranger.post(f"/o/{number}/help", data={"kind": "question"}).status_code == 404


def test_a_return_on_day_six_goes_to_refund_and_the_buyer_reads_every_reply(app, shop, delivered):
    order_id, number, buyer = delivered
    pid = shop["small_product"]
    shift_events(app, order_id, timedelta(days=6))
    response = ask(buyer, number, "return", "尺码偏小，想退货")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/o/{number}")
    assert state(app, order_id, pid)[::2] == ("return_requested", 9)
    page = buyer.get(f"/o/{number}?ver=basic").text
    assert "退货" in page and "等待客服处理" in page and "退换货申请中" in page

    service = staff_client(app, "service")
    queue = service.get("/admin/aftersales/").text
    ticket_id = tickets(app)[0].id
    assert f"/admin/aftersales/{ticket_id}" in queue and "尺码偏小" in queue
    url = f"/admin/aftersales/{ticket_id}"
    fields = form_fields(service.get(url).text, f"{url}/accept")
    reply = "同意退货，请寄回：深圳市南山区科技园1号 收件人王五"
    assert service.post(f"{url}/accept", data={**fields, "body": reply}).status_code == 303

    # The reply is on the order page, in every rendition.
    for ver in ("basic", "color", "touch"):
        assert reply in buyer.get(f"/o/{number}?ver={ver}").text, ver
    # The WML deck has room for a line: it leads to the request, where the reply is.
    wml = buyer.get(f"/o/{number}?ver=wml").text
    assert f"/o/{number}/help" in wml and "已同意，请按回复寄回商品" in wml
    assert f"/o/{number}/help/{ticket_id}" in buyer.get(f"/o/{number}/help?ver=wml").text
    assert reply in buyer.get(f"/o/{number}/help/{ticket_id}?ver=wml").text

    fields = form_fields(service.get(url).text, f"{url}/receive")
    assert service.post(f"{url}/receive", data=fields).status_code == 303
    assert state(app, order_id, pid)[::2] == ("returned", 10)

    # Cash on delivery: the cash refund is recorded, and must say how it was paid.
    fields = form_fields(service.get(url).text, f"{url}/refund")
    missing = service.post(f"{url}/refund", data={**fields, "cash_note": ""})
    assert missing.status_code == 409 and "现金怎么退的" in missing.text
    fields = form_fields(service.get(url).text, f"{url}/refund")
    done = service.post(f"{url}/refund", data={**fields, "cash_note": "支付宝转账 王五 经手"})
    assert done.status_code == 303
    status, moves, stock = state(app, order_id, pid)
    assert (status, stock) == ("refunded", 10)
    assert [(f, t) for f, t, _a in moves[-3:]] == [
        ("delivered", "return_requested"),
        ("return_requested", "returned"),
        ("returned", "refunded"),
    ]
    with app.app_context():
        refund = db.session.scalar(select(Refund))
        assert (refund.method, refund.amount_fen, refund.note) == (
            "cash",
            5990,
            "支付宝转账 王五 经手",
        )
        assert db.session.get(Ticket, ticket_id).status == "closed"
        kinds = db.session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.order_id == order_id)
        )
        assert "refunded" in list(kinds)
    assert "已退款" in buyer.get(f"/o/{number}?ver=basic").text


def test_the_buyer_adds_to_an_answered_question_and_it_waits_for_service_again(app, delivered):
    _order_id, number, buyer = delivered
    assert ask(buyer, number, "question", "能开发票吗？").status_code == 303
    ticket_id = tickets(app)[0].id
    service = staff_client(app, "service")
    url = f"/admin/aftersales/{ticket_id}"
    fields = form_fields(service.get(url).text, f"{url}/reply")
    assert (
        service.post(f"{url}/reply", data={**fields, "body": "可以，请告诉我们抬头。"}).status_code
        == 303
    )
    assert "客服已回复" in buyer.get(f"/o/{number}?ver=basic").text

    page = buyer.get(f"/o/{number}/help/{ticket_id}?ver=basic")
    assert "可以，请告诉我们抬头。" in page.text
    token = token_in(page.text)
    response = buyer.post(
        f"/o/{number}/help/{ticket_id}?ver=basic", data={"csrf_token": token, "body": "个人"}
    )
    assert response.status_code == 303
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.status == "open" and [r.body for r in ticket.replies][-1] == "个人"

    # Closing it with an answer ends it: the buyer can no longer add to it.
    fields = form_fields(service.get(url).text, f"{url}/reply")
    closing = service.post(f"{url}/reply", data={**fields, "body": "已开个人发票。", "close": "1"})
    assert closing.status_code == 303
    assert "已完成" in buyer.get(f"/o/{number}/help/{ticket_id}?ver=basic").text


def test_an_exchange_is_worked_from_the_staff_page_and_the_buyer_gets_the_new_waybill(
    app, shop, delivered
):
    order_id, number, buyer = delivered
    assert ask(buyer, number, "exchange", "鞋底开胶了").status_code == 303
    ticket_id = tickets(app)[0].id
    assert state(app, order_id, shop["small_product"])[0] == "delivered"  # unchanged
    service = staff_client(app, "service")
    url = f"/admin/aftersales/{ticket_id}"
    fields = form_fields(service.get(url).text, f"{url}/accept")
    assert (
        service.post(f"{url}/accept", data={**fields, "body": "请寄回，收到后补发"}).status_code
        == 303
    )
    fields = form_fields(service.get(url).text, f"{url}/exchange")
    bad = service.post(
        f"{url}/exchange", data={**fields, "carrier": "EMS", "tracking": "EA123456784CN"}
    )
    assert bad.status_code == 400 and "EMS运单号应为13位" in bad.text
    fields = form_fields(service.get(url).text, f"{url}/exchange")
    done = service.post(
        f"{url}/exchange", data={**fields, "carrier": "EMS", "tracking": "EA123456785CN"}
    )
    assert done.status_code == 303
    assert state(app, order_id, shop["small_product"])[::2] == ("delivered", 8)
    page = buyer.get(f"/o/{number}?ver=basic").text
    assert "换货已发出：EMS 运单号 EA123456785CN。" in page and "已完成" in page
