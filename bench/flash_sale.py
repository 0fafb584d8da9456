"""Flash sale: a crowd of buyers against a small deal, on SQLite and on PostgreSQL.

Each buyer is a thread with its own session and phone number: it opens the confirmation page,
waits for all the others, then every buyer submits at the same moment. The deal has 100
units and a limit of 1 per phone. Afterwards the database must show no unit sold beyond the
deal's quantity, and the server must have answered no request with a 5xx.

    .venv/bin/python -m bench.flash_sale [--buyers 1000] [--units 100] [--db sqlite postgres]
                                         [--rounds 1] [--app-cpus N]

With --rounds N each database's server runs N sales (each a new deal, the one before stopped),
one row each, the databases taking turns round by round; the median orders/s per database
is printed below the table, and with both databases the median of the rounds' ratios (on a
machine shared with other work one round's figure varies by 2x and more, and a run's by 1.4x
from one minute to the next: taking turns gives both the same conditions).

With --app-cpus N the gunicorn servers run on N CPUs of their own (their workers: 2 x N + 1),
and the database server and the buyers on the others: the shape of production, where the
app's machines and PostgreSQL's are not the same (deploy/README.md). Without it everything
shares every CPU, and on PostgreSQL the database server's own work takes its share of the
CPUs the app runs on, which SQLite, inside the app, has no server to take."""

import argparse
import contextlib
import os
import statistics
import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from bench.common import UA, Browser, demo_pages, load_average, load_demo
from bench.common import COD_DISTRICT, machine, make_app, order_form, phone_number, report, table
from bench.common import workdir
from bench.servers import Databases, Gunicorn, split_cpus
from wapshop.extensions import db
from wapshop.services import stock
from wapshop.models import Deal, Order, OrderItem, Product
from wapshop.clock import utcnow

STOCK = 100_000


def add_deal(app, units: int) -> tuple[int, int]:
    """A running deal of `units` at ￥9.90, one per phone, on a product with plenty of stock
    (the product's earlier deals stopped)."""
    product_id = int(demo_pages(app)["product"].rsplit("/", 1)[1])
    now = utcnow()
    with app.app_context():
        db.session.execute(update(Deal).where(Deal.product_id == product_id).values(stopped=True))
        stock.set_sole_stock(product_id, STOCK)
        deal = Deal(
            product_id=product_id,
            deal_price_fen=990,
            quantity=units,
            sold=0,
            per_buyer_limit=1,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
            position=-1,
        )
        db.session.add(deal)
        db.session.commit()
        return product_id, deal.id


