"""Deals over time: a week at a glance for operators (Mon–Sun, China Standard Time), the
renditions whose home page shows fewer deals than run at once, and the buyers' 更多特价 list.

Read-only: nothing here writes."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import literal, select
from sqlalchemy.orm import joinedload

from wapshop.clock import china_day_bounds
from wapshop.extensions import db
from wapshop.models import Deal
from wapshop.renditions import LABELS, RENDITIONS
from wapshop.services import catalog
from wapshop.services.deals import DayDeal, state
from wapshop.services.pagination import Page, paginate

WEEK = 7


@dataclass(frozen=True)
class Shortfall:
    """At its busiest moment, `rendition` has `running` deals but its home shows `shown`."""

    rendition: str
    running: int
    shown: int

    @property
    def label(self) -> str:
        return LABELS[self.rendition]


@dataclass(frozen=True)
class WeekDay:
    day: date
    deals: list[DayDeal]
    shortfalls: list[Shortfall]


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week(any_day: date, now: datetime, home_limits: dict[str, int]) -> list[WeekDay]:
    """The seven days Monday to Sunday around `any_day`, each with the deals that run at some
    moment of that China day (by start time and home-page order) and its shortfalls."""
    monday = monday_of(any_day)
    start, _ = china_day_bounds(monday)
    _, end = china_day_bounds(monday + timedelta(days=WEEK - 1))
    found = db.session.scalars(
        select(Deal)
        .options(joinedload(Deal.product))
        .where(Deal.starts_at < end, Deal.ends_at > start)
        .order_by(Deal.starts_at, Deal.position, Deal.id)
    ).all()
    days = []
    for offset in range(WEEK):
        day = monday + timedelta(days=offset)
        lo, hi = china_day_bounds(day)
        on_day = [d for d in found if d.starts_at < hi and d.ends_at > lo]
        days.append(
            WeekDay(
                day,
                [DayDeal(d, state(d, now)) for d in on_day],
                shortfalls(on_day, lo, hi, now, home_limits),
            )
        )
    return days


def shortfalls(
    deals: list[Deal], lo: datetime, hi: datetime, now: datetime, home_limits: dict[str, int]
) -> list[Shortfall]:
    """Renditions whose home page (showing home_limits[r] deals) shows fewer deals than run at
    the busiest moment of [max(lo, now), hi): the rest are only on 更多特价. Stopped deals and
    deals of products taken off the shop do not run."""
    lo = max(lo, now)
    found = []
    for rendition in RENDITIONS:
        events = []
        for d in deals:
            if d.stopped or not d.product.active or not d.shown_to(rendition):
                continue
            start, end = max(d.starts_at, lo), min(d.ends_at, hi)
            if start < end:
                events += [(start, 1), (end, -1)]
        running = peak = 0
        # At the same instant an ending deal leaves before a starting one arrives.
        for _at, step in sorted(events):
            running += step
            peak = max(peak, running)
        if peak > home_limits[rendition]:
            found.append(Shortfall(rendition, peak, home_limits[rendition]))
    return found


def running_for(rendition: str, now: datetime):
    """A select of the deals running now for `rendition`, in home-page order."""
    padded = literal(",") + Deal.renditions + literal(",")
    return catalog.running_deals(now).where(padded.contains(f",{rendition},"))


def running_page(rendition: str, now: datetime, number: int, per_page: int) -> Page:
    """One page of 更多特价. Raises PageOutOfRange past the last page."""
    return paginate(running_for(rendition, now), number, per_page)
