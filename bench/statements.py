"""SQL statements per request of a buyer's order, in-process (Flask test client), listed.

    .venv/bin/python -m bench.statements [--db sqlite|postgres] [--list] [--buyers 3]
        [--cpu N] [--profile N]

A buyer with a session opens the confirmation page of the flash sale's kind of deal (one per
phone) and places the order; every statement each request sends to the database (BEGIN and
COMMIT included, as the driver sees them) is counted, and with --list printed. The last buyer's
requests are counted, and the round trips to the database they took (statements sent
together in a pipeline, web/pipeline.py, are one; BEGIN and COMMIT are one each); "median ms" is each request's median time over the buyers after the
first three (one at a time, in-process: `--buyers 60` for a steady figure). `--cpu N`: N
more buyers open the page, then each submits (as in the flash sale), and the CPU time per
request is printed: this process's (the app, with SQLite's work inside it) and the PostgreSQL
server's processes' (`--cpu 300` for a steady figure). `--profile N`
runs N more buyers' POSTs under cProfile (after the counted ones, so warm) and prints the
function calls per POST, the top 25 functions by cumulative time (below the framework's
request wrappers) and the top 10 by own time."""

import argparse
import cProfile
import io
import pstats
import statistics
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import event

from bench.common import UA, COD_DISTRICT, load_demo, machine, make_app
from bench.common import order_form, phone_number, report, table, workdir
from bench.servers import Databases
from bench.flash_sale import add_deal
from wapshop.extensions import db
from wapshop.web.pipeline import SentTogether


class Counting:
    def __init__(self, engine):
        self.seen: list[str] = []
        self.trips = 0
        self._pipelines: set[SentTogether] = set()  # held: no id reused
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", lambda conn: self._trip())
        event.listen(engine, "commit", lambda conn: self._note("COMMIT"))
        event.listen(engine, "rollback", lambda conn: self._note("ROLLBACK"))

    def _trip(self) -> None:
        if self.on:
            self.trips += 1

    def _note(self, what: str) -> None:
        self._trip()
        if self.on:
            self.seen.append(what)

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.seen.append(" ".join(statement.split())[:100])
            if not isinstance(context, SentTogether) or context not in self._pipelines:
                self.trips += 1
            if isinstance(context, SentTogether):
                self._pipelines.add(context)

    def take(self) -> tuple[list[str], int]:
        seen, trips, self.seen, self.trips = self.seen, self.trips, [], 0
        self._pipelines.clear()
        return seen, trips


HEADERS = {"User-Agent": UA["basic"]}


def _new_buyer(app):
    """A new buyer with a session (it saw the home page)."""
    buyer = app.test_client()
    buyer.get("/", headers=HEADERS)
    return buyer


def _post(buyer, path: str, page, phone: str) -> None:
    form = order_form(page.get_data(as_text=True), phone)
    placed = buyer.post(path, data=form, headers=HEADERS)
    assert placed.status_code == 303, (placed.status_code, placed.get_data(as_text=True)[:3000])


def count_order(app, product_id: int, n: int = 3) -> list[tuple[str, list[str], int, float]]:
    """(request, statements, round trips, median ms) of the n-th buyer's GET confirmation and
    POST."""
    with app.app_context():
        counting = Counting(db.engine)
    path = f"/buy/{product_id}?region={COD_DISTRICT}"
    times: dict[str, list[float]] = {"get": [], "post": []}
    for i in range(n):
        buyer = _new_buyer(app)
        counting.on = i == n - 1
        started = time.perf_counter()
        page = buyer.get(path, headers=HEADERS)
        times["get"].append(time.perf_counter() - started)
        got, got_trips = counting.take()
        started = time.perf_counter()
        _post(buyer, path, page, phone_number(900 + i))
        times["post"].append(time.perf_counter() - started)
        posted, posted_trips = counting.take()
        counting.on = False
    warm = {k: v[3:] or v for k, v in times.items()}
    return [
        ("GET confirmation", got, got_trips, statistics.median(warm["get"]) * 1000),
        ("POST order", posted, posted_trips, statistics.median(warm["post"]) * 1000),
    ]


