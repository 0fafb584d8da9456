"""The buying funnel per China Standard Time day and rendition: home → product page →
confirmation page → order placed (DESIGN.md section 1's five pages, less the lists).

Page views are counted in memory by wapshop/web/pageviews.py and added here in batches; orders
placed are the orders themselves (report_order_days, by the rendition they were placed from), so a
double-submitted confirmation or a refreshed "order placed" page never counts twice."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from wapshop.extensions import db
from wapshop.renditions import LABELS, RENDITIONS
from wapshop.models.reports import OrderDayStat, PageViewCount
from wapshop.services.reports import Table, days_between, share
from wapshop.services.reports.figures import Summable

PAGES = ("home", "product", "confirm")


def record_views(counts: Mapping[tuple[date, str, str], int]) -> None:
    """Add (day, rendition, page) → views to the stored counts in one upsert.
    Executes on the session; the caller commits."""
    rows = [
        {"day": day, "rendition": rendition, "page": page, "views": views}
        for (day, rendition, page), views in sorted(counts.items())
        if views
    ]
    if not rows:
        return
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(PageViewCount).values(rows)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["day", "rendition", "page"],
            set_={"views": PageViewCount.views + stmt.excluded.views},
        )
    )


@dataclass
class Step(Summable):
    home: int = 0
    product: int = 0
    confirm: int = 0
    orders: int = 0


def funnel(first: date, last: date) -> list[tuple[date, str, Step]]:
    """(day, rendition, figures) for every day of the range and every rendition, zeros
    included; other renditions found in the data follow the known ones."""
    views = db.session.execute(
        select(
            PageViewCount.day, PageViewCount.rendition, PageViewCount.page, PageViewCount.views
        ).where(PageViewCount.day.between(first, last))
    )
    found: dict[tuple[date, str], Step] = {}
    for day, rendition, page, count in views:
        step = found.setdefault((_day(day), rendition), Step())
        if page in PAGES:
            setattr(step, page, getattr(step, page) + int(count))
    placed = db.session.execute(
        select(OrderDayStat.day, OrderDayStat.rendition, func.sum(OrderDayStat.orders))
        .where(OrderDayStat.day.between(first, last))
        .group_by(OrderDayStat.day, OrderDayStat.rendition)
    )
    for day, rendition, orders in placed:
        found.setdefault((_day(day), rendition), Step()).orders += int(orders)
    renditions = list(RENDITIONS) + sorted({r for _d, r in found} - set(RENDITIONS))
    return [
        (day, rendition, found.get((day, rendition), Step()))
        for day in days_between(first, last)
        for rendition in renditions
    ]


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def by_rendition(rows: list[tuple[date, str, Step]]) -> list[tuple[str, Step]]:
    totals: dict[str, Step] = {}
    for _day_, rendition, step in rows:
        totals[rendition] = totals.get(rendition, Step()) + step
    return list(totals.items())


COLUMNS = ["首页浏览", "商品页浏览", "确认页浏览", "下单数", "首页→商品页", "商品页→确认页",
           "确认页→下单", "首页→下单"]  # fmt: skip


def _cells(s: Step) -> list[str]:
    return [str(s.home), str(s.product), str(s.confirm), str(s.orders),
            share(s.product, s.home), share(s.confirm, s.product), share(s.orders, s.confirm),
            share(s.orders, s.home)]  # fmt: skip


def label(rendition: str) -> str:
    return LABELS.get(rendition, rendition)


def renditions_table(totals: list[tuple[str, Step]]) -> Table:
    total = sum((s for _r, s in totals), Step())
    return Table(
        "renditions",
        "各版本合计",
        ["版本", *COLUMNS],
        [[label(r), *_cells(s)] for r, s in totals],
        [["合计", *_cells(total)]],
    )


def days_table(rows: list[tuple[date, str, Step]]) -> Table:
    return Table(
        "days",
        "每日各版本",
        ["日期", "版本", *COLUMNS],
        [[day.isoformat(), label(r), *_cells(s)] for day, r, s in rows],
        labels=2,
    )
