"""Many buyers racing for a small deal against a real server (gunicorn on 127.0.0.1).

Runs on whichever database the suite runs on (SQLite by default, PostgreSQL in CI)."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from conftest import LiveServer
from factories import COVERED, make_deal, make_product_with_options, make_regions
from wapshop.extensions import db
from wapshop.services import stock
from wapshop.models import Deal, Order, OrderItem, Product, Variant

BUYERS = 60
PHONES = [f"1380013{n:04d}" for n in range(20)]  # three buyers share each phone


@pytest.fixture
def racing_deal(app):
    with app.app_context():
        make_regions()
        deal = make_deal(quantity=12, per_buyer_limit=2)
        stock.set_sole_stock(deal.product_id, 30)
        db.session.commit()
        return deal.product_id, deal.id


def buy(base_url: str, product_id: int, phone: str, quantity: int) -> int:
    """One buyer: open the confirmation page, submit it. Returns the final status code."""
    with requests.Session() as browser:
        page = browser.get(
            f"{base_url}/buy/{product_id}?q={quantity}&region={COVERED}&ver=basic", timeout=60
        )
        if page.status_code != 200:
            return page.status_code
        hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        form = {
            **hidden,
            "name": "买家",
            "phone": phone,
            "street": "人民路88号",
            "payment": "cod",
        }
        placed = browser.post(
            f"{base_url}/buy/{product_id}", data=form, timeout=60, allow_redirects=False
        )
        return placed.status_code


def test_concurrent_buyers_never_oversell_nor_exceed_the_limit(app, racing_deal):
    product_id, deal_id = racing_deal
    server = LiveServer(app, workers=4, threads=4)
    try:
        with ThreadPoolExecutor(max_workers=BUYERS) as pool:
            statuses = list(
                pool.map(
                    lambda i: buy(server.url, product_id, PHONES[i % len(PHONES)], 1 + i % 2),
                    range(BUYERS),
                )
            )
    finally:
        server.stop()
    assert all(s < 500 for s in statuses), statuses
    assert set(statuses) <= {303, 409}, statuses
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        deal_units = db.session.scalar(
            select(func.sum(OrderItem.quantity)).where(OrderItem.deal_id == deal_id)
        )
        all_units = db.session.scalar(select(func.sum(OrderItem.quantity)))
        per_phone = db.session.execute(
            select(Order.phone, func.sum(OrderItem.quantity))
            .join(OrderItem, OrderItem.order_id == Order.id)
            .where(OrderItem.deal_id == deal_id)
            .group_by(Order.phone)
        ).all()
        # Exactly the deal's units went at the deal price; later buyers, who saw the regular
        # price once it sold out, bought at that price.
        assert deal.sold == deal_units == deal.quantity
        assert all(units <= deal.per_buyer_limit for _phone, units in per_phone)
        assert db.session.get(Product, product_id).stock == 30 - all_units
        assert statuses.count(303) == db.session.scalar(select(func.count(Order.id)))


RACERS = 12


@pytest.fixture
def last_unit(app):
    """A shoe with plenty of size 38 and ONE of size 39, and a deal product: every racer's
    cart holds all three, so only one cart can be placed whole."""
    with app.app_context():
        make_regions()
        shoe = make_product_with_options(stock={"38": 50, "39": 1})
        sizes = {v.label: v.id for v in shoe.variants}
        deal = make_deal(quantity=40, per_buyer_limit=2)
        db.session.commit()
        return sizes["38"], sizes["39"], deal.product.variants[0].id, deal.id


def cart_buyer(base_url: str, variants: list[int], phone: str) -> int:
    """Fill a cart (in the order given), open its confirmation, submit it."""
    with requests.Session() as browser:
        for v in variants:
            added = browser.post(
                f"{base_url}/cart/add?ver=basic", data={"v": v}, timeout=60, allow_redirects=False
            )
            assert added.status_code == 303
        page = browser.get(f"{base_url}/cart/checkout?region={COVERED}&ver=basic", timeout=60)
        hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        form = {**hidden, "name": "买家", "phone": phone, "street": "人民路88号", "payment": "cod"}
        placed = browser.post(
            f"{base_url}/cart/checkout", data=form, timeout=60, allow_redirects=False
        )
        return placed.status_code


def test_a_race_for_the_last_unit_of_one_line_leaves_no_partial_order(app, last_unit):
    size38, size39, socks, deal_id = last_unit
    server = LiveServer(app, workers=3, threads=4)
    try:
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            # Half add the lines in the opposite order: the checkout locks by variant id anyway.
            statuses = list(
                pool.map(
                    lambda i: cart_buyer(
                        server.url,
                        [size38, size39, socks][:: 1 if i % 2 else -1],
                        PHONES[i],
                    ),
                    range(RACERS),
                )
            )
    finally:
        server.stop()
    assert sorted(statuses) == [303] + [409] * (RACERS - 1), statuses
    with app.app_context():
        # One purchase: the shoe shop's parcel and the deal seller's, under one group number.
        orders = db.session.scalars(select(Order).order_by(Order.id)).all()
        assert len(orders) == 2 and len({o.group_number for o in orders}) == 1
        assert sum(len(o.items) for o in orders) == 3
        assert stock.sole_variant(db.session.get(Deal, deal_id).product_id).stock == 99
        assert db.session.get(Deal, deal_id).sold == 1
        assert [db.session.get(Variant, v).stock for v in (size38, size39)] == [49, 0]
        assert db.session.get(Product, orders[0].items[0].product_id).stock == 49


TWINS = 20


def test_twenty_parallel_submits_of_one_cart_confirmation_place_one_purchase(app, last_unit):
    size38, _size39, socks, deal_id = last_unit
    server = LiveServer(app, workers=3, threads=4)
    try:
        with requests.Session() as browser:
            for v in (size38, socks):
                browser.post(f"{server.url}/cart/add?ver=basic", data={"v": v}, timeout=60)
            page = browser.get(f"{server.url}/cart/checkout?region={COVERED}", timeout=60)
            hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
            form = {**hidden, "name": "买家", "phone": PHONES[0], "street": "人民路88号"}
            form["payment"] = "cod"
            cookies = browser.cookies.get_dict()

        def submit(_i):
            answer = requests.post(
                f"{server.url}/cart/checkout",
                data=form,
                cookies=cookies,
                timeout=60,
                allow_redirects=False,
            )
            return answer.status_code, answer.headers.get("Location", "")

        with ThreadPoolExecutor(max_workers=TWINS) as pool:
            answers = list(pool.map(submit, range(TWINS)))
    finally:
        server.stop()
    assert {status for status, _l in answers} == {303}, answers
    assert len({location.split("?")[0] for _s, location in answers}) == 1, answers
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 2  # two sellers' parcels
        assert db.session.get(Variant, size38).stock == 49
        assert db.session.get(Deal, deal_id).sold == 1
