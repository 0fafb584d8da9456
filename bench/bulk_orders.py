"""Many past orders, fast: orders, their items and event logs over the last `days` days, with
each day's deals, for scale benchmarks. Seeded, so every run makes the same history.

Orders follow the COD funnel of DESIGN.md section 1 (62.77% deliverable address, 48.67% of
those confirmed and shipped, 1.37% of parcels refused), each step some hours or days after
the one before; a recent order has only the steps already due. Rows go in with SQLAlchemy
Core executemany, committed batch by batch."""

import random
from bisect import bisect
from datetime import datetime, timedelta
from itertools import accumulate

from sqlalchemy import func, select, text

from wapshop.extensions import db
from wapshop.models import Deal, Order, OrderEvent, OrderItem, OrderStatus, Product, Region
from wapshop.clock import utcnow

SEED = 90
DEALS_PER_DAY = 12
DEAL_SHARE = 0.25  # of orders placed on one of the day's deals
# Buyers shop in the evening: relative weight of each hour of the day, China time (UTC+8).
HOURLY = (2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 8, 8, 9, 8, 7, 7, 7, 8, 9, 11, 13, 14, 11, 6)
# (values, cumulative weights) for random.choices
RENDITIONS = (("basic", "color", "wml", "touch"), (30, 65, 70, 100))
CARRIERS = (("顺丰", "宅急送", "EMS"), (40, 65, 100))
QUANTITIES = ((1, 2, 3), (80, 95, 100))
NAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周")
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明")
STREETS = ("人民路", "解放路", "中山路", "建设路", "新华街", "胜利路", "幸福村", "工业园")
H, D = 3600, 86400
S = OrderStatus


def _path(rng) -> list[tuple[str, float, str]]:
    """One order's life: (status, seconds after the previous step, actor), placing first."""
    steps = [(S.PLACED, 0, "guest")]
    if rng.random() >= 0.6277:
        steps.append((S.ADDRESS_INVALID, 2 * H, "staff:cs"))
        return steps + [(S.CANCELLED, D, "staff:cs")] if rng.random() < 0.9 else steps
    steps.append((S.ADDRESS_OK, 2 * H, "seller"))
    if rng.random() >= 0.4867:
        return steps + [(S.CANCELLED, D, "staff:cs")]
    steps += [(S.CONFIRMED, D, "staff:cs"), (S.SHIPPED, D, "seller")]
    if rng.random() < 0.0137:
        return steps + [(S.REFUSED, 3 * D, "carrier")]
    steps += [(S.DELIVERED, 3 * D, "carrier"), (S.SETTLED, 7 * D, "staff:finance")]
    if rng.random() < 0.02:
        steps += [
            (S.RETURN_REQUESTED, 2 * D, "guest"),
            (S.RETURNED, 5 * D, "staff:cs"),
            (S.REFUNDED, 2 * D, "staff:finance"),
        ]
    return steps


def _weighted(rng, table) -> object:
    values, cumulative = table
    return rng.choices(values, cum_weights=cumulative)[0]


def _districts(rng, how_many: int = 400) -> list[tuple[str, str]]:
    """(code, full name) of districts orders ship to."""
    regions = {r.code: r for r in db.session.scalars(select(Region))}
    districts = sorted(code for code, r in regions.items() if r.level == 3)
    picked = rng.sample(districts, min(how_many, len(districts)))
    named = []
    for code in picked:
        names, region = [], regions[code]
        while region is not None:
            names.insert(0, region.name)
            region = regions.get(region.parent_code)
        named.append((code, "".join(n for i, n in enumerate(names) if i == 0 or n != names[i - 1])))
    return named


