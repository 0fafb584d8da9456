"""The numbers the business runs on (DESIGN.md section 7), per order date.

Definitions, read from the orders and their event log (each transition is an OrderEvent whose
to_status is the new OrderStatus; "reached X" means the order has such an event, whatever
happened after it):
- order date: the order's created_at in China Standard Time (Asia/Shanghai, UTC+8);
- 总订单个数 / 总订单金额: every order created that date, whatever its payment method or fate;
  count and sum of total_fen;
- 地址有效订单数: those that reached address_ok (the seller confirmed the address deliverable);
- 发货订单数 / 发货订单金额: those that reached shipped (the back office ships only orders
  confirmed by phone, DESIGN.md section 6); count and sum of total_fen;
- 拒收订单数: those that reached refused;
- 订单有效率 = 地址有效 ÷ 总订单; 发货率 = 发货 ÷ 地址有效; 拒收率 = 拒收 ÷ 发货;
  ASP = 发货订单金额 ÷ 发货订单数; a zero denominator shows "—";
- payment method: the one the order was placed with (checkout writes its code as the note of
  the placing event), so an online order later switched to cash on delivery stays an unpaid
  online order; paid: an online order that reached paid, a cash-on-delivery order that reached
  delivered (cash collected); 支付率 = paid ÷ placed;
- GMV: 总订单金额; average order value = GMV ÷ 总订单个数; 复购率: of the buyers (normalised
  phone) with a shipped order of the range, the share with two or more.
Totals add the days up; the daily average divides the total by the number of days in the range,
and its rates and ASP are the total's (ratios of sums, not averages of ratios).

Reads come from the rollups in models/reports.py; `refresh` brings them up to date with the
event log first (the views and commands call it), `rebuild` recomputes them all."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import (
    Date,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from wapshop.extensions import db
from wapshop.models import Deal, Order, OrderEvent, OrderItem, OrderStatus, Product
from wapshop.models.reports import OrderDayStat, OrderFact, ProductDayStat, ReportRefresh
from wapshop.services import deals

DASH = "—"
CENT = Decimal("0.01")
MAX_DAYS = 366
DEFAULT_DAYS = 30
# As the checkout offers them; codes the shop no longer knows are listed after these.
METHOD_LABELS = {
    "cod": "货到付款",
    "card": "手机充值卡",
    "bank": "网银/手机银行",
    "balance": "账户余额",
}
# How long a refresh keeps looking for an event id it found missing (an open transaction's, to
# be committed, or a rolled-back one's, never to be), and at most how many it keeps.
GAP_TTL = timedelta(minutes=10)
MAX_GAPS = 10_000
RECENT_IDS = 1_000  # after a full recompute, missing ids are looked for among these
CHUNK_DAYS = 7  # order dates recomputed per statement
RECOUNT_BATCH = 500  # orders re-counted per statement


class BadRange(ValueError):
    """A date range the reports refuse; the message is for staff."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Dates ---------------------------------------------------------------------------------


