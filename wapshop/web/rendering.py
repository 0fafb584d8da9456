"""Which rendition a request gets, and rendering a page in a given rendition.

Order of choice: an explicit ?ver= (remembered in the session) → every signal of the request's
headers (devices.rendition_for_request: Accept, the handset's User-Agent forwarded by
transcoders, UAProf, the User-Agent). Views compute their data once and call
render_page(g.rendition, ...); they never branch on the rendition, and the renderer is a plain
function of what it is given (wapshop/renditions.py says which templates and content type).
Every response is finished here (finish_response): security headers, caching (private unless
the page is the catalogue's), gzip."""

import gzip
import threading
from collections import OrderedDict
from functools import cache, lru_cache
from urllib.parse import urlsplit

from flask import abort, current_app, g, render_template, request, session
from flask_babel import gettext as _
from werkzeug.http import generate_etag

from wapshop import renditions
from wapshop.parsing import present_arg
from wapshop.web import cache as page_cache
from wapshop.web.devices import DECIDING_HEADERS, rendition_for_request


def rendition_of(req, sess) -> tuple[str, tuple[str, ...]]:
    """The rendition a request gets before any ?ver=: the session's, else what its headers
    say; and the headers it was chosen from (what the response varies by)."""
    remembered = sess.get("ver")
    if remembered:
        return remembered, ()
    return rendition_for_request(req.headers), DECIDING_HEADERS


def choose_rendition() -> None:
    """before_request hook: sets g.rendition; an unknown ?ver= is a 400."""
    g.rendition, vary = rendition_of(request, session)
    if vary:
        g.vary = vary
    ver = present_arg(request.args, "ver")
    if ver is not None:
        if ver not in renditions.RENDITIONS:
            abort(400, _("没有这个版本：可选 wml、basic、color、touch。"))
        if session.get("ver") != ver:
            session["ver"] = ver
        g.rendition = ver


def render_page(rendition: str, template: str, **context):
    """Render templates/<rendition>/<template> (or the one it falls back to) as a response
    with the rendition's content type. Templates see `rendition` in their context."""
    body = render_template(
        renditions.template_names(rendition, template), rendition=rendition, **context
    )
    response = current_app.response_class(
        body, content_type=renditions.content_type(rendition, request.environ.get("HTTP_ACCEPT"))
    )
    # A rendition chosen from the headers depends on every header the choice read.
    if deciding := g.get("vary", ()):
        response.headers["Vary"] = _vary(None, deciding)
    return response


@lru_cache(maxsize=64)
def _vary(existing: str | None, names: tuple[str, ...]) -> str:
    """A Vary value: what it already names, then `names`, each once (names are ours: the
    few header lists of this module and devices.py, so the cache stays small)."""
    merged = [n.strip() for n in (existing or "").split(",") if n.strip()]
    seen = {n.lower() for n in merged}
    for name in names:
        if name.lower() not in seen:
            merged.append(name)
            seen.add(name.lower())
    return ", ".join(merged)


# Pages whose blueprint is named here are the same for every visitor (the catalogue): a
# refresh may cost a 304. Every other page may show someone's orders, address, balance or
# staff work, so it is never stored anywhere and never revalidated: private is the default.
CACHEABLE_BLUEPRINTS = frozenset({"catalog", "media"})


def _cacheable() -> bool:
    return request.endpoint == "static" or (
        bool(request.blueprints) and request.blueprints[-1] in CACHEABLE_BLUEPRINTS
    )


@cache
def _security_headers(bank_url: str) -> dict[str, str]:
    """The same on every response. No script runs (none is inline; /static may add files);
    inline styles stay allowed (touch's image placeholder, color's and admin's <style>).
    Forms post here, and the bank payment's form redirects to the bank's gateway (Chromium
    holds redirects after a POST to form-action too). No framing. A Referer carries the
    origin only, never a path or query: cookie-less phones have the sid in the URL, and a
    full Referer would hand it to other sites and to our own proxy's access log; the origin
    alone is what a bank checking where its buyers come from needs."""
    bank = urlsplit(bank_url)
    bank_origin = f" {bank.scheme}://{bank.netloc}" if bank.scheme and bank.netloc else ""
    return {
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            f"object-src 'none'; base-uri 'none'; form-action 'self'{bank_origin}; "
            "frame-ancestors 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin",
    }


# Compressed catalogue pages by their exact bytes: a page served from the page cache to the
# same kind of client is compressed once, not on every request. Bounded (entries and size);
# keyed by the whole body, so a lookup needs the page itself.
GZIP_ENTRIES = 256
GZIP_MAX_BYTES = 64 * 1024
_gzipped: OrderedDict[bytes, bytes] = OrderedDict()
_gzip_lock = threading.Lock()


def _gzip(data: bytes, keep: bool) -> bytes:
    if not keep or len(data) > GZIP_MAX_BYTES:
        return gzip.compress(data, compresslevel=6)
    with _gzip_lock:
        found = _gzipped.get(data)
        if found is not None:
            _gzipped.move_to_end(data)
            return found
    packed = gzip.compress(data, compresslevel=6, mtime=0)
    with _gzip_lock:
        _gzipped[data] = packed
        while len(_gzipped) > GZIP_ENTRIES:
            _gzipped.popitem(last=False)
    return packed


# Every response may differ by these (the content type chosen from Accept, gzip).
VARY_ALWAYS = ("Accept", "Accept-Encoding")
# A request that can be answered 304 (or 412) brings one of these; any other needs no
# comparison of validators.
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH")


def accepts_gzip(environ) -> bool:
    """Whether a response to this request is gzipped (when it is worth it)."""
    return "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")


def finish_response(response):
    """after_request: security headers; a private page is never stored, a catalogue page gets
    validators so a refresh can cost a 304; then gzip when accepted."""
    req = request._get_current_object()  # one proxy look-up: this runs on every response
    headers = response.headers
    # The names present, looked up here rather than asked of the headers: werkzeug answers a
    # missing name by building a BadRequestKeyError, ~1 µs each, several per response.
    present = {name.lower() for name in headers.keys()}
    headers.update(_security_headers(current_app.config["BANK_GATEWAY_URL"]))
    headers["Vary"] = _vary(headers["Vary"] if "vary" in present else None, VARY_ALWAYS)
    cacheable = _cacheable()
    if not cacheable:
        headers["Cache-Control"] = "no-store"
        for name in ("etag", "last-modified"):
            if name in present:
                del headers[name]
    elif (
        req.method in ("GET", "HEAD")
        and response.status_code == 200
        and not response.direct_passthrough
        and response.mimetype != "application/octet-stream"
    ):
        if "cache-control" not in present:
            headers["Cache-Control"] = "private, no-cache"
        if "etag" not in present:
            response.set_etag(generate_etag(response.get_data()))
        if any(name in req.environ for name in CONDITIONAL_HEADERS):
            response.make_conditional(req)
    if (
        response.status_code == 200
        and not response.direct_passthrough
        and accepts_gzip(req.environ)
        and "content-encoding" not in present
        and len(response.get_data()) > 512
    ):
        response.set_data(_gzip(response.get_data(), keep=cacheable))
        headers["Content-Encoding"] = "gzip"
    return response


def init_app(app) -> None:
    """Choose the rendition before every request; finish every response (registered after the
    page-view counter, so that one sees the finished response: a 304 counts)."""
    app.before_request(choose_rendition)
    app.after_request(finish_response)
    # The page cache answers after the rendition is chosen and keeps a page before it is
    # finished (after_request functions run last registered first).
    page_cache.init_app(app)
