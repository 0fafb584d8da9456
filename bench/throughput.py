"""Throughput under gunicorn, as a ratio to a bare Flask app under the same settings.

wrk drives the home, a category and a product page on `wml`, `basic`, `color` and `touch`,
each twice: cookie-less with the rendition from a User-Agent (wrk keeps no cookies; a ?ver=
would start a session per request), and as a cookie-less phone whose session was started by
/?ver= and whose sid is in the URL (every request reads its session row; the page cache must
fill in this buyer's sid); and on `touch`, a smartphone whose session cookie it sends back. Defaults: gunicorn -w 2, wrk -t2 -c16. --orders adds the
confirmation page (cookie-less and with a session cookie) and Python buyers placing orders
(GET confirmation + POST) for a while on a product with plenty of stock.

    .venv/bin/python -m bench.throughput [--duration 10] [--db sqlite postgres] [--orders]

The bare app runs on its own gunicorn beside the shop's the whole time and is measured just
before each row: the x-bare ratio of a row compares two measurements seconds apart, so a shared
machine's load, which moves by 2x over minutes, moves both alike. Both databases by default.

--nginx: instead, the home, category and product pages through nginx (deploy/stack) in
front of one and then two gunicorn instances (each with the same workers), beside one gunicorn
without nginx: what a second application machine adds, and what nginx costs.

    .venv/bin/python -m bench.throughput --nginx [--duration 10] [--db sqlite|postgres]
"""

import argparse
import re
import shutil
import subprocess
import threading
import time
from itertools import count

from sqlalchemy import func, select

from bench.common import UA, Browser, load_demo, machine, make_app
from bench.common import COD_DISTRICT, order_form, percentile, phone_number, report, table
from bench.common import demo_pages, load_average, post_action, workdir
from bench.servers import Databases, Gunicorn, Stack
from wapshop.web.devices import rendition_for_ua
from wapshop.extensions import db
from wapshop.services import stock
from wapshop.models import Order, WebSession

RENDITIONS = ("wml", "basic", "color", "touch")
PAGES = ("home", "category", "product")
SID_IN_LINK = re.compile(r"[?&;]sid=([\w-]{16})")
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def wrk(url: str, seconds: float, threads: int, connections: int, headers: dict) -> dict:
    """Run wrk; requests/s and latency percentiles in ms from its report."""
    args = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{int(seconds)}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, url], check=True, capture_output=True, text=True, timeout=seconds + 60
    ).stdout

    def latency(label):
        number, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s|m)\b", out, re.M).groups()
        return float(number) * _UNIT[unit]

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency("50%"),
        "p99": latency("99%"),
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def session_rows(app) -> int:
    with app.app_context():
        count_ = db.session.scalar(select(func.count()).select_from(WebSession))
        db.session.remove()
        return count_


def cookieless_sid(server, rendition: str) -> str:
    """A phone without cookies: /?ver= starts its session, whose sid every link then carries."""
    browser = Browser(server.url, UA[rendition])
    _status, _h, page = browser.get(f"/?ver={rendition}")
    browser.close()
    return SID_IN_LINK.search(page).group(1)


def with_sid(path: str, sid: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}sid={sid}"


def measure_pages(app, server, urls, args, bare=None) -> list[list]:
    """One row per URL: page, rendition, client, req/s, p50, p99, statuses, 5xx, sessions/req,
    and the bare app's req/s measured just before it (with `bare`, its server; else None).
    `cookie` is a session cookie, or "sid:<sid>" for a cookie-less phone's sid in the URL."""
    rows = []
    for page, rendition, path, cookie in urls:
        floor = None
        if bare is not None:  # side by side in time: the machine's load moves both alike
            bare.settle()
            floor = wrk(bare.url + "/", args.duration, args.threads, args.connections, {})["rps"]
        headers = {"User-Agent": UA[rendition], "Accept-Encoding": "gzip"}
        if cookie and cookie.startswith("sid:"):
            path = with_sid(path, cookie[4:])
        elif cookie:
            headers["Cookie"] = f"wsid={cookie}"
        url = server.url + path
        wrk(url, 1, args.threads, args.connections, headers)  # warm every worker up
        server.settle()
        server.statuses()
        before = session_rows(app)
        result = wrk(url, args.duration, args.threads, args.connections, headers)
        server.settle()
        statuses = server.statuses()
        new_sessions = session_rows(app) - before
        rows.append(
            [
                page,
                rendition,
                "sid in URL"
                if cookie and cookie.startswith("sid:")
                else ("cookie" if cookie else "UA only"),
                result["rps"],
                result["p50"],
                result["p99"],
                " ".join(f"{code}:{n}" for code, n in sorted(statuses.items())),
                sum(n for code, n in statuses.items() if code >= 500) + result["socket_errors"],
                new_sessions / max(1, sum(statuses.values())),
                floor,
            ]
        )
    return rows


