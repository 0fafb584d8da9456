"""After-sales with variants: a return puts the unit back on the line's own size; an
exchange may be to another size, chosen by the buyer in the request (sold-out sizes shown,
refused), seen by staff, and the replacement is taken from the chosen size, not the
ordered one; the SMS names it."""

import pytest
from sqlalchemy import select

from support.fulfilment import place_order, walk
from support.pages import token_in
from support.staff import add_staff, staff_client, staff_named
from wapshop.clock import utcnow
from wapshop.config import Defaults
from wapshop.extensions import db
from wapshop.models import Order, OutboxMessage, Product, Ticket, Variant
from wapshop.services import aftersales, product_variants, stock

WINDOW = Defaults.RETURN_WINDOW


@pytest.fixture
def shoe_order(app, shop):
    """A delivered order for a pair in size 38 of a shoe sold in 38, 39 and 40 (5 each)."""
    product_id = shop["small_product"]
    order_id, number, buyer = place_order(app, product_id)
    walk(app, order_id, "delivered")
    with app.app_context():
        product = db.session.get(Product, product_id)
        sizes = product_variants.parse_options("尺码:38-40")
        product_variants.set_options(product, sizes, None, initial=5)
        ids = {v.label: v.id for v in product.variants if v.label}
        item = db.session.get(Order, order_id).items[0]
        item.variant_id, item.variant_label = ids["38"], "38"
        db.session.commit()
    return {"order": order_id, "number": number, "buyer": buyer, "product": product_id, **ids}


def stocks(app, product_id) -> dict:
    with app.app_context():
        product = db.session.get(Product, product_id)
        found = {v.label: v.stock for v in product.variants if v.label}
        assert product.stock == sum(v.stock for v in product.variants)
        return found


def ask(buyer, number, ver="basic", **fields):
    page = buyer.get(f"/o/{number}/help?ver={ver}")
    assert page.status_code == 200
    data = {"csrf_token": token_in(page.text), "body": "小了，换大一码", **fields}
    return buyer.post(f"/o/{number}/help?ver={ver}", data=data)


@pytest.mark.parametrize("ver", ["wml", "basic", "color", "touch"])
def test_the_request_offers_the_other_sizes(app, shoe_order, ver):
    number = shoe_order["number"]
    if ver == "wml":  # the exchange is a deck of its own, linked from the request deck
        assert "?kind=exchange" in shoe_order["buyer"].get(f"/o/{number}/help?ver=wml").text
    page = shoe_order["buyer"].get(f"/o/{number}/help?ver={ver}&kind=exchange").text
    assert 'name="variant"' in page
    assert f'value="{shoe_order["39"]}"' in page and f'value="{shoe_order["40"]}"' in page
    assert f'value="{shoe_order["38"]}"' not in page  # the size ordered


def test_an_exchange_to_another_size_takes_stock_from_the_chosen_size(app, shoe_order):
    s = shoe_order
    response = ask(s["buyer"], s["number"], kind="exchange", variant=str(s["40"]))
    assert response.status_code == 303, response.text
    with app.app_context():
        ticket = db.session.scalar(select(Ticket))
        assert (ticket.kind, ticket.exchange_variant_id) == ("exchange", s["40"])
        ticket_id = ticket.id
    assert "换成" in s["buyer"].get(f"/o/{s['number']}/help/{ticket_id}?ver=wml").text
    service = staff_client(app, "service")
    shown = service.get(f"/admin/aftersales/{ticket_id}").text
    assert "换成" in shown and "<b>40</b>" in shown
    assert "（38） ×1" in shown  # the line as ordered
    agent = add_staff(app, "admin")
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = db.session.get(Ticket, ticket_id)
        aftersales.accept(ticket, "请寄回", staff, now)
        db.session.commit()
    assert "补发「40」" in service.get(f"/admin/aftersales/{ticket_id}").text
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = db.session.get(Ticket, ticket_id)
        aftersales.complete_exchange(ticket, "EMS", "EA123456785CN", staff, now)
        db.session.commit()
        sms = db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.kind == "shipped")
        ).all()[-1]
        assert "换货商品（40）已由EMS发出" in sms and len(sms) <= 70
    # The returned 38 goes back to the seller; the replacement comes from 40.
    assert stocks(app, s["product"]) == {"38": 5, "39": 5, "40": 4}


