"""SQL statements per request of a buyer's order, in-process (Flask test client), listed.

    .venv/bin/python -m bench.statements [--db sqlite|postgres] [--list] [--buyers 3]

A buyer with a session opens the confirmation page of the flash sale's kind of deal (one per
phone) and places the order; every statement each request sends to the database (BEGIN and
COMMIT included, as the driver sees them) is counted, and with --list printed. The last buyer's
requests are counted; "median ms" is each request's median time over the buyers after the
first three (one at a time, in-process: `--buyers 60` for a steady figure)."""

import argparse
import statistics
import time
from collections import Counter

from sqlalchemy import event

from bench.common import UA, COD_DISTRICT, Databases, load_demo, machine, make_app
from bench.common import order_form, phone_number, report, table, workdir
from bench.flash_sale import add_deal
from wapshop.extensions import db


class Counting:
    def __init__(self, engine):
        self.seen: list[str] = []
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", lambda conn: self._note("COMMIT"))
        event.listen(engine, "rollback", lambda conn: self._note("ROLLBACK"))

    def _note(self, what: str) -> None:
        if self.on:
            self.seen.append(what)

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        self._note(" ".join(statement.split())[:100])

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


def count_order(app, product_id: int, n: int = 3) -> list[tuple[str, list[str], float]]:
    """(request, statements, median ms) of the n-th buyer's GET confirmation and POST."""
    with app.app_context():
        counting = Counting(db.engine)
    headers = {"User-Agent": UA["basic"]}
    path = f"/buy/{product_id}?region={COD_DISTRICT}"
    times: dict[str, list[float]] = {"get": [], "post": []}
    for i in range(n):
        buyer = app.test_client()
        buyer.get("/", headers=headers)
        counting.on = i == n - 1
        started = time.perf_counter()
        page = buyer.get(path, headers=headers)
        times["get"].append(time.perf_counter() - started)
        got = counting.take()
        form = order_form(page.get_data(as_text=True), phone_number(900 + i))
        started = time.perf_counter()
        placed = buyer.post(path, data=form, headers=headers)
        times["post"].append(time.perf_counter() - started)
        assert placed.status_code == 303, (placed.status_code, placed.get_data(as_text=True)[:3000])
        posted = counting.take()
        counting.on = False
    warm = {k: v[3:] or v for k, v in times.items()}
    return [
        ("GET confirmation", got, statistics.median(warm["get"]) * 1000),
        ("POST order", posted, statistics.median(warm["post"]) * 1000),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--buyers", type=int, default=3, help="buyers, one after the other")
    args = parser.parse_args()
    with workdir() as tmp, Databases(tmp) as databases:
        app = make_app(databases.new(args.db), tmp, TESTING=True)  # no funnel flush at exit
        load_demo(app)
        product_id, _deal = add_deal(app, 100)
        found = count_order(app, product_id, max(args.buyers, 1))
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    rows = [[what, len(seen), sum(s == "COMMIT" for s in seen), ms] for what, seen, ms in found]
    listing = []
    if args.list:
        for what, seen, _ms in found:
            listing.append(f"\n{what}:")
            listing += [f"  {n:3}x {s}" for s, n in Counter(seen).items()]
    report(
        table(
            f"Statements per order on {args.db}",
            ["request", "statements", "commits", "median ms"],
            rows,
        ),
        *listing,
        machine(),
    )


if __name__ == "__main__":
    main()
