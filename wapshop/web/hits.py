"""A stored page's finished answer, given again before Flask's request cycle.

A catalogue page served from the page cache (web/cache.py) still costs Flask's whole cycle:
the request and app contexts, the session, the rendition, every after-request hook (funnel,
security headers, validators, gzip). When such a request goes out unchanged — a GET answered
200 from a stored page without a CSRF token, setting no cookie but the session's own — this
WSGI layer keeps what went out (status, headers, bytes) under the page's key, the sid the
answer holds (in its links, or in the session cookie set again) and whether it was gzipped.
The next GET with the same key, sid and encoding is answered here, from the same functions
that keyed it in Flask (open_session, rendition_of, remembered_locale, page_key,
request_generation), after the same database read: the generation (with the session row
when there is a sid). A page changes for no one faster than through Flask: an answer lives
no longer than its page (same birth, same generation, same PAGE_CACHE_SECONDS), and a new
generation drops every one. The funnel counts the view as Flask counted it.

Anything else goes to Flask untouched: other methods, conditional requests (a 304 is
Flask's), ?ver= and ?lang= (they change the session), sessions with flashed messages or due
to slide forward, answers setting any other cookie, paths no answer has been kept for, and
any failure here (the cycle below meets it and answers it properly). A request that went on
to Flask after its session was read hands it on (sessions.OPENED_NOTE): nothing is read
twice."""

import threading
from collections import OrderedDict

from werkzeug.wsgi import ClosingIterator

from wapshop.clock import utcnow
from wapshop.web import cache as page_cache
from wapshop.web import pageviews
from wapshop.web.i18n import LANG_PARAM, remembered_locale
from wapshop.web.rendering import CONDITIONAL_HEADERS, accepts_gzip, rendition_of
from wapshop.web.sessions import OPENED_NOTE

ANSWERS = "page_answers"
OK = "200 OK"


class PageHits:
    """WSGI middleware around Flask's wsgi_app (inside ProxyFix: it sees the fixed environ)."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.answered = 0  # answers given here (tests and benches read it)
        self._paths: OrderedDict[str, None] = OrderedDict()  # paths with an answer kept
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        if environ.get("PATH_INFO") in self._paths and not any(
            name in environ for name in CONDITIONAL_HEADERS
        ):
            try:
                found = self._find(environ)
            except Exception:  # noqa: BLE001 — Flask's cycle below answers it properly
                found = None
            if found is not None:
                return self._give(environ, start_response, *found)
        return self._keep(environ, start_response)

    def _find(self, environ):
        """(the kept answer, its rendition) for this request, or None."""
        app = self.app
        answers = app.extensions[ANSWERS]
        req = app.request_class(environ)
        if (trusted := app.config["TRUSTED_HOSTS"]) is not None:
            req.trusted_hosts = trusted
        args = req.args
        if "ver" in args or LANG_PARAM in args:
            return None
        with app.app_context():
            sess = app.session_interface.open_session(app, req)
            environ[OPENED_NOTE] = sess
            if "_flashes" in sess or sess.slides(app.config["SESSION_LIFETIME"], utcnow()):
                return None
            rendition, _vary = rendition_of(req, sess)
            key = page_cache.page_key(req, sess, rendition, remembered_locale(sess))
            sess.generation = page_cache.request_generation(sess)
        answers.seen(sess.generation)  # the pages see it in serve_cached, if Flask is asked
        entry = answers.get((key, page_cache.answer_sid(sess), accepts_gzip(environ)))
        return None if entry is None else (entry, rendition)

    def _give(self, environ, start_response, entry, rendition):
        _born, body, headers, step = entry
        writing = pageviews.count(
            self.app,
            step,
            rendition,
            environ.get("REMOTE_ADDR"),
            environ.get("HTTP_USER_AGENT", ""),
        )
        self.answered += 1
        start_response(OK, list(headers))
        return ClosingIterator([body], writing) if writing else [body]

    def _keep(self, environ, start_response):
        """Flask's answer; kept when it is a stored page going out unchanged."""
        seen: list = []

        def noting(status, headers, exc_info=None):
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, noting)
        served = environ.get(page_cache.SERVED_NOTE)
        if served is None or not seen or seen[0] != OK or not self._own_cookie(seen[1], served[3]):
            return result
        body = b"".join(result)
        key, generation, born, sid = served
        answers = self.app.extensions[ANSWERS]
        step = environ.get(pageviews.STEP_NOTE)
        answers.seen(generation)  # as serve_cached did for the pages, with this request's figure
        answers.put(
            (key, sid, accepts_gzip(environ)), generation, born, (body, tuple(seen[1]), step)
        )
        self._note_path(environ.get("PATH_INFO"), answers.entries)
        return ClosingIterator([body], getattr(result, "close", None))

    def _own_cookie(self, headers, sid: str | None) -> bool:
        """No cookie set, or only the session's own set again (its sid is in the answer's
        key: the answer goes to that session alone)."""
        own = f"{self.app.config['SESSION_COOKIE_NAME']}={sid};"
        return all(
            sid is not None and value.startswith(own)
            for name, value in headers
            if name.lower() == "set-cookie"
        )

    def _note_path(self, path: str | None, bound: int) -> None:
        with self._lock:
            paths = self._paths
            paths[path] = None
            paths.move_to_end(path)
            while len(paths) > bound:
                paths.popitem(last=False)


def init_app(app) -> None:
    """Around Flask's cycle when the page cache is on (call before ProxyFix wraps it)."""
    pages = app.extensions.get("page_cache")
    if pages is None:
        return
    app.extensions[ANSWERS] = page_cache.PageCache(
        pages.entries, pages.max_bytes, pages.seconds, clock=pages.clock
    )
    app.wsgi_app = PageHits(app, app.wsgi_app)
