"""The rollup tables (models/reports.py), counted from the orders and their event log: kept up
to date incrementally by `refresh`, recomputed by `rebuild`."""

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from wapshop.payments import STAFF_LABELS
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, OrderItem, OrderStatus, Shipment
from wapshop.models.reports import OrderDayStat, OrderFact, ProductDayStat, ReportRefresh
from wapshop.clock import china_day
from wapshop.services.reports.dates import days_between, utc_bounds, cst_date, as_date


# As the checkout offers them; codes the shop no longer knows are listed after these.
METHOD_LABELS = STAFF_LABELS
# How long a refresh keeps looking for an event id it found missing (an open transaction's, to
# be committed, or a rolled-back one's, never to be), and at most how many it keeps.
GAP_TTL = timedelta(minutes=10)
MAX_GAPS = 10_000
RECENT_IDS = 1_000  # after a full recompute, missing ids are looked for among these
CHUNK_DAYS = 7  # order dates recomputed per statement
RECOUNT_BATCH = 500  # orders re-counted per statement


def _per_order(where):
    """One row per order matching `where` (a condition on Order): its CST date, the method it
    was placed with, rendition, carrier, phone, amount, and 0/1 for each step it reached."""
    e = OrderEvent

    def reached(status: str):
        return func.max(case((e.to_status == status, 1), else_=0))

    steps = (
        select(
            e.order_id.label("order_id"),
            reached(OrderStatus.ADDRESS_OK).label("ok"),
            reached(OrderStatus.SHIPPED).label("shipped"),
            reached(OrderStatus.REFUSED).label("refused"),
            reached(OrderStatus.PAID).label("paid"),
            reached(OrderStatus.DELIVERED).label("delivered"),
            func.max(
                case((and_(e.from_status.is_(None), e.note.in_(list(METHOD_LABELS))), e.note))
            ).label("placed_with"),
        )
        .join(Order, Order.id == e.order_id)
        .where(where)
        .group_by(e.order_id)
        .subquery()
    )
    method = func.coalesce(steps.c.placed_with, Order.payment_method)
    # The carrier that took the parcel (the order's own delivery, the last if sent twice), not
    # the one the order names: refusals belong to whoever knocked on the door.
    shipped_with = (
        select(Shipment.carrier)
        .where(Shipment.order_id == Order.id, Shipment.kind == "delivery")
        .order_by(Shipment.shipped_at.desc(), Shipment.id.desc())
        .limit(1)
        .correlate(Order)
        .scalar_subquery()
    )
    delivered = func.coalesce(steps.c.delivered, 0)
    return (
        select(
            Order.id.label("order_id"),
            cst_date(Order.created_at).label("day"),
            method.label("payment_method"),
            Order.rendition.label("rendition"),
            func.coalesce(shipped_with, Order.carrier, "").label("carrier"),
            Order.phone.label("phone"),
            Order.total_fen.label("total_fen"),
            Order.shipping_fen.label("shipping_fen"),
            func.coalesce(steps.c.ok, 0).label("address_ok"),
            func.coalesce(steps.c.shipped, 0).label("shipped"),
            func.coalesce(steps.c.refused, 0).label("refused"),
            case((method == "cod", delivered), else_=func.coalesce(steps.c.paid, 0)).label("paid"),
        )
        .outerjoin(steps, steps.c.order_id == Order.id)
        .where(where)
    )


FACT_COLUMNS = ["order_id", "day", "payment_method", "rendition", "carrier", "phone",
                "total_fen", "shipping_fen", "address_ok", "shipped", "refused", "paid"]  # fmt: skip
CUBE_KEYS = ("day", "payment_method", "rendition", "carrier")
CUBE_SUMS = ("orders", "orders_fen", "address_ok", "shipped", "shipped_fen", "refused", "paid",
             "paid_fen", "orders_shipping_fen", "shipped_shipping_fen")  # fmt: skip
PRODUCT_KEYS = ("day", "product_id", "payment_method")
PRODUCT_SUMS = ("orders", "orders_fen", "paid", "paid_fen")


def _cube_select(facts):
    """report_order_days rows from a selectable with the fact columns."""
    f = facts.c
    return select(
        *(getattr(f, k) for k in CUBE_KEYS),
        func.count(),
        func.sum(f.total_fen),
        func.sum(f.address_ok),
        func.sum(f.shipped),
        func.sum(f.shipped * f.total_fen),
        func.sum(f.refused),
        func.sum(f.paid),
        func.sum(f.paid * f.total_fen),
        func.sum(f.shipping_fen),
        func.sum(f.shipped * f.shipping_fen),
    ).group_by(*(getattr(f, k) for k in CUBE_KEYS))


