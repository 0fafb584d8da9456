"""After-sales rules: an online payment is refunded to the payer's balance exactly once; a
rejected return puts the order back where it was; an exchange sends a replacement from stock
(or is refused when there is none); a closed request takes no more."""

import pytest
from sqlalchemy import select

from support.fulfilment import pay_online, place_order, state, walk
from support.staff import add_staff, staff_named
from wapshop.config import Defaults
from wapshop.extensions import db
from wapshop.models import BalanceEntry, Order, OutboxMessage, Refund, Shipment, Ticket
from wapshop.clock import utcnow
from wapshop.services import aftersales, balances, fulfilment, stock

WINDOW = Defaults.RETURN_WINDOW


def order(order_id):
    return db.session.get(Order, order_id)


def test_a_return_paid_online_is_refunded_to_the_balance_once(app, shop):
    order_id, _n, _b = place_order(app, shop["small_product"])
    pay_online(app, order_id)
    agent = add_staff(app, "admin")
    walk(app, order_id, "delivered", agent)
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = aftersales.open_ticket(order(order_id), "return", "不合适", "guest", now, WINDOW)
        aftersales.accept(ticket, "请寄回", staff, now)
        with pytest.raises(aftersales.AftersalesError, match="退货还没入库"):
            aftersales.refund(ticket, "", staff, now)
        aftersales.receive_return(ticket, staff, now)
        refund = aftersales.refund(ticket, "", staff, now)
        db.session.commit()
        assert (refund.method, refund.amount_fen, refund.ticket_id) == ("balance", 5990, ticket.id)
        assert balances.amount("13800138000") == 5990
        assert db.session.scalars(select(BalanceEntry.kind)).all() == ["refund"]
        assert (
            "已退给账户余额"
            in db.session.scalars(
                select(OutboxMessage.body).where(OutboxMessage.kind == "refunded")
            ).one()
        )
        with pytest.raises(aftersales.AftersalesError):
            aftersales.refund(db.session.get(Ticket, ticket.id), "", staff, now)
    assert state(app, order_id, shop["small_product"])[::2] == ("refunded", 10)


@pytest.mark.parametrize("remitted", [False, True])
def test_a_rejected_return_puts_the_order_back_where_it_was(app, shop, remitted):
    order_id, _n, _b = place_order(app, shop["small_product"])
    agent = add_staff(app, "admin")
    walk(app, order_id, "delivered", agent)
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = aftersales.open_ticket(order(order_id), "return", "想退", "guest", now, WINDOW)
        with pytest.raises(aftersales.AftersalesError, match="请写明拒绝的原因"):
            aftersales.reject(ticket, "", staff, now)
        if remitted:  # the courier's money came in while the return was pending
            fulfilment.settle("顺丰", "R9", [order_id], None, staff, now)
            assert order(order_id).status == "return_requested"
        aftersales.reject(ticket, "商品已拆封使用，不能退", staff, now)
        db.session.commit()
        assert ticket.status == "rejected"
        assert ticket.replies[-1].body == "商品已拆封使用，不能退"
    expected = "settled" if remitted else "delivered"
    assert state(app, order_id, shop["small_product"])[::2] == (expected, 9)


def test_an_exchange_sends_a_replacement_from_stock(app, shop):
    order_id, _n, _b = place_order(app, shop["small_product"])
    agent = add_staff(app, "admin")
    walk(app, order_id, "delivered", agent)
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = aftersales.open_ticket(order(order_id), "exchange", "有破损", "guest", now, WINDOW)
        with pytest.raises(aftersales.AftersalesError, match="已同意的换货"):
            aftersales.complete_exchange(ticket, "EMS", "EA123456785CN", staff, now)
        aftersales.accept(ticket, "请寄回，收到后补发", staff, now)
        parcel = aftersales.complete_exchange(ticket, "EMS", "ea 123456785 cn", staff, now)
        db.session.commit()
        assert (parcel.kind, parcel.tracking_number, parcel.cod_fen) == (
            "replacement",
            "EA123456785CN",
            0,
        )
        assert ticket.status == "closed"
        sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "shipped")).all()
        assert "换货商品已由EMS发出，运单号EA123456785CN" in sms[-1].body
    # The order keeps its status; the replacement came off the shelf.
    assert state(app, order_id, shop["small_product"])[::2] == ("delivered", 8)


def test_an_exchange_with_nothing_on_the_shelf_is_refused(app, shop):
    order_id, _n, _b = place_order(app, shop["small_product"])
    agent = add_staff(app, "admin")
    walk(app, order_id, "delivered", agent)
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = aftersales.open_ticket(
            order(order_id), "exchange", "尺码不对", "guest", now, WINDOW
        )
        aftersales.accept(ticket, "请寄回", staff, now)
        stock.set_sole_stock(shop["small_product"], 0)
        db.session.commit()
        with pytest.raises(aftersales.AftersalesError, match="没有库存了，不能换货"):
            aftersales.complete_exchange(ticket, "顺丰", "777777777777", staff, now)
        db.session.rollback()
        assert (
            db.session.scalars(select(Shipment).where(Shipment.kind == "replacement")).all() == []
        )
        assert db.session.get(Ticket, ticket.id).status == "accepted"


def test_only_one_return_or_exchange_at_a_time_and_a_few_open_questions(app, shop):
    order_id, _n, _b = place_order(app, shop["small_product"])
    walk(app, order_id, "delivered")
    with app.app_context():
        now = utcnow()
        aftersales.open_ticket(order(order_id), "exchange", "坏了", "guest", now, WINDOW)
        with pytest.raises(aftersales.AftersalesError) as refused:
            aftersales.open_ticket(order(order_id), "return", "还是退吧", "guest", now, WINDOW)
        with app.test_request_context():  # the message is translated when shown
            assert "已经有退换货申请" in str(refused.value.message)
        aftersales.open_ticket(order(order_id), "question", "多久到？", "guest", now, WINDOW)
        aftersales.open_ticket(order(order_id), "complaint", "太慢", "guest", now, WINDOW)
        with pytest.raises(aftersales.AftersalesError):
            aftersales.open_ticket(order(order_id), "question", "还有", "guest", now, WINDOW)
        with pytest.raises(aftersales.AftersalesError):
            aftersales.open_ticket(order(order_id), "refund", "?", "guest", now, WINDOW)
        db.session.commit()
        assert db.session.scalar(select(Refund)) is None


def test_a_return_already_taken_back_into_stock_can_only_be_refunded(app, shop):
    order_id, _n, _b = place_order(app, shop["small_product"])
    agent = add_staff(app, "admin")
    walk(app, order_id, "delivered", agent)
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = aftersales.open_ticket(order(order_id), "return", "退", "guest", now, WINDOW)
        aftersales.accept(ticket, "请寄回", staff, now)
        aftersales.receive_return(ticket, staff, now)
        with pytest.raises(aftersales.AftersalesError, match="只能退款"):
            aftersales.reject(ticket, "不退了", staff, now)
        db.session.commit()
    assert state(app, order_id, shop["small_product"])[::2] == ("returned", 10)
