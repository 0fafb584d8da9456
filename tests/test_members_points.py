"""Points: earned only once an order is delivered (and paid), taken back on its return,
written off on the day after their anniversary, a check-in once per China day; the ledger
and the account always agree."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from support.fulfilment import BUYER_PHONE, place_order, walk
from support.history import cst
from support.members import coupon
from support.staff import add_staff, staff_named
from wapshop.clock import from_china, utcnow
from wapshop.extensions import db
from wapshop.models import Coupon, CouponUse, Order, PointsAccount, PointsEntry, Product
from wapshop.services import aftersales
from wapshop.services.members import coupons, points, pricing, settlement, tiers

PER_YUAN = 1


def settle(app, now=None):
    with app.app_context():
        done = settlement.settle(now or utcnow(), PER_YUAN)
        db.session.commit()
        return done


def held(app, phone, now=None):
    with app.app_context():
        return points.balance(phone, now or utcnow())


def ledger_agrees(phone) -> bool:
    """The account equals the sum of its ledger and of its lots' remaining points."""
    total = db.session.scalar(select(PointsAccount.points).where(PointsAccount.phone == phone))
    rows = db.session.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.phone == phone))
    lots = db.session.scalar(
        select(func.sum(PointsEntry.remaining)).where(PointsEntry.phone == phone)
    )
    return total == rows == lots


def return_order(app, order_id):
    """The buyer asks to return it, service accepts, the goods come back."""
    username = add_staff(app, "service")
    with app.app_context():
        order, staff, now = db.session.get(Order, order_id), staff_named(username), utcnow()
        ticket = aftersales.open_ticket(order, "return", "不合适", "guest", now,
                                        timedelta(days=7))  # fmt: skip
        aftersales.accept(ticket, "请寄回", staff, now)
        aftersales.receive_return(ticket, staff, now)
        db.session.commit()


def test_points_come_on_delivery_only_and_go_back_with_the_return(app, shop):
    order_id, _number, _client = place_order(app, shop["small_product"])  # ￥59.90, COD
    assert settle(app).earned == 0
    walk(app, order_id, "shipped")
    assert settle(app).earned == 0 and held(app, BUYER_PHONE) == 0
    walk(app, order_id, "delivered")  # cash collected
    assert settle(app).earned == 59
    assert settle(app).earned == 0  # once, however often the command runs
    assert held(app, BUYER_PHONE) == 59
    with app.app_context():
        assert tiers.standing(BUYER_PHONE, app.config["MEMBER_TIERS"]).spend_fen == 5990
    return_order(app, order_id)
    assert settle(app).reversed == 59
    assert settle(app).reversed == 0
    assert held(app, BUYER_PHONE) == 0
    with app.app_context():
        assert tiers.standing(BUYER_PHONE, app.config["MEMBER_TIERS"]).spend_fen == 0
        kinds = db.session.scalars(
            select(PointsEntry.kind).where(PointsEntry.order_id == order_id)
        ).all()
        assert sorted(kinds) == ["order", "reverse"]
        assert ledger_agrees(BUYER_PHONE)


def test_history_earns_for_delivered_orders_only(app, history):
    """C (150.00, delivered then settled) and H (300.00, paid by bank, switched to COD,
    delivered) earn; A, B, D (refused), E, F (shipped), G, I, J, K earn nothing."""
    done = settle(app, cst(2025, 3, 10))
    assert done.earned == 150 + 300
    with app.app_context():
        earned = dict(db.session.execute(select(PointsEntry.phone, PointsEntry.points)).all())
    assert earned == {"13800000003": 150, "13800000007": 300}


def test_points_expire_after_their_anniversary_day(app, history):
    """C was delivered 2025-03-01 14:00 China time: its 150 points are valid through
    2026-03-01 and gone at 2026-03-02 00:00."""
    settle(app, cst(2025, 3, 10))
    phone = "13800000003"
    last_second = cst(2026, 3, 1, 23, 59, 59)
    assert held(app, phone, last_second) == 150
    with app.app_context():
        soon = points.next_expiring(phone, last_second)
        assert (soon.day.isoformat(), soon.points) == ("2026-03-01", 150)
    assert held(app, phone, cst(2026, 3, 2)) == 0  # lazily, before any run
    with app.app_context():
        assert points.expire(last_second) == 0
        assert points.expire(cst(2026, 3, 2)) == 150 + 0  # H's (03-02 delivery) lives a day more
        assert points.expire(cst(2026, 3, 2)) == 0
        db.session.commit()
        assert db.session.get(PointsAccount, phone).points == 0
        assert db.session.get(PointsAccount, "13800000007").points == 300
        assert ledger_agrees(phone)


