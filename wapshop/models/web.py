"""Server-side sessions and throttling counters: in the database, so any worker serves anyone."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wapshop.extensions import db
from wapshop.models.base import utcnow


class WebSession(db.Model):
    __tablename__ = "web_sessions"
    # The sid itself: a password, random and long (see sessions.py).
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThrottleCounter(db.Model):
    """Attempts under one key (e.g. 'login:138…@10.0.0.1') in the window ending at window_end.
    Each time the limit is reached the key is blocked twice as long as the time before
    (strikes), until a success clears it. Changed only by single conditional UPDATEs, so
    parallel requests never count past a limit (see services/throttle.py)."""

    __tablename__ = "throttle_counters"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
    window_end: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    strikes: Mapped[int] = mapped_column(default=0)


class CacheGeneration(db.Model):
    """A counter every machine's page cache compares with: a change to the catalogue (an
    admin's edit, not a sale) adds one in the same transaction, and every worker drops the
    pages it rendered under an older figure on its next request (see web/cache.py)."""

    __tablename__ = "cache_generations"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
