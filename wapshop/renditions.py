"""The four renditions of every shop page, in one place: their names and labels, which
templates each one reads (and falls back to), the content type it is served as, and how many
items its list pages show. Plain data and functions: models, services and the web layer all
read it."""

from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

RENDITIONS = ("wml", "basic", "color", "touch")
ALL_RENDITIONS = ",".join(RENDITIONS)
# A page rendered outside any choice (an error before the choice was made).
DEFAULT = "touch"
LABELS = {"wml": "WAP1.x", "basic": "简版", "color": "彩版", "touch": "触屏版"}

# Where each rendition's templates are looked for, in order. color shares basic's XHTML-MP
# pages, swapping in thumbnails; touch has its own catalogue pages and reuses basic's form
# pages inside its own layout and macros.
FALLBACK = {
    "wml": ("wml",),
    "basic": ("basic",),
    "color": ("color", "basic"),
    "touch": ("touch", "basic"),
}

# Items per list page (config PAGE_SIZE's default) and replies per ticket page: feature
# phones get short pages.
PAGE_SIZE = {"wml": 4, "basic": 8, "color": 8, "touch": 20}
REPLIES_PER_PAGE = {"wml": 2, "basic": 6, "color": 6, "touch": 20}

WML_TYPE = "text/vnd.wap.wml"
XHTML_MP_TYPE = "application/vnd.wap.xhtml+xml"
XHTML_TYPE = "application/xhtml+xml"
HTML_TYPE = "text/html"
XHTML_TYPES = (XHTML_MP_TYPE, XHTML_TYPE)


def targets(renditions: str, rendition: str) -> bool:
    """True when a comma-separated rendition list includes `rendition`."""
    return rendition in renditions.split(",")


def template_names(rendition: str, name: str) -> list[str]:
    """templates/<rendition>/<name> and the ones it falls back to, in order."""
    return [f"{r}/{name}" for r in FALLBACK.get(rendition, (rendition,))]


# The Accept header read for the content type: as much as devices.accept_signal reads.
MAX_ACCEPT_LENGTH = 1024


def content_type(rendition: str, accept: str | None) -> str:
    """The Content-Type a page in `rendition` is served as. `accept`: the request's Accept
    header; basic and color take the XHTML type the client values most (on a tie,
    XHTML-MP's own)."""
    if rendition in ("basic", "color"):
        return _xhtml_type((accept or "")[:MAX_ACCEPT_LENGTH])
    if rendition == "wml":
        return f"{WML_TYPE}; charset=utf-8"
    return f"{HTML_TYPE}; charset=utf-8"


@lru_cache(maxsize=1024)
def _xhtml_type(accept: str) -> str:
    """Remembered per Accept value: parsing one costs werkzeug tens of µs, and a phone model
    sends the same one on every request."""
    accepted = parse_accept_header(accept, MIMEAccept)
    named = {mime: q for mime, q in accepted if mime in XHTML_TYPES and q > 0}
    if named:
        best = max(XHTML_TYPES, key=lambda mime: named.get(mime, -1))
        return f"{best}; charset=utf-8"
    return f"{HTML_TYPE}; charset=utf-8"