def test_spending_takes_the_oldest_lots_first(app):
    with app.app_context():
        phone, now = "13900000009", datetime(2026, 6, 1)
        old = points.credit(phone, 100, "adjust", now - timedelta(days=300))
        new = points.credit(phone, 100, "adjust", now - timedelta(days=10))
        points.debit(phone, 150, "redeem", now)
        db.session.refresh(old), db.session.refresh(new)
        assert (old.remaining, new.remaining) == (0, 50)
        with pytest.raises(points.NotEnoughPoints):
            points.debit(phone, 51, "redeem", now)
        assert points.balance(phone, now) == 50 and ledger_agrees(phone)


def test_check_in_once_per_china_day(app):
    phone = "13900000008"
    with app.app_context():
        late = from_china(datetime(2026, 6, 1, 23, 59))
        points.check_in(phone, 5, late)
        with pytest.raises(points.AlreadyCheckedIn):
            points.check_in(phone, 5, late + timedelta(seconds=30))
        points.check_in(phone, 5, late + timedelta(minutes=1))  # 00:00 the next day
        db.session.commit()
        assert points.balance(phone, late + timedelta(minutes=1)) == 10


def test_tiers_follow_spend_and_name_what_the_next_needs(app):
    with app.app_context():
        defaults = app.config["MEMBER_TIERS"]
        assert tiers.tier_for(0, defaults).tier.name == "普通"
        silver = tiers.tier_for(49_999, defaults)
        assert (silver.tier.name, silver.next_tier.name, silver.to_next_fen) == ("普通", "银卡", 1)
        assert tiers.tier_for(50_000, defaults).tier.name == "银卡"
        assert tiers.tier_for(200_000, defaults).tier.name == "金卡"
        top = tiers.tier_for(10_000_000, defaults)
        assert (top.tier.name, top.next_tier) == ("钻石", None)


def test_a_returned_order_whose_points_were_spent_takes_back_only_what_is_left(app, shop):
    order_id, _number, _client = place_order(app, shop["small_product"])
    walk(app, order_id, "delivered")
    settle(app)
    with app.app_context():
        points.debit(BUYER_PHONE, 50, "redeem", utcnow())
        db.session.commit()
    return_order(app, order_id)
    assert settle(app).reversed == 9
    assert held(app, BUYER_PHONE) == 0
    with app.app_context():
        assert ledger_agrees(BUYER_PHONE)


def test_a_cancelled_order_gives_its_coupon_and_points_back(app, shop):
    coupon_and_points_order = _redeemed_order(app, shop)
    with app.app_context():
        order = db.session.get(Order, coupon_and_points_order)
        order.status = "cancelled"
        db.session.commit()
    done = settle(app)
    assert done.given_back == 300
    assert settle(app).given_back == 0
    with app.app_context():
        used = db.session.scalar(select(Coupon.used).where(Coupon.code == "BACK5"))
        assert used == 0 and points.balance(BUYER_PHONE, utcnow()) == 1000
        use = db.session.scalar(select(CouponUse))
        assert use.released_at is not None and use.nth is None
        assert ledger_agrees(BUYER_PHONE)
        # The coupon may be used again, as the phone's first use.
        assert coupons.usable("BACK5", BUYER_PHONE, utcnow()).code == "BACK5"


def _redeemed_order(app, shop) -> int:
    """An order that used coupon BACK5 (5 yuan) and 300 points."""
    order_id, _number, _client = place_order(app, shop["small_product"])
    with app.app_context():
        now = utcnow()
        coupon("BACK5", amount_fen=500, starts_at=now - timedelta(days=1),
               ends_at=now + timedelta(days=1))  # fmt: skip
        points.credit(BUYER_PHONE, 1000, "adjust", now)
        order = db.session.get(Order, order_id)
        product = db.session.get(Product, shop["small_product"])
        quote = pricing.discounts([pricing.line(product, order.goods_fen)], order.shipping_fen,
                                  BUYER_PHONE, "BACK5", 300, now)  # fmt: skip
        order.discount_fen, order.total_fen = quote.discount_fen, quote.total_fen
        db.session.flush()
        pricing.redeem(quote, order, now)
        db.session.commit()
        assert points.balance(BUYER_PHONE, now) == 700
    return order_id