def order_day_rows(lo: datetime, hi: datetime):
    """The report_order_days rows of the orders created in [lo, hi), computed straight from the
    orders and their events (no rollups: what the bench compares the rollups with)."""
    return _cube_select(_per_order(and_(Order.created_at >= lo, Order.created_at < hi)).subquery())


def _runs(days: list[date]) -> Iterable[tuple[date, date]]:
    """Sorted days as runs of consecutive days, at most CHUNK_DAYS long."""
    first = last = None
    for day in days:
        if (
            first is not None
            and day == last + timedelta(days=1)
            and (day - first).days < CHUNK_DAYS
        ):
            last = day
            continue
        if first is not None:
            yield first, last
        first = last = day
    if first is not None:
        yield first, last


def recompute(days: Iterable[date]) -> int:
    """Count these order dates again from scratch: their orders' facts, then their daily rows.
    Returns how many orders. Flushes; the caller commits."""
    counted = 0
    for first, last in _runs(sorted(set(days))):
        lo, hi = utc_bounds(first, last)
        for model in (OrderFact, OrderDayStat, ProductDayStat):
            db.session.execute(delete(model).where(model.day.between(first, last)))
        db.session.execute(
            insert(OrderFact).from_select(
                FACT_COLUMNS, _per_order(and_(Order.created_at >= lo, Order.created_at < hi))
            )
        )
        counted += db.session.scalar(select(func.count()).where(OrderFact.day.between(first, last)))
        facts = select(OrderFact).where(OrderFact.day.between(first, last)).subquery()
        db.session.execute(
            insert(OrderDayStat).from_select([*CUBE_KEYS, *CUBE_SUMS], _cube_select(facts))
        )
        line = OrderItem.unit_price_fen * OrderItem.quantity
        db.session.execute(
            insert(ProductDayStat).from_select(
                [*PRODUCT_KEYS, *PRODUCT_SUMS],
                select(
                    OrderFact.day,
                    OrderItem.product_id,
                    OrderFact.payment_method,
                    func.count(func.distinct(OrderFact.order_id)),
                    func.sum(line),
                    func.count(func.distinct(case((OrderFact.paid == 1, OrderFact.order_id)))),
                    func.sum(OrderFact.paid * line),
                )
                .join(OrderItem, OrderItem.order_id == OrderFact.order_id)
                .where(OrderFact.day.between(first, last))
                .group_by(OrderFact.day, OrderItem.product_id, OrderFact.payment_method),
            )
        )
    db.session.flush()
    return counted


def _dialect_insert(model):
    return (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert(model)


def _add_to(model, keys: tuple[str, ...], sums: tuple[str, ...], deltas: dict) -> None:
    """Upsert: add each key's deltas to its rollup row (made when missing)."""
    rows = [dict(zip(keys, key, strict=True)) | dict(zip(sums, values, strict=True))
            for key, values in deltas.items() if any(values)]  # fmt: skip
    if not rows:
        return
    stmt = _dialect_insert(model)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: getattr(model, name) + getattr(stmt.excluded, name) for name in sums},
        ),
        rows,
    )


def _recount(order_ids: list[int]) -> None:
    """Take these orders' old contributions out of the daily rows and put their new ones in."""
    if not order_ids:
        return
    for start in range(0, len(order_ids), RECOUNT_BATCH):
        batch = order_ids[start : start + RECOUNT_BATCH]
        new = {r.order_id: r for r in db.session.execute(_per_order(Order.id.in_(batch)))}
        old = {
            r.order_id: r
            for r in db.session.execute(
                select(*(getattr(OrderFact, c) for c in FACT_COLUMNS)).where(
                    OrderFact.order_id.in_(batch)
                )
            )
        }
        lines: dict[int, dict[int, int]] = {}
        for order_id, product_id, amount in db.session.execute(
            select(OrderItem.order_id, OrderItem.product_id,
                   OrderItem.unit_price_fen * OrderItem.quantity)
            .where(OrderItem.order_id.in_(batch))
        ):  # fmt: skip
            products = lines.setdefault(order_id, {})
            products[product_id] = products.get(product_id, 0) + amount
        cube: dict[tuple, list[int]] = {}
        by_product: dict[tuple, list[int]] = {}
        for sign, facts in ((-1, old), (1, new)):
            for f in facts.values():
                day = as_date(f.day)
                key = (day, f.payment_method, f.rendition, f.carrier)
                values = (1, f.total_fen, f.address_ok, f.shipped, f.shipped * f.total_fen,
                          f.refused, f.paid, f.paid * f.total_fen, f.shipping_fen,
                          f.shipped * f.shipping_fen)  # fmt: skip
                total = cube.setdefault(key, [0] * len(CUBE_SUMS))
                for i, v in enumerate(values):
                    total[i] += sign * v
                for product_id, amount in lines.get(f.order_id, {}).items():
                    total = by_product.setdefault((day, product_id, f.payment_method), [0] * 4)
                    for i, v in enumerate((1, amount, f.paid, f.paid * amount)):
                        total[i] += sign * v
        _add_to(OrderDayStat, CUBE_KEYS, CUBE_SUMS, cube)
        _add_to(ProductDayStat, PRODUCT_KEYS, PRODUCT_SUMS, by_product)
        db.session.execute(delete(OrderFact).where(OrderFact.order_id.in_(batch)))
        if new:
            db.session.execute(
                insert(OrderFact),
                [{**r._asdict(), "day": as_date(r.day)} for r in new.values()],
            )
    # A row whose last order moved to another key (e.g. its carrier changed) counts nothing.
    db.session.execute(delete(OrderDayStat).where(OrderDayStat.orders == 0))
    db.session.execute(delete(ProductDayStat).where(ProductDayStat.orders == 0))
    db.session.flush()


