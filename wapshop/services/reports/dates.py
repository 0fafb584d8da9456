"""The reports' date ranges: China Standard Time calendar days, in Python and in SQL."""

from datetime import date, datetime, timedelta

from sqlalchemy import (
    Date,
    cast,
    func,
    literal_column,
)

from wapshop.clock import china_day_bounds
from wapshop.extensions import db
from wapshop.parsing import parse_date


MAX_DAYS = 366
DEFAULT_DAYS = 30


class BadRange(ValueError):
    """A date range the reports refuse; the message is for staff."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def parse_range(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """?start=&end= as ISO dates (China Standard Time); by default the last DEFAULT_DAYS days
    to today. An end after today becomes today. Raises BadRange."""
    try:
        last = parse_date(end) if end else today
        first = parse_date(start) if start else None
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
    return china_day_bounds(first)[0], china_day_bounds(last)[1]


def cst_date(column):
    """SQL: the China Standard Time calendar date of a naive UTC timestamp column. China has
    kept UTC+8 without daylight saving since 1991, so a fixed offset is exact."""
    if db.engine.dialect.name == "sqlite":
        return func.date(column, "+8 hours")
    return cast(column + literal_column("interval '8 hours'"), Date)


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
