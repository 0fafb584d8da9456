"""Orders walking the back office's queues through its pages, with real staff logins: cash on
delivery from placed to settled, and another refused at the door; after each step the
order's events and the stock are what they should be."""

from sqlalchemy import select

from support.fulfilment import act, place_order, state
from support.pages import form_fields
from support.staff import staff_client
from wapshop.extensions import db
from wapshop.models import OutboxMessage, Remittance, Shipment


def sms_kinds(app, order_id):
    with app.app_context():
        return [
            m.kind
            for m in db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.order_id == order_id)
                .order_by(OutboxMessage.id)
            )
        ]


def test_a_cod_order_walks_from_placed_to_settled_through_the_staff_pages(app, shop):
    seller = staff_client(app, "seller", seller_id=shop["small"])
    service = staff_client(app, "service")
    operator = staff_client(app, "operator")
    pid = shop["small_product"]
    order_id, number, buyer = place_order(app, pid)
    assert state(app, order_id, pid) == ("placed", [(None, "placed", "guest")], 9)

    # The seller checks the address from its queue, and comes back to the queue.
    queue = seller.get("/admin/queues/address")
    assert number in queue.text
    response = act(seller, order_id, "address", {"verdict": "ok"}, page="/admin/queues/address")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/queues/address")
    status, moves, stock = state(app, order_id, pid)
    assert (status, stock) == ("address_ok", 9)
    assert moves[1:] == [("placed", "address_ok", f"staff:{seller.username}")]

    # Customer service takes the next call (a small seller's order is the shop's to confirm).
    assert number in service.get("/admin/queues/calls").text
    calls = service.get("/admin/queues/calls")
    taken = service.post(
        "/admin/queues/calls/next", data=form_fields(calls.text, "/admin/queues/calls/next")
    )
    assert taken.status_code == 303
    assert taken.headers["Location"] == f"/admin/orders/{order_id}?then=next#call"
    response = act(service, order_id, "call", {"outcome": "confirmed", "note": "本人确认"})
    assert response.status_code == 303
    status, moves, stock = state(app, order_id, pid)
    assert (status, stock) == ("confirmed", 9)
    assert moves[2:] == [("address_ok", "confirmed", f"staff:{service.username}")]

    # The seller ships it from the shipping queue with a valid SF waybill.
    assert number in seller.get("/admin/queues/shipping").text
    response = act(
        seller,
        order_id,
        "ship",
        {"carrier": "顺丰", "tracking": "1234 5678 9012"},
        page="/admin/queues/shipping",
    )
    assert response.status_code == 303
    status, moves, stock = state(app, order_id, pid)
    assert (status, stock) == ("shipped", 9)
    assert moves[3:] == [("confirmed", "shipped", f"staff:{seller.username}")]
    with app.app_context():
        parcel = db.session.scalar(select(Shipment).where(Shipment.order_id == order_id))
        assert (parcel.carrier, parcel.tracking_number, parcel.cod_fen) == (
            "顺丰",
            "123456789012",
            5990,
        )

    # Delivered and the cash collected.
    response = act(
        service, order_id, "delivery", {"outcome": "delivered"}, page="/admin/queues/delivery"
    )
    assert response.status_code == 303
    status, moves, stock = state(app, order_id, pid)
    assert (status, stock) == ("delivered", 9)
    assert moves[4:] == [("shipped", "delivered", f"staff:{service.username}")]

    # The courier's remittance: 59.90 collected, the 1% fee is below the 2-yuan minimum.
    page = operator.get("/admin/settlement/", query_string={"carrier": "顺丰"})
    assert number in page.text
    fields = form_fields(page.text, "/admin/settlement/")
    response = operator.post(
        "/admin/settlement/",
        data={**fields, "reference": "SF20130501", "order_ids": [str(order_id)], "fee": ""},
    )
    assert response.status_code == 303, response.text
    status, moves, stock = state(app, order_id, pid)
    assert (status, stock) == ("settled", 9)
    assert moves[5:] == [("delivered", "settled", f"staff:{operator.username}")]
    assert len(moves) == 6
    with app.app_context():
        remittance = db.session.scalar(select(Remittance))
        assert (remittance.parcels, remittance.collected_fen, remittance.fee_fen) == (1, 5990, 200)
        assert remittance.net_fen == 5790

    # The order's staff page tells the whole story; the buyer reads it in buyers' words.
    story = service.get(f"/admin/orders/{order_id}").text
    for step in (
        "待审地址",
        "待电话确认",
        "待发货",
        "已发货",
        "已签收",
        "已结算",
        "123456789012",
        "SF20130501",
    ):
        assert step in story
    assert "已完成" in buyer.get(f"/o/{number}?ver=basic").text
    assert sms_kinds(app, order_id) == ["placed", "confirmed", "shipped", "delivered"]


