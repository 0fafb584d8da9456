"""SMS through the outbox: written with the order action it tells about, sent later by
`flask sms send` through a pluggable sender (the default only records), failures recorded
and retried, never in the way of an order action; staff read the outbox."""

from datetime import timedelta

from sqlalchemy import select

from support.fulfilment import act, place_order, walk
from support.staff import staff_client
from wapshop.extensions import db
from wapshop.models import OutboxMessage
from wapshop.clock import utcnow
from wapshop.services import notify
from wapshop.sms import SmsError


class BrokenSender:
    """A gateway that is down."""

    name = "broken"

    def __init__(self, config):
        pass

    def send(self, phone, text):
        raise SmsError("gateway down")


def messages(app):
    with app.app_context():
        return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def send_command(app, runner):
    return runner.invoke(args=["sms", "send"])


def test_placing_an_order_queues_the_placed_sms_in_the_same_transaction(app, shop):
    order_id, number, _b = place_order(app, shop["small_product"])
    [placed] = messages(app)
    assert (placed.order_id, placed.phone, placed.kind, placed.status) == (
        order_id,
        "13800138000",
        "placed",
        "pending",
    )
    assert number in placed.body and "货到付款￥59.90" in placed.body
    assert placed.body.startswith("【WapShop】") and "400-820-8820" in placed.body


def test_the_shipped_sms_names_the_carrier_the_waybill_and_the_cash_to_pay(app, shop):
    order_id, number, _b = place_order(app, shop["small_product"])
    walk(app, order_id, "shipped")
    shipped = [m for m in messages(app) if m.kind == "shipped"][0]
    assert "顺丰" in shipped.body and "签收时请付款￥59.90" in shipped.body
    assert "运单号1000000000" in shipped.body  # the waybill walk() used


def test_the_default_sender_records_and_marks_every_message_sent(app, shop, runner):
    place_order(app, shop["small_product"], phone="13900000001")
    place_order(app, shop["small_product"], phone="13900000002")
    result = send_command(app, runner)
    assert result.exit_code == 0, result.output
    assert "Sent 2 SMS via record; 0 failed." in result.output
    assert [(m.status, m.sent_via, m.attempts) for m in messages(app)] == [
        ("sent", "record", 1)
    ] * 2
    assert "Sent 0 SMS" in send_command(app, runner).output  # nothing is sent twice


def test_a_broken_gateway_is_recorded_retried_and_given_up_on_without_touching_orders(
    app, shop, runner
):
    app.config["SMS_SENDER"] = "test_fulfilment_notify_service:BrokenSender"
    app.config["SMS_MAX_ATTEMPTS"] = 3
    order_id, _n, _b = place_order(app, shop["small_product"])
    service = staff_client(app, "service")
    # The order moves on while the gateway is down: actions only write to the outbox.
    assert act(service, order_id, "address", {"verdict": "ok"}).status_code == 303
    assert act(service, order_id, "call", {"outcome": "confirmed"}).status_code == 303
    first = send_command(app, runner)
    assert first.exit_code == 0 and "Sent 0 SMS via broken; 2 failed." in first.output
    assert [(m.status, m.attempts, m.last_error) for m in messages(app)] == [
        ("pending", 1, "SmsError: gateway down")
    ] * 2
    send_command(app, runner)
    send_command(app, runner)
    assert {(m.status, m.attempts) for m in messages(app)} == {("failed", 3)}
    assert "0 failed" in send_command(app, runner).output  # given up: not tried again


def test_a_message_is_claimed_by_one_run_only_until_that_run_is_presumed_dead(app, shop):
    place_order(app, shop["small_product"])
    with app.app_context():
        now = utcnow()
        first = notify.claim(now, 10)
        db.session.commit()
        assert len(first) == 1
        assert notify.claim(now, 10) == []
        assert notify.claim(now + notify.CLAIM_TIMEOUT + timedelta(seconds=1), 10) == first


def test_staff_read_the_outbox_and_sellers_may_not(app, shop, runner):
    place_order(app, shop["small_product"], phone="13900000001")
    place_order(app, shop["small_product"], phone="13900000002")
    send_command(app, runner)
    service = staff_client(app, "service")
    page = service.get("/admin/outbox/")
    assert page.status_code == 200 and "13900000001" in page.text and "record" in page.text
    only = service.get("/admin/outbox/?phone=13900000002").text
    assert "13900000002" in only and "13900000001" not in only
    assert service.get("/admin/outbox/?status=bogus").status_code == 400
    assert service.get("/admin/outbox/?phone=123").status_code == 400
    seller = staff_client(app, "seller", seller_id=shop["small"])
    assert seller.get("/admin/outbox/").status_code == 403
