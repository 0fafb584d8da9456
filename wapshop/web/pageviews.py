"""Counting the funnel's page views without a database write per request.

Each worker process counts views of the home page, product pages and the order confirmation
page in memory, keyed by China Standard Time day, rendition (g.rendition) and page. When
FUNNEL_FLUSH_EVERY views are waiting, or the oldest has waited FUNNEL_FLUSH_SECONDS (checked on
every request), the request that notices takes the whole batch and, once its response has been
sent (response.call_on_close), adds it to page_view_counts with one upsert, so no buyer waits
for that write. A failed write keeps the counts for the next batch. A worker that exits normally
(gunicorn's max_requests recycling, a graceful restart or stop) writes what it holds at exit:
gunicorn.conf.py's worker_exit hook calls flush(), and an atexit handler does for any other
server (tests/test_funnel.py stops gunicorn and finds every view).

What is lost if a worker dies (SIGKILL, gunicorn's worker timeout, out of memory, a crash):
the views it had counted and not yet written, fewer than FUNNEL_FLUSH_EVERY and, on a busy
worker, only those of the last FUNNEL_FLUSH_SECONDS (an idle worker holds its last few views
until its next request or exit). Orders are never lost: the funnel reads orders placed from the
orders themselves (services/funnel.py), not from these counters.

Only successful GETs count (200, or 304 when a phone revalidates its cached page); a GET of
checkout.confirm (or the cart's confirmation) counts when it shows the confirmation form, not the
region pick list before it. A POST to checkout.place or cart.place answered with its redirect (an order placed, or its twin shown) is the
"order" step. Crawlers (devices.ua_tier == "bot") count nowhere.

Each view also names its visitor: an HMAC (SECRET_KEY) of the remote address, the User-Agent and
the China Standard Time day, 32 hex characters, never the address in clear. Not the session id:
placing an order regenerates it, and a phone without cookies gets a new one on every page until
its session is first written, so the sid would split one person into several visitors. The cost:
two people behind one gateway address with the same phone model count as one."""

import atexit
import hashlib
import hmac
import threading
import time
from collections import Counter
from datetime import date

from flask import Flask, current_app, g, request, template_rendered

from wapshop.clock import china_day, utcnow
from wapshop.extensions import db
from wapshop.renditions import DEFAULT
from wapshop.services import funnel as funnel_service
from wapshop.web.devices import ua_tier

PAGE_OF_ENDPOINT = {
    "catalog.home": "home",
    "catalog.product": "product",
    "checkout.confirm": "confirm",
    "cart.checkout_page": "confirm",  # the cart's confirmation: the same step, several lines
}
CONFIRM_TEMPLATE = "/checkout/confirm.html"
ORDER_ENDPOINTS = frozenset({"checkout.place", "cart.place"})

Key = funnel_service.Key  # CST day, rendition, step, visitor


class ViewCounter:
    """One worker's views not yet written. Thread-safe; `clock` is injectable for tests."""

    def __init__(self, flush_every: int, flush_seconds: float, clock=time.monotonic):
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self.clock = clock
        self._counts: Counter[Key] = Counter()
        self._pending = 0
        self._oldest: float | None = None
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return self._pending

    def add(self, key: Key, views: int = 1) -> None:
        with self._lock:
            if not self._pending:
                self._oldest = self.clock()
            self._counts[key] += views
            self._pending += views

    def take(self, only_if_due: bool = False) -> Counter[Key] | None:
        """Everything waiting (None when nothing is, or with only_if_due, when neither the
        count nor the age of the batch has reached its limit)."""
        with self._lock:
            if not self._pending:
                return None
            if only_if_due and not (
                self._pending >= self.flush_every
                or self.clock() - self._oldest >= self.flush_seconds
            ):
                return None
            counts, self._counts = self._counts, Counter()
            self._pending, self._oldest = 0, None
            return counts

    def give_back(self, counts: Counter[Key]) -> None:
        """Counts whose write failed: they go out with the next batch."""
        for key, views in counts.items():
            self.add(key, views)


def init_app(app: Flask) -> None:
    counter = ViewCounter(
        int(app.config["FUNNEL_FLUSH_EVERY"]),
        float(app.config["FUNNEL_FLUSH_SECONDS"]),
    )
    app.extensions["pageviews"] = counter
    app.after_request(count_view)
    template_rendered.connect(_note_template, app)
    if not app.testing:
        atexit.register(flush, app)


def _note_template(sender, template, context, **extra) -> None:
    if (template.name or "").endswith(CONFIRM_TEMPLATE):
        g.funnel_confirm_shown = True


def _step(response) -> str | None:
    if request.method == "POST":
        placed = request.endpoint in ORDER_ENDPOINTS and response.status_code == 303
        return "order" if placed else None
    if request.method != "GET" or response.status_code not in (200, 304):
        return None
    page = PAGE_OF_ENDPOINT.get(request.endpoint or "")
    if page == "confirm" and not g.get("funnel_confirm_shown"):
        return None
    return page


def visitor_key(secret: str | bytes, remote_addr: str | None, user_agent: str, day: date) -> str:
    """Who a view came from, as a keyed hash: the same all day, nothing to read back."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"{remote_addr or ''}\n{user_agent}\n{day.isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def count_view(response):
    """after_request: count a funnel page view in memory; hand a due batch to be written once
    the response has gone out. The step counted is noted in the WSGI environ (STEP_NOTE): a
    page answered again before Flask's cycle (web/hits.py) counts the same."""
    step = _step(response)
    request.environ[STEP_NOTE] = step
    app = current_app._get_current_object()
    rendition = g.get("rendition") or DEFAULT
    writing = count(
        app, step, rendition, request.remote_addr, request.headers.get("User-Agent", "")
    )
    if writing is not None:
        response.call_on_close(writing)
    return response


STEP_NOTE = "wapshop.funnel_step"


def count(app: Flask, step: str | None, rendition: str, remote_addr, user_agent: str):
    """Count one view of `step` (None: nothing to count); the write of a due batch, to run
    once the response has gone out, or None."""
    counter: ViewCounter = app.extensions["pageviews"]
    if step is not None and ua_tier(user_agent) != "bot":
        day = china_day(utcnow())
        who = visitor_key(app.secret_key, remote_addr, user_agent, day)
        counter.add((day, rendition, step, who))
    batch = counter.take(only_if_due=True)
    return (lambda: write(app, counter, batch)) if batch else None


def write(app: Flask, counter: ViewCounter, batch: Counter[Key]) -> bool:
    """Add a batch to the stored counts in its own app context and transaction; on failure
    log it and give the counts back. Returns whether it was written."""
    with app.app_context():
        try:
            funnel_service.record_views(batch)
            db.session.commit()
            return True
        except Exception:
            db.session.rollback()
            counter.give_back(batch)
            app.logger.exception("funnel: could not write %d page views", sum(batch.values()))
            return False


def flush(app: Flask) -> bool:
    """Write everything this worker holds now (at exit; also for tests and scripts)."""
    counter: ViewCounter | None = app.extensions.get("pageviews")
    batch = counter.take() if counter is not None else None
    return write(app, counter, batch) if batch else True
