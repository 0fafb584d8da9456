"""Slowing down guessing (logins, order lookups): failures counted per key in the database,
so every worker on every machine sees the same count."""

from datetime import timedelta

from sqlalchemy import delete, func, select

from wapshop.extensions import db
from wapshop.models import ThrottleHit
from wapshop.models.base import utcnow


class Throttled(Exception):
    """Too many failures under one of the keys; retry_after is in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def check(limits: dict[str, int], window: timedelta) -> None:
    """Raise Throttled when any key has reached its limit of failures within the window."""
    since = utcnow() - window
    for key, limit in limits.items():
        hits, oldest = db.session.execute(
            select(func.count(), func.min(ThrottleHit.at)).where(
                ThrottleHit.key == key, ThrottleHit.at > since
            )
        ).one()
        if hits >= limit:
            raise Throttled(max(1, int((oldest + window - utcnow()).total_seconds())))


def record_failure(keys) -> None:
    """Count a failure under each key (flushes; the caller commits)."""
    now = utcnow()
    db.session.add_all(ThrottleHit(key=key, at=now) for key in keys)
    db.session.flush()


def forget(keys) -> None:
    """Clear keys after a success (the caller commits)."""
    db.session.execute(delete(ThrottleHit).where(ThrottleHit.key.in_(list(keys))))


def prune(older_than: timedelta) -> None:
    """Drop records too old to matter for any window (the caller commits)."""
    db.session.execute(delete(ThrottleHit).where(ThrottleHit.at < utcnow() - older_than))
