"""Column helpers shared by every model module."""

from wapshop.clock import utcnow  # noqa: F401  (columns' default; the clock lives there)

RENDITIONS = ("wml", "basic", "color", "touch")
ALL_RENDITIONS = ",".join(RENDITIONS)


def targets(renditions: str, rendition: str) -> bool:
    """True when a comma-separated rendition list includes `rendition`."""
    return rendition in renditions.split(",")
