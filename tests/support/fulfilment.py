"""The back office's fulfilment in tests (test_fulfilment_*.py, test_aftersales_*.py): the
`shop` fixture, orders placed through the shop's pages and walked through the services,
acting on an order from its page, reading its state."""

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import COVERED, make_product, make_regions, make_seller
from support.buyers import confirm_form
from support.pages import form_fields
from support.staff import add_staff, staff_named
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, Payment, Product
from wapshop.services import fulfilment

BUYER_PHONE = "13800138000"


@pytest.fixture
def shop(app):
    """Regions; a small seller (the shop confirms its orders) and a big one (confirms its
    own), each with a product of 10 in stock."""
    with app.app_context():
        make_regions()
        small = make_seller(name="小卖家", confirms_own_orders=False)
        big = make_seller(name="大卖家", confirms_own_orders=True)
        small_product = make_product(seller_id=small.id, stock=10, shop_price_fen=5990)
        big_product = make_product(seller_id=big.id, stock=10, shop_price_fen=12900)
        db.session.commit()
        return {
            "small": small.id,
            "big": big.id,
            "small_product": small_product.id,
            "big_product": big_product.id,
        }


def place_order(app, product_id, phone=BUYER_PHONE, region=COVERED, client=None):
    """A cash-on-delivery order placed through the shop's pages; returns (order id, number,
    the buyer's client)."""
    client = client or app.test_client()
    form = confirm_form(client, product_id, region=region)
    response = client.post(f"/buy/{product_id}", data={**form, "phone": phone})
    assert response.status_code == 303, response.text
    number = re.search(r"/buy/done/(\d{10})", response.headers["Location"]).group(1)
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.number == number))
    return order_id, number, client


def act(client, order_id: int, action: str, data: dict, page: str | None = None):
    """Post an order action from the page showing its form (the order page by default)."""
    url = f"/admin/orders/{order_id}/{action}"
    shown = client.get(page or f"/admin/orders/{order_id}")
    assert shown.status_code == 200, shown.text
    return client.post(url, data={**form_fields(shown.text, url), **data})


def state(app, order_id: int, product_id: int):
    """(status, [(from, to, actor)], the product's stock) as the database has them now."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        events = db.session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        )
        moves = [(e.from_status, e.to_status, e.actor) for e in events]
        return order.status, moves, db.session.get(Product, product_id).stock


def shift_events(app, order_id: int, by: timedelta) -> None:
    """Move an order's history into the past (e.g. a delivery 8 days ago)."""
    with app.app_context():
        for event in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)):
            event.at = event.at - by
        db.session.commit()


WALK = ("address_ok", "confirmed", "shipped", "delivered")
_waybills = itertools.count(100000000001)


def walk(app, order_id: int, to: str, username: str | None = None) -> None:
    """Arrange: move an order along the happy path up to `to` through the services, as an
    admin (who may do every step)."""
    username = username or add_staff(app, "admin")
    with app.app_context():
        staff = staff_named(username)
        order = db.session.get(Order, order_id)
        steps = WALK[: WALK.index(to) + 1]
        for step in steps[WALK.index(order.status) + 1 if order.status in WALK else 0 :]:
            now = utcnow()
            if step == "address_ok":
                fulfilment.check_address(order, order.status, True, "", staff, now)
            elif step == "confirmed":
                fulfilment.record_call(order, order.status, "confirmed", "", staff, now)
            elif step == "shipped":
                carrier = (fulfilment.carriers_for(order) or ["顺丰"])[0]
                fulfilment.ship(order, order.status, carrier, str(next(_waybills)), staff, now)
            elif step == "delivered":
                fulfilment.close_delivery(order, order.status, True, "", staff, now)
        db.session.commit()


def pay_online(app, order_id: int) -> None:
    """Arrange: turn a freshly placed cash-on-delivery order into one paid by bank."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.payment_method, order.status = "bank", "paid"
        db.session.add(
            Payment(
                order_id=order.id,
                method="bank",
                processor="sandbox-bank",
                reference=f"P{order.number}",
                amount_fen=order.total_fen,
                status="succeeded",
                transaction_id=f"T{order.number}",
            )
        )
        db.session.commit()
