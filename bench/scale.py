"""Scale: page latency with 1,000 and 100,000 products, then with 1,000,000 past orders.

In-process with the Flask test client (no server, one request at a time), `touch` rendition
(20 items a page, the most rows) by User-Agent. Catalogue pages go cookie-less; checkout and
order pages use a client that keeps its session, as a buyer's browser does. Each page is
requested --requests times, each request followed by one of the bare Flask app (the growth
is also given against it: a shared machine's load moves both alike); the slowest SQL statement of each page is timed at every level,
and --explain prints its query plan at the last one; --explain-page PAGE prints the plan of every
statement PAGE runs, at every level.

    .venv/bin/python -m bench.scale [--products 1000 100000] [--orders 1000000] [--db sqlite]
"""

import argparse
import gzip
import re
import time
from collections import defaultdict
from datetime import timedelta
from itertools import chain
from urllib.parse import quote

from sqlalchemy import event, func, select, text

from bench.bare_app import app as bare_app
from bench.bulk_orders import make_bulk_orders
from bench.common import UA, COD_DISTRICT, demo_pages, load_demo
from bench.common import machine, make_app, order_form, percentile, phone_number, report, table
from bench.common import SEARCH_QUERY, workdir
from bench.servers import Databases
from wapshop.extensions import db
from wapshop.services import catalog, search, stock
from wapshop.services.pagination import Position
from wapshop.models import Category, Deal, Order, Product
from wapshop.clock import utcnow
from wapshop.services.demo import make_bulk_catalog

RARE_QUERY = "正宗碧根果"
PER_PAGE = 20  # touch


class StatementClock:
    """Time spent in each SQL statement, per page being measured."""

    def __init__(self, engine):
        self.page: str | None = None
        self.times: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.params: dict[str, object] = {}  # the last parameters seen, for EXPLAIN
        self.executed: dict[str, int] = defaultdict(int)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.page and not executemany:
            self.times[self.page][statement] += time.perf_counter() - conn.info.pop("started")
            self.params[statement] = parameters
            self.executed[self.page] += 1

    def per_request(self, requests: dict[str, list]) -> tuple[dict, dict]:
        """ms each statement adds to a request of each page, and statements per request of each
        page; then forget what was counted."""
        costs = {
            page: {stmt: total * 1000 / len(requests[page]) for stmt, total in spent.items()}
            for page, spent in self.times.items()
        }
        counts = {page: n / len(requests[page]) for page, n in self.executed.items()}
        self.times.clear()
        self.executed.clear()
        return costs, counts


def add_bench_deal(app) -> int:
    """A deal with no end of units (one per phone) on the demo's plain product: orders to place."""
    product_id = int(demo_pages(app)["product"].rsplit("/", 1)[1])
    now = utcnow()
    with app.app_context():
        stock.set_sole_stock(product_id, 10_000_000)
        db.session.add(
            Deal(
                product_id=product_id,
                deal_price_fen=990,
                quantity=10_000_000,
                per_buyer_limit=1,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=1),
                position=-1,
            )
        )
        db.session.commit()
    return product_id


def grow(app, products: int, orders: int) -> dict[str, float]:
    """Add bulk products up to `products`, and `orders` past orders. Seconds each took."""
    took = {}
    with app.app_context():
        have = db.session.scalar(select(func.count()).select_from(Product))
        if products > have:
            started = time.perf_counter()
            make_bulk_catalog(products - have)
            db.session.commit()
            took["products"] = time.perf_counter() - started
        if orders:
            started = time.perf_counter()
            make_bulk_orders(orders)
            took["orders"] = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
            db.session.commit()
        db.session.remove()
    return took