def parse_range(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """?start=&end= as ISO dates (China Standard Time); by default the last DEFAULT_DAYS days
    to today. An end after today becomes today. Raises BadRange."""
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else None
    except ValueError as exc:
        raise BadRange("日期格式不对，例如 2013-05-01。") from exc
    last = min(last, today)
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise BadRange("开始日期不能晚于结束日期（结束日期最晚是今天）。")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRange(f"一次最多看 {MAX_DAYS} 天。")
    return first, last


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The CST days first…last as a naive UTC half-open interval."""
    return deals.day_bounds(first)[0], deals.day_bounds(last)[1]


def cst_date(column):
    """SQL: the China Standard Time calendar date of a naive UTC timestamp column. China has
    kept UTC+8 without daylight saving since 1991, so a fixed offset is exact."""
    if db.engine.dialect.name == "sqlite":
        return func.date(column, "+8 hours")
    return cast(column + literal_column("interval '8 hours'"), Date)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


# --- Rollups: counting orders from the event log -------------------------------------------


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
    delivered = func.coalesce(steps.c.delivered, 0)
    return (
        select(
            Order.id.label("order_id"),
            cst_date(Order.created_at).label("day"),
            method.label("payment_method"),
            Order.rendition.label("rendition"),
            func.coalesce(Order.carrier, "").label("carrier"),
            Order.phone.label("phone"),
            Order.total_fen.label("total_fen"),
            func.coalesce(steps.c.ok, 0).label("address_ok"),
            func.coalesce(steps.c.shipped, 0).label("shipped"),
            func.coalesce(steps.c.refused, 0).label("refused"),
            case((method == "cod", delivered), else_=func.coalesce(steps.c.paid, 0)).label("paid"),
        )
        .outerjoin(steps, steps.c.order_id == Order.id)
        .where(where)
    )


FACT_COLUMNS = ["order_id", "day", "payment_method", "rendition", "carrier", "phone",
                "total_fen", "address_ok", "shipped", "refused", "paid"]  # fmt: skip
CUBE_KEYS = ("day", "payment_method", "rendition", "carrier")
CUBE_SUMS = ("orders", "orders_fen", "address_ok", "shipped", "shipped_fen", "refused", "paid",
             "paid_fen")  # fmt: skip
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
                day = _as_date(f.day)
                key = (day, f.payment_method, f.rendition, f.carrier)
                values = (1, f.total_fen, f.address_ok, f.shipped, f.shipped * f.total_fen,
                          f.refused, f.paid, f.paid * f.total_fen)  # fmt: skip
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
                [{**r._asdict(), "day": _as_date(r.day)} for r in new.values()],
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
    return days_between(deals.cst_day(first), deals.cst_day(last))


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


# --- Reading the rollups -------------------------------------------------------------------


@dataclass
class Figures:
    """Section 7's counts and amounts for a day or a range."""

    orders: int = 0
    orders_fen: int = 0
    address_ok: int = 0
    shipped: int = 0
    shipped_fen: int = 0
    refused: int = 0

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def _figure_sums(model=OrderDayStat):
    return [func.sum(getattr(model, f.name)).label(f.name) for f in fields(Figures)]


def _figures(row) -> Figures:
    return Figures(*(int(getattr(row, f.name) or 0) for f in fields(Figures)))


def daily(first: date, last: date) -> list[tuple[date, Figures]]:
    """One row per order date of the range, days without orders included."""
    found = db.session.execute(
        select(OrderDayStat.day, *_figure_sums())
        .where(OrderDayStat.day.between(first, last))
        .group_by(OrderDayStat.day)
    )
    by_day = {_as_date(row.day): _figures(row) for row in found}
    return [(day, by_day.get(day, Figures())) for day in days_between(first, last)]


def totals(first: date, last: date) -> Figures:
    row = db.session.execute(
        select(*_figure_sums()).where(OrderDayStat.day.between(first, last))
    ).one()
    return _figures(row)


@dataclass
class Paying:
    """Orders placed and paid: counts and amounts."""

    orders: int = 0
    orders_fen: int = 0
    paid: int = 0
    paid_fen: int = 0

    def __add__(self, other: "Paying") -> "Paying":
        return Paying(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def _paying(row) -> Paying:
    return Paying(*(int(getattr(row, f.name) or 0) for f in fields(Paying)))


def _paying_sums(model):
    return [func.sum(getattr(model, f.name)).label(f.name) for f in fields(Paying)]


def payments_by_method(first: date, last: date) -> list[tuple[str, Paying]]:
    """Every payment method the shop knows (unused ones with zeros), then any other found."""
    found = db.session.execute(
        select(OrderDayStat.payment_method, *_paying_sums(OrderDayStat))
        .where(OrderDayStat.day.between(first, last))
        .group_by(OrderDayStat.payment_method)
    )
    by_method = {row.payment_method: _paying(row) for row in found}
    order = list(METHOD_LABELS) + sorted(set(by_method) - set(METHOD_LABELS))
    return [(method, by_method.get(method, Paying())) for method in order]


def payments_by_product(
    first: date, last: date, method: str | None = None
) -> list[tuple[int, str, Paying]]:
    """(product id, title, figures) of the products ordered in the range, most orders first;
    only orders placed with `method` when given."""
    query = (
        select(ProductDayStat.product_id, Product.title, *_paying_sums(ProductDayStat))
        .join(Product, Product.id == ProductDayStat.product_id)
        .where(ProductDayStat.day.between(first, last))
        .group_by(ProductDayStat.product_id, Product.title)
    )
    if method:
        query = query.where(ProductDayStat.payment_method == method)
    rows = [(row.product_id, row.title, _paying(row)) for row in db.session.execute(query)]
    return sorted(rows, key=lambda r: (-r[2].orders, -r[2].orders_fen, r[0]))


@dataclass(frozen=True)
class Overview:
    figures: Figures
    buyers: int  # distinct phones with a shipped order of the range
    repeat_buyers: int  # of those, with two or more


def overview(first: date, last: date) -> Overview:
    """The range's totals and its repeat buyers (distinct phones do not add up across days,
    so these come from the orders' facts)."""
    per_phone = (
        select(OrderFact.phone, func.count().label("n"))
        .where(OrderFact.day.between(first, last), OrderFact.shipped == 1)
        .group_by(OrderFact.phone)
        .subquery()
    )
    buyers, repeat = db.session.execute(
        select(func.count(), func.sum(case((per_phone.c.n >= 2, 1), else_=0)))
    ).one()
    return Overview(totals(first, last), int(buyers or 0), int(repeat or 0))


def by_carrier(first: date, last: date) -> list[tuple[str, Figures]]:
    """Figures per carrier ("" for orders without one), carriers with shipped orders first."""
    found = db.session.execute(
        select(OrderDayStat.carrier, *_figure_sums())
        .where(OrderDayStat.day.between(first, last))
        .group_by(OrderDayStat.carrier)
    )
    rows = [(row.carrier, _figures(row)) for row in found]
    return sorted(rows, key=lambda r: (-r[1].shipped, r[0]))


def deal_sell_through(first: date, last: date) -> list[Deal]:
    """The deals that started in the range, with their products, by start time."""
    lo, hi = utc_bounds(first, last)
    return list(
        db.session.scalars(
            select(Deal)
            .options(joinedload(Deal.product))
            .where(Deal.starts_at >= lo, Deal.starts_at < hi)
            .order_by(Deal.starts_at, Deal.position, Deal.id)
        )
    )


# --- Tables: what a page, its CSV and the command show, cell for cell ----------------------


@dataclass(frozen=True)
class Table:
    name: str  # in the CSV's URL and file name
    title: str
    columns: list[str]
    rows: list[list[str]]
    foot: list[list[str]] = field(default_factory=list)  # 合计, 日均
    labels: int = 1  # leading text columns; the rest are figures

    def all_rows(self) -> list[list[str]]:
        return [self.columns, *self.rows, *self.foot]


def yuan(fen: int | Decimal) -> str:
    """Fen as yuan with two decimals, no currency sign: 2550 -> '25.50'."""
    return str((Decimal(fen) / 100).quantize(CENT, ROUND_HALF_UP))


def share(part: int, whole: int) -> str:
    """A percentage to two decimals, or "—" when there is nothing to divide by."""
    if not whole:
        return DASH
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(CENT, ROUND_HALF_UP)}%"


def mean_yuan(fen: int, count: int) -> str:
    return yuan(Decimal(fen) / count) if count else DASH


def _mean(value: int, count: int) -> str:
    return str((Decimal(value) / count).quantize(CENT, ROUND_HALF_UP))


DAILY_COLUMNS = [
    "日期", "总订单个数", "总订单金额（元）", "地址有效订单数", "订单有效率", "发货订单数", "发货率",
    "发货订单金额（元）", "拒收订单数", "拒收率", "ASP（元）",
]  # fmt: skip


def _rates(f: Figures) -> dict[str, str]:
    return {
        "valid": share(f.address_ok, f.orders),
        "shipping": share(f.shipped, f.address_ok),
        "refusal": share(f.refused, f.shipped),
        "asp": mean_yuan(f.shipped_fen, f.shipped),
    }


def _daily_cells(label: str, f: Figures) -> list[str]:
    r = _rates(f)
    return [label, str(f.orders), yuan(f.orders_fen), str(f.address_ok), r["valid"],
            str(f.shipped), r["shipping"], yuan(f.shipped_fen), str(f.refused), r["refusal"],
            r["asp"]]  # fmt: skip


def daily_table(rows: list[tuple[date, Figures]]) -> Table:
    """Section 7's daily report: a row per date, the total, and the daily average."""
    total = sum((f for _day, f in rows), Figures())
    n = len(rows)
    r = _rates(total)
    average = ["日均", _mean(total.orders, n), yuan(Decimal(total.orders_fen) / n),
               _mean(total.address_ok, n), r["valid"], _mean(total.shipped, n), r["shipping"],
               yuan(Decimal(total.shipped_fen) / n), _mean(total.refused, n), r["refusal"],
               r["asp"]]  # fmt: skip
    return Table(
        "daily",
        "每日订单",
        DAILY_COLUMNS,
        [_daily_cells(day.isoformat(), f) for day, f in rows],
        [_daily_cells("合计", total), average],
    )


PAYING_COLUMNS = ["下单数", "下单金额（元）", "支付订单数", "支付金额（元）", "支付率"]


def _paying_cells(p: Paying) -> list[str]:
    return [str(p.orders), yuan(p.orders_fen), str(p.paid), yuan(p.paid_fen),
            share(p.paid, p.orders)]  # fmt: skip


def method_label(code: str) -> str:
    return METHOD_LABELS.get(code, code)


def methods_table(rows: list[tuple[str, Paying]]) -> Table:
    total = sum((p for _m, p in rows), Paying())
    return Table(
        "methods",
        "按付款方式",
        ["付款方式", *PAYING_COLUMNS],
        [[method_label(m), *_paying_cells(p)] for m, p in rows],
        [["合计", *_paying_cells(total)]],
    )


def products_table(rows: list[tuple[int, str, Paying]], method: str | None) -> Table:
    total = sum((p for _i, _t, p in rows), Paying())
    return Table(
        "products",
        f"按商品（{method_label(method) if method else '全部付款方式'}）",
        ["商品ID", "商品", *PAYING_COLUMNS],
        [[str(i), title, *_paying_cells(p)] for i, title, p in rows],
        [["合计", "", *_paying_cells(total)]],
        labels=2,
    )


def overview_table(o: Overview) -> Table:
    f = o.figures
    rows = [
        ["总订单个数", str(f.orders)],
        ["GMV（总订单金额，元）", yuan(f.orders_fen)],
        ["平均订单金额（元）", mean_yuan(f.orders_fen, f.orders)],
        ["发货订单数", str(f.shipped)],
        ["发货订单金额（元）", yuan(f.shipped_fen)],
        ["拒收率", share(f.refused, f.shipped)],
        ["有发货订单的买家数", str(o.buyers)],
        ["其中有 2 个及以上发货订单的买家数", str(o.repeat_buyers)],
        ["复购率", share(o.repeat_buyers, o.buyers)],
    ]
    return Table("summary", "概况", ["指标", "数值"], rows)


def carriers_table(rows: list[tuple[str, Figures]]) -> Table:
    total = sum((f for _c, f in rows), Figures())

    def cells(label, f):
        return [label, str(f.shipped), str(f.refused), share(f.refused, f.shipped)]

    return Table(
        "carriers",
        "各承运商拒收率",
        ["承运商", "发货订单数", "拒收订单数", "拒收率"],
        [cells(c or "未指定", f) for c, f in rows],
        [cells("合计", total)],
    )


def top_products_table(rows: list[tuple[int, str, Paying]], limit: int = 10) -> Table:
    return Table(
        "top",
        f"下单最多的 {limit} 个商品",
        ["名次", "商品ID", "商品", "下单数", "下单金额（元）"],
        [
            [str(n), str(i), title, str(p.orders), yuan(p.orders_fen)]
            for n, (i, title, p) in enumerate(rows[:limit], 1)
        ],  # fmt: skip
        labels=3,
    )


def deals_table(found: list[Deal], now: datetime) -> Table:
    def when(value: datetime) -> str:
        return deals.to_cst(value).strftime("%Y-%m-%d %H:%M")

    rows = [
        [str(d.id), d.product.title, when(d.starts_at), when(d.ends_at),
         deals.STATE_LABELS[deals.state(d, now)], str(d.quantity), str(d.sold),
         share(d.sold, d.quantity)]
        for d in found
    ]  # fmt: skip
    quantity, sold = sum(d.quantity for d in found), sum(d.sold for d in found)
    return Table(
        "deals",
        "特价售出率",
        ["特价ID", "商品", "开始", "结束", "状态", "数量", "已售", "售出率"],
        rows,
        [["合计", "", "", "", "", str(quantity), str(sold), share(sold, quantity)]],
        labels=5,
    )