def _claim_state() -> ReportRefresh:
    """The refresh state row, locked for this transaction: a row lock on PostgreSQL, the
    database's write lock on SQLite (taken before any read, so no stale snapshot)."""
    db.session.execute(
        _dialect_insert(ReportRefresh)
        .values(id=1, last_event_id=0, gap_ids="[]")
        .on_conflict_do_nothing(index_elements=["id"])
    )
    db.session.execute(
        update(ReportRefresh)
        .where(ReportRefresh.id == 1)
        .values(last_event_id=ReportRefresh.last_event_id)
        .execution_options(synchronize_session=False)
    )
    return db.session.get(ReportRefresh, 1, populate_existing=True)


def _all_order_days() -> list[date]:
    first, last = db.session.execute(
        select(func.min(Order.created_at), func.max(Order.created_at))
    ).one()
    if first is None:
        return []
    return days_between(china_day(first), china_day(last))


def _missing(seen: set[int], after: int, newest: int) -> list[int]:
    """Ids in (after, newest] not in `seen`, the newest MAX_GAPS of them (a transaction still
    open holds one of the latest ids; an old hole is a rollback)."""
    missing, expected = [], newest
    for i in sorted(seen, reverse=True):
        while expected > i and len(missing) < MAX_GAPS:
            missing.append(expected)
            expected -= 1
        expected = i - 1
    while expected > after and len(missing) < MAX_GAPS:
        missing.append(expected)
        expected -= 1
    return missing


def refresh(now: datetime) -> int:
    """Bring the rollups up to date: re-count every order with an event the last refresh did
    not see (everything, the first time). Returns how many orders were re-counted. Two
    refreshes wait for each other. Flushes; the caller commits."""
    state = _claim_state()
    if state.refreshed_at is None:
        return _recompute_all(state, now)
    gaps = {int(i): datetime.fromisoformat(seen) for i, seen in json.loads(state.gap_ids)}
    found = db.session.execute(
        select(OrderEvent.id, OrderEvent.order_id).where(
            or_(OrderEvent.id > state.last_event_id, OrderEvent.id.in_(list(gaps)))
        )
    ).all()
    orders = sorted({order_id for _id, order_id in found})
    _recount(orders)
    ids = {event_id for event_id, _order in found}
    new = {i for i in ids if i > state.last_event_id}
    newest = max(new, default=state.last_event_id)
    gaps = {i: seen for i, seen in gaps.items() if i not in ids and now - seen < GAP_TTL}
    gaps.update({i: now for i in _missing(new, state.last_event_id, newest)})
    state.last_event_id = newest
    state.gap_ids = json.dumps([[i, seen.isoformat()] for i, seen in sorted(gaps.items())])
    state.refreshed_at = now
    db.session.flush()
    return len(orders)


def _recompute_all(state: ReportRefresh, now: datetime) -> int:
    newest = db.session.scalar(select(func.max(OrderEvent.id))) or 0
    # Ids missing among the latest few may belong to transactions still open: look for them.
    recent = newest - RECENT_IDS
    seen = set(db.session.scalars(select(OrderEvent.id).where(OrderEvent.id > recent)))
    for model in (OrderFact, OrderDayStat, ProductDayStat):
        db.session.execute(delete(model))
    counted = recompute(_all_order_days())
    gaps = [[i, now.isoformat()] for i in sorted(_missing(seen, max(recent, 0), newest))]
    state.last_event_id, state.gap_ids, state.refreshed_at = newest, json.dumps(gaps), now
    db.session.flush()
    return counted


def rebuild(now: datetime, first: date | None = None, last: date | None = None) -> int:
    """Count everything again from scratch: every order date, or only first…last (after
    orders were changed behind the event log's back, e.g. a correction or a backfill).
    Returns how many orders. Flushes; the caller commits."""
    state = _claim_state()
    if first is None and last is None:
        return _recompute_all(state, now)
    return recompute(days_between(first or last, last or first))