def catalogue_urls(app, pages: dict[str, str]) -> dict[str, str]:
    with app.app_context():
        top_id = int(pages["category"].rsplit("/", 1)[1])
        sub_id = db.session.scalar(
            select(Category.id).where(Category.parent_id == top_id).order_by(Category.position)
        )
        subs = select(Category.id).where(Category.parent_id == top_id)
        in_top = db.session.scalar(
            select(func.count()).where(Product.category_id.in_(subs), Product.active.is_(True))
        )
        # The common search's last page (25 at the most) as its 下页 link reaches it.
        matched = db.session.scalar(
            select(func.count()).select_from(search.matching_products(SEARCH_QUERY).subquery())
        )
        last_hit = min(-(-matched // PER_PAGE), catalog.SEARCH_MAX_HITS // PER_PAGE)
        before_last = catalog.search_products(SEARCH_QUERY, Position(last_hit - 1), PER_PAGE)
        db.session.remove()
    last = max(1, -(-in_top // PER_PAGE))
    return {
        "home": "/",
        "category (top)": pages["category"],
        "category (top), last page": f"{pages['category']}?page={last}",
        "category (sub)": f"/c/{sub_id}",
        "search (common)": pages["search"],
        "search (common), last page by key": (
            f"{pages['search']}&page={last_hit}&after={before_last.last_key}"
        ),
        "search (rare)": f"/s?q={quote(RARE_QUERY)}",
        "product": pages["product"],
        "product with deal": pages["product with deal"],
    }


def measure(app, clock, urls, deal_product: int, phones, n: int) -> tuple[dict, dict]:
    """Latencies in ms per page: catalogue pages, then a buyer's confirmation, order, orders;
    and beside each request, the bare Flask app's (bench/bare_app.py, same test client), so a
    level's figures can be read against what the machine gave at those very moments."""
    timings: dict[str, list[float]] = {}
    floors: dict[str, list[float]] = {}
    bare = bare_app.test_client()

    def timed(page, call):
        clock.page = page
        started = time.perf_counter()
        response = call()
        timings.setdefault(page, []).append((time.perf_counter() - started) * 1000)
        clock.page = None
        started = time.perf_counter()
        bare.get("/")
        floors.setdefault(page, []).append((time.perf_counter() - started) * 1000)
        return response

    anonymous = app.test_client(use_cookies=False)
    headers = {"User-Agent": UA["touch"], "Accept-Encoding": "gzip"}
    for page, url in urls.items():
        for _ in range(3):
            anonymous.get(url, headers=headers)
        for _ in range(n):
            response = timed(page, lambda: anonymous.get(url, headers=headers))
            assert response.status_code == 200, (page, url, response.status_code)

    buyer = app.test_client()
    confirm = f"/buy/{deal_product}?region={COD_DISTRICT}"
    number = None
    for i in range(n):
        page = timed("confirmation", lambda: buyer.get(confirm, headers=headers))
        assert page.status_code == 200, page.status_code
        form = order_form(_text(page), next(phones))
        placed = timed(
            "place order (POST)", lambda: buyer.post(confirm, data=form, headers=headers)
        )
        assert placed.status_code == 303, (
            placed.status_code,
            re.sub(r"<[^>]+>", "", _text(placed)),
        )
        number = re.search(r"/buy/done/(\d+)", placed.headers["Location"]).group(1)
    for page, url in (("order", f"/o/{number}"), ("orders (20 in session)", "/o")):
        for _ in range(n):
            response = timed(page, lambda: buyer.get(url, headers=headers))
            assert response.status_code == 200, (page, response.status_code)
    return timings, floors


def _text(response) -> str:
    data = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return data.decode()


def buyer_phones(app, used: set[str]):
    """Phones of past buyers first (their orders are what the per-buyer limit check searches),
    then new ones; never one that already bought the bench deal (`used`, updated here)."""
    with app.app_context():
        known = db.session.scalars(select(Order.phone).distinct().limit(5000)).all()
        db.session.remove()
    fresh = (phone_number(n) for n in range(10**8))
    for phone in chain(known, fresh):
        if phone not in used:
            used.add(phone)
            yield phone


def explain(app, statement: str, params) -> str:
    """The database's plan for a statement: SQLite's query plan, PostgreSQL's EXPLAIN ANALYZE."""
    with app.app_context():
        conn = db.session.connection()
        args = params if isinstance(params, dict) else tuple(params or ())
        if db.engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", args).all()
            plan = "\n".join(f"    {row[-1]}" for row in rows)
        else:
            rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", args).all()
            plan = "\n".join(f"    {row[0]}" for row in rows)
        db.session.remove()
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--orders", type=int, default=1_000_000, help="added at the last level")
    parser.add_argument("--requests", type=int, default=200, help="per page and level")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--explain", action="store_true", help="plans of the slowest statements")
    parser.add_argument(
        "--explain-page",
        action="append",
        default=[],
        metavar="PAGE",
        help="plans of every statement this page runs, at every level (e.g. 'search (common)')",
    )
    args = parser.parse_args()
    levels = [(f"{_short(p)} products", p, 0) for p in args.products]
    if args.orders:
        top = args.products[-1]
        levels.append((f"{_short(top)} + {_short(args.orders)} orders", top, args.orders))

    results, floors, statements, loads, page_plans = {}, {}, {}, [], []
    with workdir() as tmp, Databases(tmp) as databases:
        # The page cache off: each request pays for its queries, which is what grows.
        app = make_app(
            databases.new(args.db), tmp, PAGE_CACHE_SECONDS=0, TESTING=True
        )  # no funnel flush at exit
        load_demo(app)
        pages = demo_pages(app)
        deal_product = add_bench_deal(app)
        with app.app_context():
            clock = StatementClock(db.engine)
        used_phones: set[str] = set()
        for label, products, orders in levels:
            took = grow(app, products, orders)
            loads.append([label, took.get("products"), took.get("orders")])
            urls = catalogue_urls(app, pages)
            phones = buyer_phones(app, used_phones)
            results[label], floors[label] = measure(
                app, clock, urls, deal_product, phones, args.requests
            )
            params = dict(clock.params)
            statements[label], queries = clock.per_request(results[label])
            for page in args.explain_page:
                page_plans.extend(
                    f"\n{label}, {page} ({ms:.2f} ms/request): {' '.join(stmt.split())}\n"
                    f"{explain(app, stmt, params[stmt])}"
                    for stmt, ms in statements[label].get(page, {}).items()
                )
        last = levels[-1][0]
        slowest = {page: max(costs, key=costs.get) for page, costs in statements[last].items()}
        plans = [
            f"\n{page}: {' '.join(stmt.split())}\n{explain(app, stmt, clock.params[stmt])}"
            for page, stmt in slowest.items()
            if args.explain
        ]
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    labels = [label for label, _p, _o in levels]
    first = labels[0]
    rows = [
        [page]
        + [
            v
            for label in labels
            for v in (percentile(results[label][page], 50), percentile(results[label][page], 99))
        ]
        + [percentile(results[last][page], 50) / percentile(results[first][page], 50)]
        + [relative(results, floors, page, last) / relative(results, floors, page, first)]
        + [queries.get(page, 0.0)]
        for page in results[first]
    ]
    headers = ["page"] + [f"{label} {p}" for label in labels for p in ("p50 ms", "p99 ms")]
    slow_rows = [
        [page]
        + [statements[label].get(page, {}).get(stmt) for label in labels]
        + [" ".join(stmt.split())[:110]]
        for page, stmt in slowest.items()
    ]
    report(
        table(
            f"Latency on {args.db}, {args.requests} requests per page (touch, in-process)",
            headers
            + [
                f"p50 x ({last} / {first})",
                "the same, each against the bare app beside it",
                f"SQL/request ({last})",
            ],
            rows,
        ),
        table(
            "Costliest SQL statement of each page at the last level: its ms per request",
            ["page", *labels, "statement"],
            slow_rows,
        ),
        table("Loading", ["level", "s bulk products", "s bulk orders"], loads),
        *plans,
        *page_plans,
        "",
        machine(),
    )


def relative(results, floors, page: str, level: str) -> float:
    """A page's p50 at a level in units of the bare app's p50 measured beside it: what the
    page costs whatever else the machine was doing then."""
    return percentile(results[level][page], 50) / percentile(floors[level][page], 50)


def _short(n: int) -> str:
    """1000 → 1k, 100000 → 100k, 1000000 → 1M."""
    for size, suffix in ((10**6, "M"), (10**3, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return f"{n:,}"


if __name__ == "__main__":
    main()
