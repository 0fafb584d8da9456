"""The back office's first page: each queue's count and the age of its oldest item, today's
orders / shipped / refused (China day), deals running and their sell-through, stock
warnings; a seller sees only its own. Orders are arranged in known states at fixed times and
the page's clock is fixed."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from factories import make_deal
from support.fulfilment import place_order, walk
from support.staff import staff_client
from wapshop.clock import from_china
from wapshop.extensions import db
from wapshop.models import CallTask, Order, OrderEvent, Product, Shipment, Staff, Ticket
from wapshop.services import fulfilment
from wapshop.views.admin import home

NOW = from_china(datetime(2026, 6, 10, 12, 0))
H = timedelta(hours=1)


def arrange(app, order_id, created_at, shipped_at=None, call_at=None, refused_at=None):
    with app.app_context():
        db.session.get(Order, order_id).created_at = created_at
        if shipped_at:
            parcel = select(Shipment).where(Shipment.order_id == order_id)
            db.session.scalars(parcel).one().shipped_at = shipped_at
        if call_at:
            task = select(CallTask).where(CallTask.order_id == order_id)
            db.session.scalars(task).one().next_call_at = call_at
        refused = select(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.to_status == "refused"
        )
        if refused_at:
            db.session.scalars(refused).one().at = refused_at
        db.session.commit()


@pytest.fixture
def day(app, shop, monkeypatch):
    """Small seller: P1 placed today 09:00, P2 placed yesterday (-24h), C1 call due 30 min
    ago, S1 confirmed today 10:00, D1 shipped 26 h ago, R1 shipped and refused 1 h ago.
    Big seller: B1 placed today 07:00. A running deal 4 of 10 sold, an open ticket 50 h old."""
    monkeypatch.setattr(home, "utcnow", lambda: NOW)
    small = shop["small_product"]
    ids = {name: place_order(app, small)[0] for name in ("P1", "P2", "C1", "S1", "D1", "R1")}
    ids["B1"] = place_order(app, shop["big_product"])[0]
    staff_client(app, "admin", username="boss")
    walk(app, ids["C1"], "address_ok", "boss")
    walk(app, ids["S1"], "confirmed", "boss")
    walk(app, ids["D1"], "shipped", "boss")
    walk(app, ids["R1"], "shipped", "boss")
    with app.app_context():
        order = db.session.get(Order, ids["R1"])
        boss = db.session.scalar(select(Staff).where(Staff.username == "boss"))
        fulfilment.close_delivery(order, order.status, False, "不要了", boss, NOW)
        make_deal(
            db.session.get(Product, small), quantity=10, sold=4, starts_at=NOW - H, ends_at=NOW + H
        )
        db.session.add(
            Ticket(
                order_id=ids["D1"],
                kind="question",
                body="几时到？",
                created_at=NOW - 50 * H,
                updated_at=NOW - 50 * H,
            )
        )
        db.session.commit()
    arrange(app, ids["P1"], NOW - 3 * H)
    arrange(app, ids["P2"], NOW - 24 * H)
    arrange(app, ids["C1"], NOW - 20 * H, call_at=NOW - timedelta(minutes=30))
    arrange(app, ids["S1"], NOW - 2 * H)
    arrange(app, ids["D1"], NOW - 72 * H, shipped_at=NOW - 26 * H)
    arrange(app, ids["R1"], NOW - 96 * H, shipped_at=NOW - H, refused_at=NOW - H)
    arrange(app, ids["B1"], NOW - 5 * H)
    return ids


def queue_row(html, key):
    row = re.search(rf'id="queue-{key}">(.*?)</tr>', html, re.S).group(1)
    count = re.search(r'class="count" href="([^"]+)">(\d+)<', row)
    age = re.search(r'class="age">([^<]*)<', row).group(1)
    return count.group(1), int(count.group(2)), age


def figure(html, name):
    return int(re.search(rf'id="{name}"[^>]*>(\d+)<', html).group(1))


def test_an_admin_sees_every_queue_with_its_oldest_and_today(app, day):
    html = staff_client(app, "admin").get("/admin/").text
    assert queue_row(html, "address") == ("/admin/queues/address", 3, "1 天 0 小时")
    assert queue_row(html, "calls") == ("/admin/queues/calls", 1, "30 分")
    assert queue_row(html, "ship") == ("/admin/queues/shipping", 1, "2 小时 0 分")
    assert queue_row(html, "delivery") == ("/admin/queues/delivery", 1, "1 天 2 小时")
    assert queue_row(html, "tickets") == ("/admin/aftersales/", 1, "2 天 2 小时")
    # Today, China day 06-10: P1, S1 and B1 placed; R1 shipped and refused (D1 was yesterday).
    assert figure(html, "today-placed") == 3
    assert figure(html, "today-shipped") == 1
    assert figure(html, "today-refused") == 1
    assert 'href="/admin/orders/?status=refused"' in html
    assert figure(html, "deals-running") == 1 and "已售 4 / 10（40%）" in html
    assert "2 个商品库存不超过 50 件" in html  # both products under the threshold


def test_a_seller_sees_only_its_own(app, shop, day):
    big = staff_client(app, "seller", seller_id=shop["big"]).get("/admin/").text
    assert queue_row(big, "address") == ("/admin/queues/address", 1, "5 小时 0 分")
    assert queue_row(big, "ship") == ("/admin/queues/shipping", 0, "—")
    assert figure(big, "today-placed") == 1 and figure(big, "today-refused") == 0
    assert 'id="queue-tickets"' not in big and 'id="deals-running"' not in big
    assert "1 个商品库存不超过 50 件" in big
    small = staff_client(app, "seller", seller_id=shop["small"]).get("/admin/").text
    assert queue_row(small, "address") == ("/admin/queues/address", 2, "1 天 0 小时")
    assert figure(small, "today-placed") == 2 and figure(small, "today-shipped") == 1


def test_customer_service_sees_its_queues_and_the_tickets(app, day):
    html = staff_client(app, "service").get("/admin/").text
    assert queue_row(html, "calls")[1:] == (1, "30 分")
    assert 'id="queue-ship"' not in html  # service does not ship
    assert queue_row(html, "tickets")[1:] == (1, "2 天 2 小时")
