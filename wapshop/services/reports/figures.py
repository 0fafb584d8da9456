"""The figures read from the rollups: per day, per payment method, per product, per carrier,
the overview and the deals' sell-through."""

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import (
    case,
    func,
    select,
)
from sqlalchemy.orm import joinedload

from wapshop.extensions import db
from wapshop.models import Deal, Product
from wapshop.models.reports import OrderDayStat, OrderFact, ProductDayStat
from wapshop.services.reports.dates import days_between, utc_bounds, as_date
from wapshop.services.reports.rollups import METHOD_LABELS


class Summable:
    """A dataclass of counts that adds up field by field (days into a range, rows into a
    total)."""

    def __add__(self, other):
        return type(self)(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass
class Figures(Summable):
    """Section 7's counts and amounts for a day or a range."""

    orders: int = 0
    orders_fen: int = 0
    address_ok: int = 0
    shipped: int = 0
    shipped_fen: int = 0
    refused: int = 0
    # The shipping fees inside orders_fen and shipped_fen (amounts are what buyers pay).
    orders_shipping_fen: int = 0
    shipped_shipping_fen: int = 0


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
    by_day = {as_date(row.day): _figures(row) for row in found}
    return [(day, by_day.get(day, Figures())) for day in days_between(first, last)]


def totals(first: date, last: date) -> Figures:
    row = db.session.execute(
        select(*_figure_sums()).where(OrderDayStat.day.between(first, last))
    ).one()
    return _figures(row)


@dataclass
class Paying(Summable):
    """Orders placed and paid: counts and amounts."""

    orders: int = 0
    orders_fen: int = 0
    paid: int = 0
    paid_fen: int = 0


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
