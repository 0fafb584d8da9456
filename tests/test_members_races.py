"""Coupons and points under concurrent orders, each thread its own session and connection as
gunicorn's workers would be (SQLite or PostgreSQL, whichever the suite runs on): the caps
and the balance hold, and a refused order leaves nothing behind."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import func, select

from factories import COVERED, make_product, make_regions
from support.members import NOW, coupon
from wapshop.extensions import db
from wapshop.models import Coupon, CouponUse, Order, PointsAccount, PointsEntry, Product
from wapshop.services import Refusal
from wapshop.services.members import points, pricing, settlement

_numbers = count(3_000_000_000)


@pytest.fixture
def product_id(app):
    with app.app_context():
        make_regions()
        product = make_product(shop_price_fen=10000)
        coupon("RACE10", amount_fen=500, total_cap=10)
        coupon("ONCE", amount_fen=300)
        points.credit("13700000000", 1000, "adjust", NOW - timedelta(days=1))
        db.session.commit()
        return product.id


def place(app, product_id, phone, code, spend, start: threading.Barrier) -> bool:
    """One buyer's submit: price, then (all together) write the order and redeem, commit.
    True when the order stands; False when refused (and rolled back)."""
    with app.app_context():
        try:
            product = db.session.get(Product, product_id)
            quote = pricing.discounts([pricing.line(product, 10000)], 800, phone, code, spend,
                                      NOW)  # fmt: skip
            db.session.rollback()  # what the page read is over
            start.wait(timeout=30)
            order = Order(
                number=str(next(_numbers)), phone=phone, receiver_name="张三",
                region_code=COVERED, region_text="广东省深圳市南山区", street="科技园1号",
                payment_method="cod", status="placed", goods_fen=quote.goods_fen,
                shipping_fen=quote.shipping_fen, discount_fen=quote.discount_fen,
                total_fen=quote.total_fen,
            )  # fmt: skip
            db.session.add(order)
            db.session.flush()
            pricing.redeem(quote, order, NOW)
            db.session.commit()
            return True
        except Refusal:
            db.session.rollback()
            return False
        finally:
            db.session.remove()


def race(app, product_id, buyers):
    start = threading.Barrier(len(buyers))
    with ThreadPoolExecutor(max_workers=len(buyers)) as pool:
        futures = [
            pool.submit(place, app, product_id, phone, code, spend, start)
            for phone, code, spend in buyers
        ]
        return [f.result() for f in futures]


def test_fifty_buyers_racing_for_a_code_capped_at_ten_get_exactly_ten(app, product_id):
    results = race(app, product_id, [(f"137100{n:05d}", "RACE10", 0) for n in range(50)])
    assert results.count(True) == 10
    with app.app_context():
        used = db.session.scalar(select(Coupon.used).where(Coupon.code == "RACE10"))
        uses = db.session.scalar(select(func.count(CouponUse.id)))
        orders = db.session.scalar(select(func.count(Order.id)))
        assert used == uses == orders == 10
        assert db.session.scalar(select(func.sum(Order.discount_fen))) == 10 * 500


def test_one_phone_in_five_sessions_uses_a_once_per_phone_coupon_once(app, product_id):
    results = race(app, product_id, [("13720000000", "ONCE", 0)] * 5)
    assert results.count(True) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(CouponUse.id))) == 1
        assert db.session.scalar(select(func.count(Order.id))) == 1


@pytest.mark.parametrize("round_", range(3))
def test_one_buyer_spending_the_same_points_from_two_sessions_never_goes_negative(
    app, product_id, round_
):
    results = race(app, product_id, [("13700000000", None, 800)] * 2)
    assert results.count(True) == 1
    with app.app_context():
        assert db.session.get(PointsAccount, "13700000000").points == 200
        spent = db.session.scalars(
            select(PointsEntry.points).where(PointsEntry.kind == "redeem")
        ).all()
        assert spent == [-800]
        assert db.session.scalar(select(func.count(Order.id))) == 1


def test_two_settling_runs_at_once_earn_each_delivery_once(app, history):
    """Two machines' cron running `flask members settle` together over the history: C and H
    earn 150 and 300 points once between them."""
    start = threading.Barrier(2)

    def run():
        with app.app_context():
            try:
                start.wait(timeout=30)
                done = settlement.settle(NOW, 1)
                db.session.commit()
                return done.earned
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        earned = [f.result() for f in [pool.submit(run), pool.submit(run)]]
    assert sum(earned) == 450
    with app.app_context():
        rows = db.session.execute(
            select(PointsEntry.phone, PointsEntry.points).where(PointsEntry.kind == "order")
        ).all()
        assert sorted(rows) == [("13800000003", 150), ("13800000007", 300)]
        assert db.session.get(PointsAccount, "13800000003").spend_fen == 15000
