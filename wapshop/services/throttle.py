"""Slowing down guessing (logins, order lookups, registration, phone codes): attempts counted
per key in the database, so every worker on every machine sees the same count.

An attempt is counted before it is tried (`take`), in one conditional UPDATE per key, so 20
parallel guesses under a limit of 5 get exactly 5 tries, never more. Keys pair the account
with the client's address (`limits_for`): an attacker guessing one phone's password slows
only themselves, and the owner, from their own phone or network, still logs in. Each time a
key reaches its limit it stays blocked twice as long as the time before (15 minutes, 30, an
hour… at most MAX_BLOCK), so a patient guesser gets ever slower; a success clears the key."""

from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from wapshop.extensions import db
from wapshop.models import ThrottleCounter
from wapshop.clock import utcnow

MAX_BLOCK = timedelta(hours=4)


class Throttled(Exception):
    """Too many attempts under one of the keys; retry_after is in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def limits_for(
    action: str, subject: str, addr: str | None, limit: int, addr_limit: int, pair: bool = True
) -> dict[str, int]:
    """Counters for one action: this subject (a phone, a username) from this address (or,
    with pair=False, from anywhere: texts sent to one phone), and everything from this
    address (one client spraying many subjects)."""
    addr = addr or "-"
    first = f"{action}:{subject}@{addr}" if pair else f"{action}:{subject}"
    return {first[:200]: limit, f"{action}@{addr}"[:200]: addr_limit}


def _ensure(keys, now: datetime) -> None:
    """A row for each key, created empty if missing; concurrent creators do not collide."""
    rows = [{"key": key, "hits": 0, "window_end": now, "strikes": 0} for key in keys]
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(ThrottleCounter).values(rows).on_conflict_do_nothing())


def _count(key: str, now: datetime, window: timedelta, limit: int | None) -> bool:
    """Add one attempt under key, starting a new window when the last one ended; with a
    limit, only while under it. True when counted. One statement: the database serialises
    it per row. The attempt that reaches the limit extends the block (growing delays)."""
    expired = ThrottleCounter.window_end <= now
    stmt = update(ThrottleCounter).where(ThrottleCounter.key == key)
    if limit is not None:
        stmt = stmt.where(or_(ThrottleCounter.hits < limit, expired))
    stmt = stmt.values(
        hits=case((expired, 1), else_=ThrottleCounter.hits + 1),
        window_end=case((expired, now + window), else_=ThrottleCounter.window_end),
    ).returning(ThrottleCounter.hits, ThrottleCounter.strikes)
    counted = db.session.execute(stmt.execution_options(synchronize_session=False)).first()
    if counted is None:
        return False
    if limit is not None and counted.hits == limit:  # exactly one request gets here
        block = min(window * 2**counted.strikes, max(MAX_BLOCK, window))
        db.session.execute(
            update(ThrottleCounter)
            .where(ThrottleCounter.key == key)
            .values(window_end=now + block, strikes=ThrottleCounter.strikes + 1)
            .execution_options(synchronize_session=False)
        )
    return True


def take(limits: dict[str, int], window: timedelta, now: datetime | None = None) -> None:
    """Count one attempt under every key, or none: raises Throttled when a key has reached
    its limit and is still blocked. The caller commits right away, before the (slow) try."""
    now = now or utcnow()
    _ensure(limits, now)
    taken = []
    for key, limit in limits.items():
        if not _count(key, now, window, limit):
            release(taken)
            end = db.session.scalar(
                select(ThrottleCounter.window_end).where(ThrottleCounter.key == key)
            )
            raise Throttled(max(1, int((end - now).total_seconds())))
        taken.append(key)


def release(keys) -> None:
    """Give back one attempt under each key (an attempt that succeeded, or was not made)."""
    keys = list(keys)
    if keys:
        db.session.execute(
            update(ThrottleCounter)
            .where(ThrottleCounter.key.in_(keys), ThrottleCounter.hits > 0)
            .values(hits=ThrottleCounter.hits - 1)
            .execution_options(synchronize_session=False)
        )


def succeeded(limits: dict[str, int]) -> None:
    """After a success: this subject's count from this address starts again; the shared
    address counters get their attempt back (many buyers share one operator gateway)."""
    first, *shared = list(limits)
    forget([first])
    release(shared)


def forget(keys) -> None:
    """Clear keys after a success (the caller commits)."""
    db.session.execute(
        delete(ThrottleCounter)
        .where(ThrottleCounter.key.in_(list(keys)))
        .execution_options(synchronize_session=False)
    )


def prune(older_than: timedelta) -> None:
    """Drop counters too old to matter for any window (the caller commits)."""
    db.session.execute(
        delete(ThrottleCounter)
        .where(ThrottleCounter.window_end < utcnow() - older_than)
        .execution_options(synchronize_session=False)
    )
