"""Whole-page cache of the catalogue's GET pages, per worker, correct on several machines.

What a page depends on, and how the cache keys or bounds each:
- the URL (path and query without the sid), the rendition, the language, the content type
  (from Accept), the host: in the key;
- the buyer's session: its content (cart, login, choices; everything but the CSRF secret and
  the browser tag) is in the key, so two sessions share a page only when they hold the same;
  the sid, and a CSRF token a form on the page carries, are cut out of the stored page and
  put back for each request (its own sid, its own token): a stored page never holds one;
- the catalogue in the database: every write that is not a sale (an admin's price, stock,
  title, deal, category, image...) adds one to `cache_generations` in its own transaction
  (the hooks below watch every flush and statement of the session), and each request reads
  that figure first: a page rendered under an older one is never served, on any machine;
- sales (stock taken, deal units sold) and time (a countdown, a deal starting): a page is
  kept at most PAGE_CACHE_SECONDS (default 3 s), the staleness bound of a deal's remaining
  units and countdown and of stock moved by orders.

Bounded: PAGE_CACHE_ENTRIES pages of at most PAGE_CACHE_MAX_BYTES each, least recently used
dropped first. Pages with flashed messages, error pages and anything but a 200 are never
stored."""

import json
import operator
import threading
from collections import OrderedDict
from datetime import datetime

from flask import current_app, g, request, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.sql.dml import Delete, Insert, Update

from wapshop import renditions
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import CacheGeneration
from wapshop.web.i18n import locale_code
from wapshop.web.reads import GENERATION, GENERATION_SQL, reads

CACHED_ENDPOINTS = frozenset(
    {"catalog.home", "catalog.category", "catalog.collection", "catalog.product", "catalog.search"}
)
# The catalogue's tables: a write to any of them that is not a sale invalidates every page.
CATALOG_TABLES = frozenset(
    {
        "sellers",
        "categories",
        "collection_products",
        "products",
        "variants",
        "collections",
        "deal_variants",
        "deals",
        "search_terms",
        "media_files",
        "shipping_rules",
    }
)
# Session keys that never change what a page shows (the CSRF secret: its token is put back
# per request; the browser a session was granted to).
NEUTRAL_KEYS = frozenset({"csrf_token", "_client", "_fresh", "_id"})
KEPT_HEADERS = ("Content-Type", "Vary")
SID_MARK = "\x00sid\x00"
CSRF_MARK = "\x00csrf\x00"
CHANGED = "catalog_changed"
# In the WSGI environ of a request answered from a stored page without a CSRF token: the
# page's key, generation and birth (web/hits.py keeps the finished answer).
SERVED_NOTE = "wapshop.page_served"
EPOCH = datetime(2000, 1, 1)


def seconds_now() -> float:
    """The shop's clock (wapshop.clock, which tests may move) in seconds."""
    return (utcnow() - EPOCH).total_seconds()


class PageCache:
    """A bounded LRU of pages; thread-safe. Each entry remembers its generation and birth."""

    def __init__(self, entries: int, max_bytes: int, seconds: float, clock=None):
        self.entries = entries
        self.max_bytes = max_bytes
        self.seconds = seconds
        self.clock = clock or (lambda: seconds_now())
        self.generation: int | None = None
        self._pages: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def seen(self, generation: int) -> None:
        """The database's figure now: a new one drops every page."""
        with self._lock:
            if generation != self.generation:
                self._pages.clear()
                self.generation = generation

    def get(self, key):
        with self._lock:
            entry = self._pages.get(key)
            if entry is None:
                return None
            if not 0 <= self.clock() - entry[0] < self.seconds:
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return entry

    def put(self, key, generation: int, born: float, page) -> None:
        with self._lock:
            if generation != self.generation or len(page[0]) > self.max_bytes:
                return
            self._pages[key] = (born, *page)
            self._pages.move_to_end(key)
            while len(self._pages) > self.entries:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


def current_generation() -> int:
    """The figure now: one short statement outside the request's transaction (web/reads.py),
    so a page served from the cache checks out no pooled connection."""
    row = reads.row(db.engine, GENERATION_SQL)
    return row[0] if row else 0