def cpu_per_request(app, product_id: int, n: int, first_phone: int, server_cpu) -> list:
    """CPU ms per request, as the flash sale sends them: n buyers open the confirmation page,
    then each submits. Per phase: [request, this process's CPU (the app, SQLite's work
    included), the database server's processes' CPU (PostgreSQL), their sum]. Read once
    around each phase: a request is shorter than the clock's tick."""
    path = f"/buy/{product_id}?region={COD_DISTRICT}"
    buyers = [_new_buyer(app) for _ in range(n)]
    rows = []

    def phase(what: str, run) -> list:
        server, cpu = server_cpu(), time.process_time()
        found = run()
        app_ms = (time.process_time() - cpu) / n * 1000
        server_ms = (server_cpu() - server) / n * 1000
        rows.append([what, app_ms, server_ms, app_ms + server_ms])
        return found

    pages = phase("GET confirmation", lambda: [b.get(path, headers=HEADERS) for b in buyers])
    phase(
        "POST order",
        lambda: [
            _post(b, path, page, phone_number(first_phone + i))
            for i, (b, page) in enumerate(zip(buyers, pages))
        ],
    )
    return rows


def profile_posts(app, product_id: int, n: int, first_phone: int) -> tuple[int, str]:
    """n more buyers' POSTs under cProfile: (function calls per POST, top 25 by cumulative)."""
    path = f"/buy/{product_id}?region={COD_DISTRICT}"
    profile = cProfile.Profile()
    for i in range(n):
        buyer = _new_buyer(app)
        page = buyer.get(path, headers=HEADERS)
        profile.enable()
        _post(buyer, path, page, phone_number(first_phone + i))
        profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    # The shop's own functions (the request's framework wrappers above them say nothing),
    # then what costs most in itself, the libraries included.
    stats.sort_stats("cumulative").print_stats("/wapshop/", 25)
    stats.sort_stats("tottime").print_stats(10)
    text = out.getvalue().replace(str(Path.cwd()) + "/", "").replace(".venv/lib/python3.11/", "")
    return round(stats.total_calls / n), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--buyers", type=int, default=3, help="buyers, one after the other")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="N POSTs profiled")
    parser.add_argument(
        "--cpu", type=int, default=0, metavar="N", help="CPU per request over N more buyers"
    )
    args = parser.parse_args()
    buyers = max(args.buyers, 1)
    profiled = cpu_table = ""
    with workdir() as tmp, Databases(tmp) as databases:
        app = make_app(databases.new(args.db), tmp, TESTING=True)  # no funnel flush at exit
        load_demo(app)
        product_id, _deal = add_deal(app, max(100, buyers + args.profile + args.cpu))
        found = count_order(app, product_id, buyers)
        if args.cpu > 0:
            # Before any profile: cProfile, once enabled, slows every later call.
            cpu = cpu_per_request(
                app, product_id, args.cpu, 900 + buyers + args.profile, databases.server_cpu
            )
            cpu_table = "\n" + table(
                f"CPU per request on {args.db}, {args.cpu} buyers: all open the page, then "
                "all submit",
                ["request", "app CPU ms", "database server CPU ms", "total CPU ms"],
                cpu,
            )
        if args.profile > 0:
            calls, top = profile_posts(app, product_id, args.profile, 900 + buyers)
            profiled = (
                f"\nProfile of {args.profile} POSTs: {calls:,} function calls per POST\n{top}"
            )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    rows = [
        [what, len(seen), trips, sum(s == "COMMIT" for s in seen), ms]
        for what, seen, trips, ms in found
    ]
    listing = []
    if args.list:
        for what, seen, _trips, _ms in found:
            listing.append(f"\n{what}:")
            listing += [f"  {n:3}x {s}" for s, n in Counter(seen).items()]
    report(
        table(
            f"Statements per order on {args.db}",
            ["request", "statements", "round trips", "commits", "median ms"],
            rows,
        ),
        *listing,
        cpu_table,
        profiled,
        machine(),
    )


if __name__ == "__main__":
    main()
