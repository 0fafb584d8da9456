"""Buyers racing for a capped code at checkout, against a real server (gunicorn): exactly
the cap's orders carry it, each with its one use; the others get a 409 and no order. A twin
submit of one confirmation places one order and takes one use.

Runs on whichever database the suite runs on (SQLite by default, PostgreSQL in CI)."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from conftest import LiveServer
from factories import COVERED, make_product, make_regions
from support.members import coupon
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Coupon, CouponUse, Order, Product

pytestmark = pytest.mark.server

BUYERS, CAP, OFF = 16, 5, 500
PHONES = [f"1370013{n:04d}" for n in range(BUYERS)]


def hidden(text: str) -> dict:
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', text))


@pytest.fixture
def capped(app):
    with app.app_context():
        make_regions()
        product = make_product(stock=100, shop_price_fen=5000)
        now = utcnow()
        coupon("RACE", amount_fen=OFF, total_cap=CAP, starts_at=now - timedelta(days=1),
               ends_at=now + timedelta(days=1))  # fmt: skip
        db.session.commit()
        return product.id


def shown_with_code(base_url: str, browser, product_id: int, phone: str) -> dict:
    """Open the confirmation, choose the code: the form as the page showing it would send."""
    url = f"{base_url}/buy/{product_id}?region={COVERED}&ver=basic"
    page = browser.get(url, timeout=60)
    form = {**hidden(page.text), "quantity": "1", "name": "买家", "phone": phone,
            "street": "人民路88号", "payment": "cod", "coupon": "RACE"}  # fmt: skip
    again = browser.post(f"{base_url}/buy/{product_id}", data=form, timeout=60)
    if again.status_code == 409 and "这张优惠券已被领完" in again.text:
        return None  # the others took it all while this buyer was choosing it
    assert again.status_code == 200 and "已按所选优惠重新计算" in again.text, again.text
    return {**form, **hidden(again.text)}


def race(base_url: str, product_id: int, phone: str) -> int:
    with requests.Session() as browser:
        form = shown_with_code(base_url, browser, product_id, phone)
        if form is None:
            return 409
        placed = browser.post(
            f"{base_url}/buy/{product_id}", data=form, timeout=60, allow_redirects=False
        )
        return placed.status_code


def test_a_capped_code_raced_at_checkout_goes_to_exactly_its_cap(app, capped):
    server = LiveServer(app, workers=4, threads=4)
    try:
        with ThreadPoolExecutor(max_workers=BUYERS) as pool:
            statuses = list(pool.map(lambda p: race(server.url, capped, p), PHONES))
    finally:
        server.stop()
    assert sorted(statuses) == [303] * CAP + [409] * (BUYERS - CAP), statuses
    with app.app_context():
        orders = db.session.scalars(select(Order)).all()
        uses = db.session.execute(select(CouponUse.order_id, CouponUse.amount_fen)).all()
        assert len(orders) == CAP
        assert sorted(uses) == sorted((o.id, OFF) for o in orders)
        assert all(o.discount_fen == OFF and o.total_fen == 5000 + o.shipping_fen - OFF
                   for o in orders)  # fmt: skip
        assert db.session.scalar(select(Coupon.used).where(Coupon.code == "RACE")) == CAP
        assert db.session.get(Product, capped).stock == 100 - CAP


def test_twin_submits_with_a_code_place_one_order_and_one_use(app, capped):
    server = LiveServer(app, workers=2, threads=4)
    try:
        with requests.Session() as browser:
            form = shown_with_code(server.url, browser, capped, PHONES[0])
            with ThreadPoolExecutor(max_workers=2) as pool:
                statuses = list(
                    pool.map(
                        lambda _i: browser.post(
                            f"{server.url}/buy/{capped}", data=form, timeout=60,
                            allow_redirects=False,
                        ).status_code,
                        range(2),
                    )
                )  # fmt: skip
    finally:
        server.stop()
    assert statuses == [303, 303], statuses
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 1
        assert db.session.scalar(select(func.count(CouponUse.id))) == 1
        assert db.session.scalar(select(Coupon.used).where(Coupon.code == "RACE")) == 1
