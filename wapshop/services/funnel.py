"""The buying funnel per China Standard Time day and rendition: home → product page →
confirmation page → order placed (DESIGN.md section 1's five pages, less the lists).

Each step counts VISITORS: a visitor (a keyed hash, wapshop/web/pageviews.py) counts at a step
once a day however often they reload it, and each rate is the share of the previous step's
visitors who went on to the next step that same day, so no rate passes 100%. Page views are
still added up (page_view_counts) but no longer drive a rate. Both are counted in memory per
worker and written here in batches: the visitors with insert-or-ignore on (day, rendition,
step, visitor), so several workers and machines may write the same visitor."""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from wapshop.extensions import db
from wapshop.renditions import LABELS, RENDITIONS
from wapshop.models.reports import FunnelVisitor, PageViewCount
from wapshop.services.reports import Table, days_between, share
from wapshop.services.reports.figures import Summable

PAGES = ("home", "product", "confirm")
STEPS = (*PAGES, "order")  # "order": the visitor placed an order (checkout.place succeeded)
# (step, the step before it) for each rate; the last is home → order overall.
PAIRS = (("product", "home"), ("confirm", "product"), ("order", "confirm"), ("order", "home"))

Key = tuple[date, str, str, str]  # CST day, rendition, step, visitor key


def _insert(model):
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def record_views(counts: Mapping[Key, int]) -> None:
    """Add (day, rendition, step, visitor) → views: the pages' views to page_view_counts in
    one upsert, every visitor to funnel_visitors in one insert-or-ignore.
    Executes on the session; the caller commits."""
    views: Counter[tuple[date, str, str]] = Counter()
    visitors = set()
    for (day, rendition, step, visitor), n in counts.items():
        if not n:
            continue
        visitors.add((day, rendition, step, visitor))
        if step in PAGES:
            views[(day, rendition, step)] += n
    rows = [
        {"day": day, "rendition": rendition, "page": page, "views": n}
        for (day, rendition, page), n in sorted(views.items())
    ]
    if rows:
        stmt = _insert(PageViewCount).values(rows)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["day", "rendition", "page"],
                set_={"views": PageViewCount.views + stmt.excluded.views},
            )
        )
    if visitors:
        rows = [
            {"day": day, "rendition": rendition, "step": step, "visitor": visitor}
            for day, rendition, step, visitor in sorted(visitors)
        ]
        db.session.execute(_insert(FunnelVisitor).values(rows).on_conflict_do_nothing())


@dataclass
class Step(Summable):
    home: int = 0
    product: int = 0
    confirm: int = 0
    orders: int = 0
    # Visitors at a step who were at the one before it the same day (see PAIRS).
    home_product: int = 0
    product_confirm: int = 0
    confirm_order: int = 0
    home_order: int = 0


FIELD_OF_STEP = {"home": "home", "product": "product", "confirm": "confirm", "order": "orders"}
FIELD_OF_PAIR = {pair: f"{pair[1]}_{pair[0]}" for pair in PAIRS}


def funnel(first: date, last: date) -> list[tuple[date, str, Step]]:
    """(day, rendition, figures) for every day of the range and every rendition, zeros
    included; other renditions found in the data follow the known ones."""
    v = FunnelVisitor
    found: dict[tuple[date, str], Step] = {}
    counted = db.session.execute(
        select(v.day, v.rendition, v.step, func.count())
        .where(v.day.between(first, last))
        .group_by(v.day, v.rendition, v.step)
    )
    for day, rendition, step, n in counted:
        if step in FIELD_OF_STEP:
            figures = found.setdefault((_day(day), rendition), Step())
            setattr(figures, FIELD_OF_STEP[step], int(n))
    before = aliased(FunnelVisitor)
    went_on = db.session.execute(
        select(v.day, v.rendition, v.step, before.step, func.count())
        .join(
            before,
            and_(before.day == v.day, before.rendition == v.rendition, before.visitor == v.visitor),
        )  # fmt: skip
        .where(v.day.between(first, last), v.step.in_(STEPS), before.step.in_(STEPS))
        .group_by(v.day, v.rendition, v.step, before.step)
    )
    for day, rendition, step, earlier, n in went_on:
        field = FIELD_OF_PAIR.get((step, earlier))
        if field:
            figures = found.setdefault((_day(day), rendition), Step())
            setattr(figures, field, int(n))
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


COLUMNS = ["首页访客", "商品页访客", "确认页访客", "下单访客", "首页→商品页", "商品页→确认页",
           "确认页→下单", "首页→下单"]  # fmt: skip


def _cells(s: Step) -> list[str]:
    return [str(s.home), str(s.product), str(s.confirm), str(s.orders),
            share(s.home_product, s.home), share(s.product_confirm, s.product),
            share(s.confirm_order, s.confirm), share(s.home_order, s.home)]  # fmt: skip


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
