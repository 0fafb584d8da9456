"""Many buyers racing for a small deal against a real server (gunicorn on 127.0.0.1).

Runs on whichever database the suite runs on (SQLite by default, PostgreSQL in CI)."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from conftest import LiveServer
from factories import COVERED, make_deal, make_regions
from wapshop.extensions import db
from wapshop.services import stock
from wapshop.models import Deal, Order, OrderItem, Product

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
        page = browser.get(f"{base_url}/buy/{product_id}?region={COVERED}&ver=basic", timeout=60)
        if page.status_code != 200:
            return page.status_code
        hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        form = {
            **hidden,
            "quantity": str(quantity),
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