def _add_deals(rng, products, days: int, now: datetime) -> dict[int, list[dict]]:
    """DEALS_PER_DAY past deals for each day (whole UTC days); quantity fixed up later."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    for day in range(1, days + 1):
        for position in range(DEALS_PER_DAY):
            p = rng.choice(products)
            rows.append(
                {
                    "product_id": p.id,
                    "deal_price_fen": max(90, p.shop_price_fen * 6 // 10),
                    "starts_at": today - timedelta(days=day),
                    "ends_at": today - timedelta(days=day - 1),
                    "quantity": 10**6,
                    "sold": 0,
                    "per_buyer_limit": 2,
                    "renditions": "wml,basic,color,touch",
                    "position": position,
                    "stopped": False,
                    "created_at": now,
                }
            )
    insert = Deal.__table__.insert().returning(Deal.id, sort_by_parameter_order=True)
    ids = db.session.execute(insert, rows).scalars().all()
    by_day: dict[int, list[dict]] = {}
    for deal_id, row in zip(ids, rows, strict=True):
        by_day.setdefault((today - row["starts_at"]).days, []).append({**row, "id": deal_id})
    return by_day


def make_bulk_orders(n: int, days: int = 90, batch: int = 20_000) -> dict[str, int]:
    """Insert n guest orders spread over the last `days` days, with their items, event logs and
    those days' deals. Commits every batch. Returns the row counts added per table."""
    rng = random.Random(SEED + n)
    now = utcnow()
    products = db.session.execute(
        select(
            Product.id,
            Product.seller_id,
            Product.title,
            Product.shop_price_fen,
            Product.market_price_fen,
        ).where(Product.active.is_(True), Product.stock > 0)
    ).all()
    by_id = {p.id: p for p in products}
    # A few products sell far more than the rest.
    popularity = list(accumulate(1 / (rank + 10) ** 0.8 for rank in range(len(products))))
    districts = _districts(rng)
    deals_by_day = _add_deals(rng, products, days, now)
    phones = [f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" for _ in range(max(1, n * 2 // 5))]
    numbers = set(db.session.scalars(select(Order.number)))
    order_id, item_id, event_id = (
        (db.session.scalar(select(func.max(table.id))) or 0)
        for table in (Order, OrderItem, OrderEvent)
    )
    sold: dict[int, int] = {}
    counts = {
        "orders": 0,
        "order_items": 0,
        "order_events": 0,
        "deals": sum(map(len, deals_by_day.values())),
    }
    hours = list(accumulate(HOURLY))
    for start in range(0, n, batch):
        orders, items, events = [], [], []
        for _ in range(min(batch, n - start)):
            order_id += 1
            item_id += 1
            day = rng.randrange(days)
            hour = (bisect(hours, rng.random() * hours[-1]) - 8) % 24  # China time to UTC
            placed = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
                days=day, hours=-hour, seconds=-rng.randrange(3600)
            )
            if placed > now:
                placed -= timedelta(days=1)
            todays = deals_by_day.get((now - placed).days + 1) or deals_by_day.get(1)
            if rng.random() < DEAL_SHARE:
                deal = rng.choice(todays)
                product = by_id[deal["product_id"]]
                deal_id, unit, quantity = deal["id"], deal["deal_price_fen"], 1
            else:
                product = products[bisect(popularity, rng.random() * popularity[-1])]
                deal_id, unit = None, product.shop_price_fen
                quantity = _weighted(rng, QUANTITIES)
            at, status, kept = placed, None, []
            for to_status, delay, actor in _path(rng):
                at = at + timedelta(seconds=delay * rng.uniform(0.5, 1.5))
                if at > now:
                    break
                if actor == "seller":
                    actor = f"seller:{product.seller_id}"
                kept.append(
                    {
                        "id": event_id + len(kept) + 1,
                        "order_id": order_id,
                        "at": at,
                        "actor": actor,
                        "from_status": status,
                        "to_status": to_status,
                        "note": "cod" if status is None else "",
                    }
                )
                status = to_status
            event_id += len(kept)
            events += kept
            if deal_id is not None and status != S.CANCELLED:
                sold[deal_id] = sold.get(deal_id, 0) + quantity
            number = rng.randrange(10**9, 10**10)
            while str(number) in numbers:
                number = rng.randrange(10**9, 10**10)
            numbers.add(str(number))
            region_code, region_text = rng.choice(districts)
            orders.append(
                {
                    "id": order_id,
                    "number": str(number),
                    "buyer_id": None,
                    "phone": rng.choice(phones),
                    "receiver_name": rng.choice(NAMES) + rng.choice(GIVEN),
                    "region_code": region_code,
                    "region_text": region_text,
                    "street": f"{rng.choice(STREETS)}{rng.randint(1, 300)}号",
                    "payment_method": "cod",
                    "carrier": _weighted(rng, CARRIERS),
                    "status": status,
                    "goods_fen": unit * quantity,  # no shipping fee, no discount: goods only
                    "total_fen": unit * quantity,
                    "form_token": f"{rng.getrandbits(128):032x}",
                    "rendition": _weighted(rng, RENDITIONS),
                    "created_at": placed,
                    "updated_at": kept[-1]["at"],
                }
            )
            items.append(
                {
                    "id": item_id,
                    "order_id": order_id,
                    "product_id": product.id,
                    "deal_id": deal_id,
                    "seller_id": product.seller_id,
                    "title": product.title,
                    "unit_price_fen": unit,
                    "market_price_fen": product.market_price_fen,
                    "quantity": quantity,
                }
            )
        db.session.execute(Order.__table__.insert(), orders)
        db.session.execute(OrderItem.__table__.insert(), items)
        db.session.execute(OrderEvent.__table__.insert(), events)
        db.session.commit()
        counts["orders"] += len(orders)
        counts["order_items"] += len(items)
        counts["order_events"] += len(events)
    for deal_id, units in sold.items():
        db.session.execute(
            Deal.__table__.update()
            .where(Deal.id == deal_id)
            .values(quantity=units + 50, sold=units)
        )
    _advance_sequences()
    db.session.commit()
    return counts


def _advance_sequences() -> None:
    """PostgreSQL: the ids were given explicitly, so move each id sequence past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("orders", "order_items", "order_events"):
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )
