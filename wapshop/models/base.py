"""Column helpers shared by every model module."""

from wapshop.clock import utcnow  # noqa: F401  (columns' default; the clock lives there)