def test_an_exchange_without_a_choice_replaces_the_same_size(app, shoe_order):
    s = shoe_order
    assert ask(s["buyer"], s["number"], kind="exchange", variant="").status_code == 303
    agent = add_staff(app, "admin")
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = db.session.scalar(select(Ticket))
        assert ticket.exchange_variant_id is None
        aftersales.accept(ticket, "请寄回", staff, now)
        aftersales.complete_exchange(ticket, "EMS", "EA123456785CN", staff, now)
        db.session.commit()
    assert stocks(app, s["product"]) == {"38": 4, "39": 5, "40": 5}


def test_the_last_pair_of_the_chosen_size_refuses_the_replacement_whole(app, shoe_order):
    s = shoe_order
    assert ask(s["buyer"], s["number"], kind="exchange", variant=str(s["39"])).status_code == 303
    agent = add_staff(app, "admin")
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = db.session.scalar(select(Ticket))
        aftersales.accept(ticket, "请寄回", staff, now)
        db.session.commit()
        stock.set_stock(s["39"], 0)  # a buyer took the last pairs of 39 meanwhile
        db.session.commit()
        with pytest.raises(aftersales.AftersalesError, match="39 没有库存了"):
            aftersales.complete_exchange(ticket, "EMS", "EA123456785CN", staff, now)
        db.session.rollback()
        assert db.session.get(Ticket, ticket.id).status == "accepted"
    assert stocks(app, s["product"]) == {"38": 5, "39": 0, "40": 5}


def test_a_sold_out_size_is_shown_but_refused(app, shoe_order):
    s = shoe_order
    with app.app_context():
        stock.set_stock(s["39"], 0)
        db.session.commit()
    page = s["buyer"].get(f"/o/{s['number']}/help?ver=basic").text
    assert "39（无货）" in page
    response = ask(s["buyer"], s["number"], kind="exchange", variant=str(s["39"]))
    assert response.status_code == 409 and "39暂时没货了" in response.text
    with app.app_context():
        assert db.session.scalar(select(Ticket)) is None


@pytest.mark.parametrize("value", ["abc", "-1", "９", "0", "99999999999999999999", "\x00"])
def test_hostile_variant_choices_are_refused(app, shoe_order, value):
    s = shoe_order
    response = ask(s["buyer"], s["number"], kind="exchange", variant=value)
    assert response.status_code in (400, 409)
    with app.app_context():
        assert db.session.scalar(select(Ticket)) is None


def test_another_products_size_and_a_size_on_a_question_are_refused(app, shoe_order):
    s = shoe_order
    with app.app_context():
        other = db.session.scalar(
            select(Variant).where(Variant.product_id != s["product"]).limit(1)
        )
        other_id = other.id
    response = ask(s["buyer"], s["number"], kind="exchange", variant=str(other_id))
    assert response.status_code == 409 and "请从列表里选择" in response.text
    response = ask(s["buyer"], s["number"], kind="question", variant=str(s["40"]))
    assert response.status_code == 409 and "只有换货可以选择别的款式" in response.text
    with app.app_context():
        assert db.session.scalar(select(Ticket)) is None


def test_a_return_puts_the_unit_back_on_the_lines_own_size(app, shoe_order):
    s = shoe_order
    assert ask(s["buyer"], s["number"], kind="return").status_code == 303
    agent = add_staff(app, "admin")
    with app.app_context():
        staff, now = staff_named(agent), utcnow()
        ticket = db.session.scalar(select(Ticket))
        aftersales.accept(ticket, "请寄回", staff, now)
        aftersales.receive_return(ticket, staff, now)
        db.session.commit()
    assert stocks(app, s["product"]) == {"38": 6, "39": 5, "40": 5}