def request_generation(sess) -> int:
    """The figure at this request's start: read with its session row when it brought a sid
    (one round trip for both), else read now."""
    found = getattr(sess, "generation", None)
    return found if found is not None else current_generation()


def bump_generation(sess) -> None:
    """One more catalogue change, in the caller's transaction."""
    changed = sess.execute(
        update(CacheGeneration)
        .where(CacheGeneration.name == GENERATION)
        .values(value=CacheGeneration.value + 1)
        .execution_options(page_cache_quiet=True)
    ).rowcount
    if not changed:
        sess.add(CacheGeneration(name=GENERATION, value=1))
        sess.flush()


# --- noticing catalogue writes -------------------------------------------------------------


def _is_movement(stmt: Update) -> bool:
    """An UPDATE that only moves counts relative to themselves (stock = stock - 2, sold =
    sold + 1): a sale, a cancellation, a return. Its effect shows within the TTL."""
    values = getattr(stmt, "_values", None)
    if not values or getattr(stmt, "_multi_values", None):
        return False
    for column, value in values.items():
        name = getattr(column, "key", column)
        if not (
            isinstance(value, BinaryExpression)
            and value.operator in (operator.add, operator.sub)
            and getattr(value.left, "key", None) == name
        ):
            return False
    return True


def _touches_catalog(stmt) -> bool:
    table = getattr(stmt, "table", None)
    name = getattr(table, "name", None)
    if name not in CATALOG_TABLES:
        return False
    return not (isinstance(stmt, Update) and _is_movement(stmt))


def notice(sess, stmt, options) -> None:
    """A Core/ORM INSERT, UPDATE or DELETE of a catalogue table in `sess`'s transaction: the
    figure moves at its COMMIT (a sale's movement does not move it). The session's
    do_orm_execute calls it; so does what sends statements past the session
    (web/pipeline.py)."""
    if (
        isinstance(stmt, (Insert, Update, Delete))
        and not options.get("page_cache_quiet")
        and _touches_catalog(stmt)
    ):
        sess.info[CHANGED] = True


def _note_statement(state) -> None:
    notice(state.session, state.statement, state.execution_options)


def _catalog_objects(objects) -> bool:
    return any(getattr(o, "__tablename__", None) in CATALOG_TABLES for o in objects)


def _note_flush(sess, _context, _instances) -> None:
    if (
        _catalog_objects(sess.new)
        or _catalog_objects(sess.deleted)
        or any(
            getattr(o, "__tablename__", None) in CATALOG_TABLES and sess.is_modified(o)
            for o in sess.dirty
        )
    ):
        sess.info[CHANGED] = True


def _before_commit(sess) -> None:
    if sess.new or sess.dirty or sess.deleted:
        sess.flush()  # the last flush fires _note_flush before the figure is bumped
    if sess.info.pop(CHANGED, False):
        bump_generation(sess)


def _forget(sess, *_args) -> None:
    sess.info.pop(CHANGED, None)


def watch_catalog_writes(session_class=Session) -> None:
    event.listen(session_class, "do_orm_execute", _note_statement)
    event.listen(session_class, "before_flush", _note_flush)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_rollback", _forget)


# --- the request cycle --------------------------------------------------------------------


def _session_part(sess) -> str:
    data = {k: v for k, v in sess.items() if k not in NEUTRAL_KEYS}
    return json.dumps(data, sort_keys=True, default=str) if data else ""


def page_key(req, sess, rendition: str, locale: str) -> tuple:
    """What a page depends on besides the database (the request and session objects, not
    their proxies: this runs on every catalogue request). The path names the view: only
    GETs of CACHED_ENDPOINTS are stored."""
    args = tuple(sorted((k, v) for k, v in req.args.items(multi=True) if k != "sid"))
    return (
        req.path,
        args,
        rendition,
        locale,
        renditions.content_type(rendition, req.environ.get("HTTP_ACCEPT")),
        req.scheme,
        req.host,
        bool(getattr(sess, "in_urls", False)),
        _session_part(sess),
    )


