"""Server-side sessions and throttling counters: in the database, so any worker serves anyone."""

from datetime import datetime

from sqlalchemy import Index, String, Text
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


class ThrottleHit(db.Model):
    """One failed attempt (login, order lookup) under a key such as 'login:phone:138…'."""

    __tablename__ = "throttle_hits"
    __table_args__ = (Index("ix_throttle_hits_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(default=utcnow)
