"""Two staff acting on one order at once: one wins, the other is told what happened, and
the order's log shows one transition. First with stale pages (the common case: both opened
the order, one acted), then with both requests in flight together."""

import threading

import pytest
from sqlalchemy import select

from support.fulfilment import act, place_order, state, walk
from support.pages import form_fields
from support.staff import staff_client
from wapshop.extensions import db
from wapshop.models import CallAttempt, OrderEvent
from wapshop.clock import utcnow
from wapshop.models.staff import Staff
from wapshop.services import fulfilment


def waiting_for_call(app, shop, service):
    """A small seller's order whose address is checked: both agents may confirm or cancel."""
    order_id, number, _buyer = place_order(app, shop["small_product"])
    assert act(service, order_id, "address", {"verdict": "ok"}).status_code == 303
    return order_id, number


def transitions_from(app, order_id, status):
    with app.app_context():
        return db.session.scalars(
            select(OrderEvent.to_status).where(
                OrderEvent.order_id == order_id, OrderEvent.from_status == status
            )
        ).all()


def test_confirming_first_wins_and_the_stale_cancel_is_refused_with_a_message(app, shop):
    a, b = staff_client(app, "service"), staff_client(app, "service")
    order_id, number = waiting_for_call(app, shop, a)
    url = f"/admin/orders/{order_id}"
    page_a, page_b = a.get(url).text, b.get(url).text  # both look at "待电话确认"

    confirm = a.post(
        f"{url}/call", data={**form_fields(page_a, f"{url}/call"), "outcome": "confirmed"}
    )
    cancel = b.post(
        f"{url}/cancel", data={**form_fields(page_b, f"{url}/cancel"), "reason": "买家改主意"}
    )

    assert confirm.status_code == 303
    assert cancel.status_code == 409
    assert f"没有执行：订单 {number} 刚被 {a.username}" in cancel.text
    assert "改为「待发货」" in cancel.text
    assert transitions_from(app, order_id, "address_ok") == ["confirmed"]
    assert state(app, order_id, shop["small_product"])[::2] == ("confirmed", 9)


def test_cancelling_first_wins_and_the_stale_confirmation_is_refused(app, shop):
    a, b = staff_client(app, "service"), staff_client(app, "service")
    order_id, number = waiting_for_call(app, shop, a)
    url = f"/admin/orders/{order_id}"
    page_a, page_b = a.get(url).text, b.get(url).text

    cancel = b.post(
        f"{url}/cancel", data={**form_fields(page_b, f"{url}/cancel"), "reason": "重复下单"}
    )
    confirm = a.post(
        f"{url}/call", data={**form_fields(page_a, f"{url}/call"), "outcome": "confirmed"}
    )

    assert cancel.status_code == 303
    assert confirm.status_code == 409
    assert "改为「已取消」" in confirm.text and "没有执行" in confirm.text
    assert transitions_from(app, order_id, "address_ok") == ["cancelled"]
    # Restocked once; the refused call left no trace either.
    assert state(app, order_id, shop["small_product"])[::2] == ("cancelled", 10)
    with app.app_context():
        assert db.session.scalars(select(CallAttempt)).all() == []


ROUNDS = 4


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_confirm_and_cancel_sent_at_the_same_moment_leave_one_transition(app, shop, round_):
    a, b = staff_client(app, "service"), staff_client(app, "service")
    order_id, _number = waiting_for_call(app, shop, a)
    url = f"/admin/orders/{order_id}"
    confirm_data = {**form_fields(a.get(url).text, f"{url}/call"), "outcome": "confirmed"}
    cancel_data = {**form_fields(b.get(url).text, f"{url}/cancel"), "reason": "同时操作"}
    start = threading.Barrier(2)
    results = {}

    def send(name, client, path, data):
        start.wait()
        response = client.post(path, data=data)
        results[name] = (response.status_code, response.text)

    threads = [
        threading.Thread(target=send, args=("confirm", a, f"{url}/call", confirm_data)),
        threading.Thread(target=send, args=("cancel", b, f"{url}/cancel", cancel_data)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    statuses = sorted(code for code, _text in results.values())
    assert statuses == [303, 409], results
    loser = next(text for code, text in results.values() if code == 409)
    assert "没有执行" in loser
    moved = transitions_from(app, order_id, "address_ok")
    assert len(moved) == 1
    expected_stock = 9 if moved == ["confirmed"] else 10
    assert state(app, order_id, shop["small_product"])[::2] == (moved[0], expected_stock)


def test_the_service_refuses_a_move_from_a_status_that_is_gone(app, shop):
    """The conditional UPDATE itself: the order changed after it was read in this session."""
    service = staff_client(app, "service")
    order_id, _number = waiting_for_call(app, shop, service)
    with app.app_context():
        order = fulfilment.get_order(order_id, None)
        staff = db.session.scalar(select(Staff).where(Staff.username == service.username))
        assert order.status == "address_ok"
        # Another connection confirms it behind this session's back.
        with db.engine.begin() as other:
            other.execute(
                OrderEvent.__table__.insert().values(
                    order_id=order_id,
                    at=utcnow(),
                    actor="staff:x",
                    from_status="address_ok",
                    to_status="confirmed",
                    note="",
                )
            )
            other.exec_driver_sql(f"UPDATE orders SET status = 'confirmed' WHERE id = {order_id}")
        with pytest.raises(fulfilment.StatusChanged, match="改为「待发货」"):
            fulfilment.cancel(order, "address_ok", "晚了一步", staff, utcnow())
        db.session.rollback()
    assert transitions_from(app, order_id, "address_ok") == ["confirmed"]


def test_one_waybill_typed_for_two_orders_in_the_same_instant_is_refused_not_a_500(
    app, shop, monkeypatch
):
    """The unique waybill is the last line of defence when two shippers race past the check."""
    first, _n, _b = place_order(app, shop["small_product"], phone="13900000001")
    second, _n, _b = place_order(app, shop["small_product"], phone="13900000002")
    seller = staff_client(app, "seller", seller_id=shop["small"])
    for order_id in (first, second):
        walk(app, order_id, "confirmed")
    assert (
        act(seller, first, "ship", {"carrier": "顺丰", "tracking": "888888888888"}).status_code
        == 303
    )
    # As if the second shipper's check ran before the first one committed.
    monkeypatch.setattr(
        fulfilment.shipping,
        "check_waybill",
        lambda order, carrier, tracking, collects_cash: tracking,
    )
    response = act(seller, second, "ship", {"carrier": "顺丰", "tracking": "888888888888"})
    assert response.status_code == 409 and "同一运单号" in response.text
    assert state(app, second, shop["small_product"])[0] == "confirmed"