def answer_sid(sess) -> str | None:
    """The sid a finished answer to this session holds: in its links (a sid in URLs) or in the
    cookie set again (a session from a cookie); None without a session."""
    in_answer = getattr(sess, "in_urls", False) or getattr(sess, "from_cookie", False)
    return sess.sid if in_answer else None


def _page_cache() -> PageCache | None:
    return current_app.extensions.get("page_cache")


def serve_cached():
    """before_request (after the rendition is chosen): the stored page, its sid and CSRF
    token this request's own; else note the key for store_page."""
    cache = _page_cache()
    req, sess = request._get_current_object(), session._get_current_object()
    if (
        cache is None
        or req.method != "GET"
        or req.endpoint not in CACHED_ENDPOINTS
        or "_flashes" in sess
    ):
        return None
    generation = request_generation(sess)
    cache.seen(generation)
    key = page_key(req, sess, g.rendition, locale_code())
    entry = cache.get(key)
    if entry is None:
        g.page_cache_key = (key, generation, cache.clock())
        return None
    born, body, headers, has_sid, has_csrf = entry
    if has_sid:
        body = body.replace(SID_MARK, sess.sid)
    if has_csrf:
        body = body.replace(CSRF_MARK, generate_csrf())
    else:  # the whole answer may be kept as it goes out (web/hits.py)
        req.environ[SERVED_NOTE] = (key, generation, born, answer_sid(sess))
    return current_app.response_class(body, headers=headers)


def _kept_headers(response) -> tuple:
    """What a stored page is served with: its content type, and the headers its rendition was
    chosen from (Vary), the same for every request of its key (the key holds the rendition,
    and whether the session or the headers chose it)."""
    return tuple(
        (name, response.headers[name]) for name in KEPT_HEADERS if name in response.headers
    )


def store_page(response):
    """after_request (before the response is finished): keep a page rendered by its view."""
    pending = g.pop("page_cache_key", None)
    if pending is None:  # not a page to keep (most responses): nothing more to look at
        return response
    sess = session._get_current_object()
    if (
        response.status_code != 200
        or response.direct_passthrough
        or "_flashes" in sess
        or "Set-Cookie" in response.headers
    ):
        return response
    key, generation, born = pending
    body = response.get_data(as_text=True)
    if SID_MARK in body or CSRF_MARK in body:
        return response
    in_urls = bool(getattr(sess, "in_urls", False))
    has_sid = in_urls and sess.sid in body
    if has_sid:
        body = body.replace(sess.sid, SID_MARK)
    token = g.get("csrf_token")
    has_csrf = bool(token) and token in body
    if token and not has_csrf:
        return response  # a token we cannot find to cut out: never share this page
    if has_csrf:
        body = body.replace(token, CSRF_MARK)
    # Nothing the session would write may depend on having rendered: the key was taken from
    # the session before the view ran.
    if _session_part(sess) != key[-1] or in_urls != key[-2]:
        return response
    _page_cache().put(key, generation, born, (body, _kept_headers(response), has_sid, has_csrf))
    return response


def init_app(app) -> None:
    """Called by rendering.init_app after the rendition hook, so the key knows the rendition."""
    config = app.config
    wanted = config["PAGE_CACHE_SECONDS"] > 0 and config["PAGE_CACHE_ENTRIES"] > 0
    # Tests freeze the views' clocks and read stock right after a sale: the cache is theirs
    # only when they ask (PAGE_CACHE_IN_TESTS), as tests/test_cache_*.py do.
    if wanted and (not app.testing or config["PAGE_CACHE_IN_TESTS"]):
        app.extensions["page_cache"] = PageCache(
            int(config["PAGE_CACHE_ENTRIES"]),
            int(config["PAGE_CACHE_MAX_BYTES"]),
            float(config["PAGE_CACHE_SECONDS"]),
        )
    if not event.contains(Session, "before_commit", _before_commit):
        watch_catalog_writes()
    app.before_request(serve_cached)
    app.after_request(store_page)
