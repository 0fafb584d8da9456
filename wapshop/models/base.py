"""Column helpers shared by every model module."""

from datetime import datetime, timezone

RENDITIONS = ("wml", "basic", "color", "touch")
ALL_RENDITIONS = ",".join(RENDITIONS)


def utcnow() -> datetime:
    """Naive UTC: both SQLite and PostgreSQL store it as given, and comparisons stay simple."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def targets(renditions: str, rendition: str) -> bool:
    """True when a comma-separated rendition list includes `rendition`."""
    return rendition in renditions.split(",")
