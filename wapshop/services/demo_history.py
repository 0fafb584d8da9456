"""Thirty days of demo orders, placed and moved along through the real services with a fixed
clock per event (checkout.place_order, fulfilment's address check, call, shipping, delivery or
refusal, settlement), so every report and chart has something to show on first start.

A few hundred orders at most (HISTORY_DAYS × 2–12 a day); seeded, so every start is alike.
The staff member who acts is a disabled account with no usable password."""

import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from wapshop.clock import china_day, china_day_bounds
from wapshop.extensions import db
from wapshop.models import Order, OrderStatus, OutboxMessage, Product, Region, Staff
from wapshop.payments import online
from wapshop.services import checkout, fulfilment, regions
from wapshop.services.fulfilment.rules import Settings

HISTORY_DAYS = 30
SEED = 20250301
ACTOR = "demo-history"
RENDITION_WEIGHTS = {"wml": 1, "basic": 3, "color": 2, "touch": 4}
WAYBILL = {"顺丰": 12, "宅急送": 10}  # carriers whose numbers need no check digit
S = OrderStatus
NO_PROCESSORS = online.Settings("", {"card": "", "bank": ""}, {"card": "", "bank": ""}, "", 0)


def load_history(now: datetime) -> int:
    """Place and move the orders of the HISTORY_DAYS days before `now` (naive UTC), stock
    allowing. Returns the number of orders placed. Flushes; the caller commits."""
    rng = random.Random(SEED)
    staff = _staff()
    products = db.session.scalars(select(Product).order_by(Product.id).limit(60)).all()
    districts = db.session.scalars(
        select(Region.code)
        .where(Region.level == regions.DISTRICT, Region.code.like("44%"))
        .order_by(Region.code)
        .limit(40)
    ).all()
    if not products or not districts:
        return 0
    today_start, _ = china_day_bounds(china_day(now))
    waybills = iter(range(300_000_000_000, 900_000_000_000))
    placed = 0
    settled: dict[str, list[int]] = {}
    for back in range(HISTORY_DAYS, 0, -1):
        day_start = today_start - timedelta(days=back)
        for _ in range(rng.randint(2, 12)):
            at = day_start + timedelta(minutes=rng.randint(8 * 60, 22 * 60))
            order = _place(rng, products, districts, at)
            if order is None:
                continue
            placed += 1
            _move(rng, order, staff, at, waybills, settled, back)
    for carrier, ids in settled.items():
        if ids:
            fulfilment.settle(
                carrier, f"DEMO-{carrier}", ids, None, staff, now - timedelta(hours=2)
            )
    # Past orders' text messages are history: nothing to send to made-up phones on first start.
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.order_id.is_not(None)))
    db.session.flush()
    return placed


def _staff() -> Staff:
    staff = db.session.scalar(select(Staff).where(Staff.username == ACTOR))
    if staff is None:
        staff = Staff(
            username=ACTOR, name="演示数据", password_hash="!", role="admin", active=False
        )
        db.session.add(staff)
        db.session.flush()
    return staff


def _place(rng, products, districts, at: datetime) -> Order | None:
    product = rng.choice(products)
    variant = rng.choice(product.variants)  # a size or colour like any buyer's, or the one form
    quantity = 1 if rng.random() < 0.85 else 2
    try:
        [(seen, _n)] = checkout.price_lines([checkout.Line(variant.id, quantity)], at, False)
        with db.session.begin_nested():  # a refusal leaves nothing of this order behind
            return checkout.place_order(
                checkout.OrderRequest(
                    lines=(checkout.Line(variant.id, quantity, seen.unit_price_fen, seen.deal_id),),
                    receiver_name=rng.choice(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊"]),
                    phone=f"139{rng.randint(0, 99_999_999):08d}",
                    region_code=rng.choice(districts),
                    street=f"人民路{rng.randint(1, 300)}号",
                    payment_method="cod",
                    form_token=f"demo-{at.isoformat()}-{rng.random()}",
                    rendition=rng.choices(
                        list(RENDITION_WEIGHTS), list(RENDITION_WEIGHTS.values())
                    )[0],
                ),
                at,
                NO_PROCESSORS,
            )
    except checkout.CheckoutError:
        return None


def _move(rng, order, staff, at, waybills, settled, back: int) -> None:
    """Along the order's life: ~8% bad addresses, ~6% declined on the call, the rest shipped
    if old enough; ~2% of parcels refused, the rest delivered and mostly settled."""
    settings = Settings()
    at += timedelta(minutes=rng.randint(10, 120))
    if rng.random() < 0.08:
        fulfilment.check_address(order, order.status, False, "地址不详", staff, at, settings)
        return
    fulfilment.check_address(order, order.status, True, "", staff, at, settings)
    at += timedelta(minutes=rng.randint(10, 240))
    if rng.random() < 0.06:
        fulfilment.record_call(order, order.status, "declined", "不想要了", staff, at, settings)
        return
    fulfilment.record_call(order, order.status, "confirmed", "", staff, at, settings)
    carriers = [c for c in fulfilment.carriers_for(order) if c in WAYBILL]
    if back < 2 or not carriers:
        return
    carrier = carriers[0]
    at += timedelta(hours=rng.randint(2, 20))
    number = str(next(waybills))[-WAYBILL[carrier] :]
    fulfilment.ship(order, order.status, carrier, number, staff, at)
    if back < 4:
        return
    at += timedelta(days=rng.randint(1, 3))
    if rng.random() < 0.02:
        fulfilment.close_delivery(order, order.status, False, "收件人拒收", staff, at)
        return
    fulfilment.close_delivery(order, order.status, True, "", staff, at)
    if back > 8:
        settled.setdefault(carrier, []).append(order.id)
