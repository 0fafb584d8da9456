"""The one clock: naive UTC for the database, China Standard Time for people.

Every timestamp is stored as naive UTC (both SQLite and PostgreSQL keep it as given). Staff
and buyers read and type China Standard Time (UTC+8 without daylight saving since 1991).
Services take `now` from their caller and pass it on, so a backfilled history or a test
with a fixed clock stamps every event with the same time."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
CHINA_OFFSET = timedelta(hours=8)


def utcnow() -> datetime:
    """Naive UTC now."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_china(utc: datetime) -> datetime:
    """Naive UTC from the database → naive China Standard Time."""
    return utc.replace(tzinfo=timezone.utc).astimezone(CHINA).replace(tzinfo=None)


def from_china(local: datetime) -> datetime:
    """A naive China Standard Time (as staff type it) → naive UTC for the database."""
    return local.replace(tzinfo=CHINA).astimezone(timezone.utc).replace(tzinfo=None)


def china_day(utc: datetime) -> date:
    """The China calendar day of a naive UTC time."""
    return to_china(utc).date()


def china_day_bounds(day: date) -> tuple[datetime, datetime]:
    """A China calendar day as a naive UTC half-open interval [start, end)."""
    start = from_china(datetime.combine(day, time()))
    return start, start + timedelta(days=1)


def china_text(utc: datetime, fmt: str = "%m-%d %H:%M") -> str:
    """Naive UTC → text in China Standard Time, e.g. '11-23 14:05'."""
    return to_china(utc).strftime(fmt)