def place_orders(server, product_id: int, clients: int, seconds: float) -> dict:
    """Buyers in threads, each with its own session: GET the confirmation page, POST it."""
    phones = count(1)
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def buyer():
        browser = Browser(server.url, UA["touch"])
        path = f"/buy/{product_id}?region={COD_DISTRICT}"
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                status, _h, page = browser.get(path)
                if status == 200:
                    form = order_form(page, phone_number(next(phones)))
                    status, _h, _b = browser.post(post_action(page), form)
            except OSError:
                status = 0  # no answer: counted as refused
            with lock:
                results.append((status, time.monotonic() - started))
        browser.close()

    started = time.monotonic()
    threads = [threading.Thread(target=buyer) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    placed = [s for s, _t in results if s == 303]
    return {
        "orders": len(placed),
        "per_second": len(placed) / elapsed,
        "p50": percentile([t for _s, t in results], 50) * 1000,
        "p99": percentile([t for _s, t in results], 99) * 1000,
        "failed": len(results) - len(placed),
        "5xx": sum(s >= 500 for s, _t in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per URL (wrk)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--order-clients", type=int, default=8, help="buyer threads")
    parser.add_argument("--order-seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--db", choices=("sqlite", "postgres"), nargs="+", default=["sqlite", "postgres"]
    )
    parser.add_argument("--nginx", action="store_true", help="nginx with 1, then 2 instances")
    parser.add_argument(
        "--orders", action="store_true", help="also the confirmation page and orders placed"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk (Debian: apt-get install wrk)")
    for rendition in RENDITIONS:
        assert rendition_for_ua(UA[rendition]) == rendition, rendition
    if args.nginx:
        return instances(args)

    load_before = load_average()
    reports = []
    with workdir() as tmp, Databases(tmp) as databases:
        with Gunicorn("bench.bare_app:app", tmp, workers=args.workers) as bare:
            wrk(bare.url + "/", 2, args.threads, args.connections, {})  # warm up
            for db_name in args.db:
                reports += measure_database(tmp, databases, db_name, bare, args)
    workers = args.workers or "2 x cores + 1"
    report(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s per URL, gunicorn "
        f"workers: {workers}; the bare app measured just before each row, on its own gunicorn",
        *reports,
        f"\nload average before {load_before}, after {load_average()}",
        machine(),
    )


def measure_database(tmp, databases, db_name: str, bare, args) -> list[str]:
    """The shop on one database: every page row beside its bare-app measurement."""
    app = make_app(databases.new(db_name), tmp)
    load_demo(app)
    pages = demo_pages(app)
    product_id = int(pages["product"].rsplit("/", 1)[1])
    with app.app_context():
        stock.set_sole_stock(product_id, 10_000_000)
        db.session.commit()
    with Gunicorn("wsgi:app", tmp, app, workers=args.workers) as server:
        urls = []
        smartphone = Browser(server.url, UA["touch"])  # keeps our cookie, as smartphones do
        smartphone.get("/?ver=touch")
        for page in PAGES:
            for r in RENDITIONS:
                urls.append((page, r, pages[page], None))
                urls.append((page, r, pages[page], "sid:" + cookieless_sid(server, r)))
            urls.append((page, "touch", pages[page], smartphone.cookie))
        smartphone.close()
        if args.orders:
            for r in ("basic", "touch"):  # the confirmation page, cookie-less and with one
                browser = Browser(server.url, UA[r])
                browser.get(pages["confirmation"])
                urls.append(("confirmation", r, pages["confirmation"], None))
                urls.append(("confirmation", r, pages["confirmation"], browser.cookie))
        results = measure_pages(app, server, urls, args, bare=bare)
        orders = None
        if args.orders:
            orders = place_orders(server, product_id, args.order_clients, args.order_seconds)
        tracebacks = server.tracebacks()
    with app.app_context():
        in_db = db.session.scalar(select(func.count()).select_from(Order))
        db.session.remove()
        db.engine.dispose()
    rows = [
        [page, r, client, rps, floor, rps / floor, p50, p99, statuses, errors, per_req]
        for page, r, client, rps, p50, p99, statuses, errors, per_req, floor in results
    ]
    ratios = sorted(row[5] for row in rows if row[0] != "confirmation")
    headers = [
        "page",
        "rendition",
        "client",
        "req/s",
        "bare req/s",
        "x bare",
        "p50 ms",
        "p99 ms",
        "statuses",
        "5xx+errors",
        "sessions/req",
    ]
    return [
        table(f"Throughput on {db_name}", headers, rows),
        f"\nhome, category, product: x bare lowest {ratios[0]:.2f}, median "
        f"{ratios[len(ratios) // 2]:.2f}, highest {ratios[-1]:.2f}; server tracebacks: {tracebacks}",
        table(
            f"Orders placed on {db_name}: {args.order_clients} buyer threads for "
            f"{args.order_seconds:g} s (GET confirmation + POST, touch)",
            ["orders", "orders/s", "p50 ms (GET+POST)", "p99 ms", "refused", "5xx", "in db"],
            [
                [
                    orders["orders"],
                    orders["per_second"],
                    orders["p50"],
                    orders["p99"],
                    orders["failed"],
                    orders["5xx"],
                    in_db,
                ]
            ],
        )
        if orders
        else "",
    ]


def instances(args) -> None:
    """--nginx: the same pages from one gunicorn, then through nginx to one and two instances."""
    load_before = load_average()
    db_name = args.db[0]  # one database here
    with workdir() as tmp, Databases(tmp) as databases:
        app = make_app(databases.new(db_name), tmp)
        load_demo(app)
        pages = demo_pages(app)
        urls = [
            (page, r, pages[page], None)
            for page in ("home", "category", "product")
            for r in RENDITIONS
        ]
        setups = {}
        tracebacks = 0
        with Gunicorn("wsgi:app", tmp, app, workers=args.workers) as server:
            setups["gunicorn, no nginx"] = measure_pages(app, server, urls, args)
            tracebacks += server.tracebacks()
        for count_ in (1, 2):
            with Stack(app, tmp, count_, workers=args.workers) as stack:
                setups[f"nginx + {count_} instance{'s' if count_ > 1 else ''}"] = measure_pages(
                    app, stack, urls, args
                )
                tracebacks += stack.tracebacks()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    one = {(row[0], row[1]): row[3] for row in setups["nginx + 1 instance"]}
    rows = [
        [setup, page, rendition, rps, rps / one[(page, rendition)], p50, p99, statuses, errors]
        for setup, results in setups.items()
        for page, rendition, _client, rps, p50, p99, statuses, errors, _s, _bare in results
    ]
    totals = {setup: sum(row[3] for row in results) for setup, results in setups.items()}
    rows += [
        [setup, "all six", "sum", total, total / totals["nginx + 1 instance"], None, None, "", None]
        for setup, total in totals.items()
    ]
    workers = args.workers or "2 x cores + 1"
    report(
        table(
            f"Through nginx on {db_name}: wrk -t{args.threads} -c{args.connections} "
            f"-d{args.duration}s, gunicorn workers per instance: {workers}",
            [
                "setup",
                "page",
                "rendition",
                "req/s",
                "x nginx+1",
                "p50 ms",
                "p99 ms",
                "statuses",
                "5xx+errors",
            ],  # fmt: skip
            rows,
        ),
        f"\nserver tracebacks: {tracebacks}; load average before {load_before}, "
        f"after {load_average()}",
        machine(),
    )


if __name__ == "__main__":
    main()