def test_another_order_is_refused_at_the_door_and_its_goods_go_back_to_stock(app, shop):
    seller = staff_client(app, "seller", seller_id=shop["small"])
    service = staff_client(app, "service")
    pid = shop["small_product"]
    order_id, number, _buyer = place_order(app, pid)
    assert act(service, order_id, "address", {"verdict": "ok"}).status_code == 303
    assert act(service, order_id, "call", {"outcome": "confirmed"}).status_code == 303
    assert (
        act(seller, order_id, "ship", {"carrier": "顺丰", "tracking": "987654321098"}).status_code
        == 303
    )
    assert state(app, order_id, pid)[2] == 9

    # A refusal needs its reason.
    response = act(seller, order_id, "delivery", {"outcome": "refused", "reason": ""})
    assert response.status_code == 400 and "请写明拒收原因" in response.text
    assert state(app, order_id, pid)[0] == "shipped"

    response = act(seller, order_id, "delivery", {"outcome": "refused", "reason": "买家说不想要了"})
    assert response.status_code == 303
    status, moves, stock = state(app, order_id, pid)
    assert (status, stock) == ("refused", 10)
    assert [(f, t) for f, t, _a in moves] == [
        (None, "placed"),
        ("placed", "address_ok"),
        ("address_ok", "confirmed"),
        ("confirmed", "shipped"),
        ("shipped", "refused"),
    ]
    assert moves[-1][2] == f"staff:{seller.username}"
    # A refused parcel brings no cash: it never waits for settlement.
    assert number not in staff_client(app, "operator").get("/admin/settlement/?carrier=顺丰").text
    assert "delivered" not in sms_kinds(app, order_id)


def test_a_big_seller_confirms_its_own_orders_and_customer_service_does_not(app, shop):
    seller = staff_client(app, "seller", seller_id=shop["big"])
    service = staff_client(app, "service")
    pid = shop["big_product"]
    order_id, number, _buyer = place_order(app, pid)
    assert act(seller, order_id, "address", {"verdict": "ok"}).status_code == 303
    assert number not in service.get("/admin/queues/calls").text
    assert number in seller.get("/admin/queues/calls").text
    page = service.get(f"/admin/orders/{order_id}")
    assert (
        "由卖家确认" in page.text and 'action="/admin/orders/%d/call"' % order_id not in page.text
    )
    response = act(seller, order_id, "call", {"outcome": "confirmed"})
    assert response.status_code == 303
    assert state(app, order_id, pid)[0] == "confirmed"


def test_customer_service_may_not_record_a_big_sellers_call(app, shop):
    seller = staff_client(app, "seller", seller_id=shop["big"])
    service = staff_client(app, "service")
    order_id, _number, _buyer = place_order(app, shop["big_product"])
    assert act(seller, order_id, "address", {"verdict": "ok"}).status_code == 303
    token_page = service.get(f"/admin/orders/{order_id}")
    fields = form_fields(token_page.text, f"/admin/orders/{order_id}/cancel")
    response = service.post(
        f"/admin/orders/{order_id}/call",
        data={**fields, "expected": "address_ok", "outcome": "confirmed"},
    )
    assert response.status_code == 403 and "由卖家自己电话确认" in response.text
    assert state(app, order_id, shop["big_product"])[0] == "address_ok"