def rush(base_url: str, product_id: int, buyers: int, limit: float) -> dict:
    """Every buyer GETs the confirmation page, then all POST at once. Statuses and timings."""
    # The moment of release is taken by the barrier itself, before any buyer goes on: taken
    # after the main thread's wait returns, it came after the orders of buyers scheduled first.
    opened: list[float] = []
    gate = threading.Barrier(buyers + 1, action=lambda: opened.append(time.monotonic()))
    results: list[dict] = [{} for _ in range(buyers)]
    path = f"/buy/{product_id}"

    def buyer(n: int) -> None:
        result = results[n]
        browser = Browser(base_url, UA["basic"], timeout=limit)
        page = ""
        try:
            status, _h, page = browser.get(f"{path}?region={COD_DISTRICT}")
            result["get"] = status
        except OSError as error:
            result["get"] = type(error).__name__
        try:
            gate.wait(limit)
        except threading.BrokenBarrierError:
            pass
        if result["get"] != 200:
            return
        try:
            result["post"], _h, _b = browser.post(path, order_form(page, phone_number(n)))
        except OSError as error:
            result["post"] = type(error).__name__
        result["done"] = time.monotonic()
        browser.close()

    threading.stack_size(512 * 1024)
    threads = [threading.Thread(target=buyer, args=(n,), daemon=True) for n in range(buyers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    try:
        gate.wait(limit)
    except threading.BrokenBarrierError:
        pass
    released = opened[0] if opened else time.monotonic()
    for t in threads:
        t.join(max(0.0, limit - (time.monotonic() - released)))
    finished = time.monotonic()
    placed = [r["done"] for r in results if r.get("post") == 303]
    statuses: dict = {}
    for r in results:
        for step in ("get", "post"):
            if step in r:
                statuses[f"{step} {r[step]}"] = statuses.get(f"{step} {r[step]}", 0) + 1
    return {
        "statuses": statuses,
        "5xx": sum(isinstance(v, int) and v >= 500 for r in results for v in r.values()),
        "unanswered": sum(1 for r in results if "post" not in r and r.get("get") == 200),
        "gets": released - started,
        "posts": finished - released,
        "to_last_order": (max(placed) - released) if placed else None,
        "wall": finished - started,
    }


def audit(app, product_id: int, deal_id: int) -> dict:
    """What the database says happened to the deal."""
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        units = db.session.scalar(
            select(func.coalesce(func.sum(OrderItem.quantity), 0)).where(
                OrderItem.deal_id == deal_id
            )
        )
        orders = db.session.scalar(
            select(func.count(func.distinct(OrderItem.order_id))).where(
                OrderItem.deal_id == deal_id
            )
        )
        over_limit = db.session.scalar(
            select(func.count()).select_from(
                select(Order.phone)
                .join(OrderItem, OrderItem.order_id == Order.id)
                .where(OrderItem.deal_id == deal_id)
                .group_by(Order.phone)
                .having(func.sum(OrderItem.quantity) > deal.per_buyer_limit)
                .subquery()
            )
        )
        stock = db.session.get(Product, product_id).stock
        result = {
            "orders": orders,
            "units": units,
            "deal_sold": deal.sold,
            "oversold": max(0, units - deal.quantity, deal.sold - deal.quantity),
            "over_limit": over_limit,
            "stock_taken": STOCK - stock,
        }
        db.session.remove()
        db.engine.dispose()
        return result


def rows_for(rows: list, kind: str, n: int, args, run: dict, found: dict, tracebacks) -> float:
    """Append one round's row; its orders/s."""
    per_second = found["orders"] / run["to_last_order"] if run["to_last_order"] else 0.0
    rows.append(
        [
            kind if args.rounds == 1 else f"{kind} #{n + 1}",
            args.buyers,
            args.units,
            found["orders"],
            found["units"],
            found["deal_sold"],
            found["oversold"],
            found["over_limit"],
            found["stock_taken"],
            run["5xx"],
            run["unanswered"],
            tracebacks,
            per_second,
            run["to_last_order"],
            run["gets"],
            run["posts"],
            run["wall"],
        ]
    )
    return per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument(
        "--db", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"]
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: production's)")
    parser.add_argument("--limit", type=float, default=240, help="seconds before giving up")
    parser.add_argument("--rounds", type=int, default=1, help="sales per database (median)")
    parser.add_argument(
        "--app-cpus",
        type=int,
        help="give the gunicorn servers this many CPUs to themselves, the database server and "
        "the buyers the others: the app on its own machine, as in production (deploy/README.md)",
    )
    args = parser.parse_args()
    app_cpus, other_cpus = split_cpus(args.app_cpus)
    if other_cpus is not None:
        os.sched_setaffinity(0, other_cpus)  # the buyers' threads, started below, inherit it

    rows, details = [], []
    rates: dict[str, list[float]] = {kind: [] for kind in args.db}
    with (
        workdir() as tmp,
        Databases(tmp, other_cpus) as databases,
        contextlib.ExitStack() as servers,
    ):
        sales = {}
        for kind in args.db:
            app = make_app(databases.new(kind), tmp)
            load_demo(app)
            server = servers.enter_context(
                Gunicorn("wsgi:app", tmp, app, workers=args.workers, cpus=app_cpus)
            )
            sales[kind] = (app, server)
        if other_cpus is not None:
            os.nice(10)  # the buyers: after the database server on their CPUs, as elsewhere
        # Round by round, each database in turn: a machine shared with other work changes
        # speed over minutes, and each database gets the same share of that.
        for n in range(args.rounds):
            for kind, (app, server) in sales.items():
                product_id, deal_id = add_deal(app, args.units)
                run = rush(server.url, product_id, args.buyers, args.limit)
                found = audit(app, product_id, deal_id)
                tracebacks = server.tracebacks()
                rates[kind].append(rows_for(rows, kind, n, args, run, found, tracebacks))
                details.append(
                    f"{kind} #{n + 1}: "
                    + ", ".join(f"{k}: {v}" for k, v in sorted(run["statuses"].items()))
                )
    for kind, found in rates.items():
        details.append(
            f"{kind}: median {statistics.median(found):.1f} orders/s over {len(found)} round(s)"
        )
    if len(rates) == 2 and args.rounds > 1:
        first, second = rates
        ratios = [b / a for a, b in zip(rates[first], rates[second]) if a]
        wins = sum(b >= a for a, b in zip(rates[first], rates[second]))
        details.append(
            f"{second} / {first}, round by round: median {statistics.median(ratios):.2f}, "
            f"{second} ahead in {wins} of {len(ratios)} rounds"
        )

    headers = [
        "db",
        "buyers",
        "units",
        "orders",
        "units sold",
        "deal.sold",
        "oversold",
        "over limit",
        "stock taken",
        "5xx",
        "unanswered",
        "tracebacks",
        "orders/s",
        "s to last order",
        "s GETs",
        "s POSTs",
        "wall s",
    ]
    workers = args.workers or "2 x its cores + 1"
    layout = (
        f"the app servers on CPUs {sorted(app_cpus)}, the database and buyers on "
        f"{sorted(other_cpus)}"
        if app_cpus
        else "the app servers, the database and the buyers share every CPU"
    )
    report(
        table(
            f"Flash sale: {args.buyers} buyers submit at once for {args.units} units, "
            f"1 per phone (gunicorn workers: {workers}; {layout})",
            headers,
            rows,
        ),
        "",
        *details,
        f"load average after: {load_average()}",
        machine(),
    )


if __name__ == "__main__":
    main()
