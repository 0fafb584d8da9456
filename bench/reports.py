"""Reports at scale: the daily order report for a month, with 1,000,000 orders.

In-process (Flask test client, one request at a time, logged in as an admin). Loads the demo
catalogue and --orders past orders over the last 90 days (bench.bulk_orders: the DESIGN.md COD
funnel with every order's event log), builds the rollups (what `flask reports rebuild` does),
then times, for the last 30 China Standard Time days:

- the daily report read from the rollups (service call: query and table);
- the page /admin/reports/daily (refresh with nothing new, the table and two SVG charts), its
  CSV, and the other report pages;
- the same month computed live from orders and events, without the rollups (what they save);
- a refresh after a burst of back-office work (50 new events on orders of each of the last
  --touched order dates): what the first page view after it pays; and a full rebuild.

How the reports stay fast: per-order facts (report_orders) and daily rollups (report_order_days,
report_product_days) keyed by order date; a refresh re-counts only the orders with new events
and adds the difference to the rollups, so a month's report reads about a thousand rollup rows
instead of a third of a million orders and their events.

    .venv/bin/python -m bench.reports [--orders 1000000] [--db sqlite|postgres] [--requests 20]
"""

import argparse
import re
import time
from datetime import timedelta

from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from bench.bulk_orders import make_bulk_orders
from bench.common import load_demo, machine, make_app, percentile, report, table
from bench.common import workdir
from bench.servers import Databases
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, Staff
from wapshop.clock import china_day, china_day_bounds, utcnow
from wapshop.models.reports import ORDER_INDEXES
from wapshop.services import reports
from wapshop.views import admin as admin_views
from wapshop.views.admin import reports as report_views

PASSWORD = "bench-password-1"

# Until wapshop/views/admin/__init__.py nests the reports blueprint itself.
if all(child is not report_views.bp for child, _options in admin_views.bp._blueprints):
    admin_views.bp.register_blueprint(report_views.bp)


def prepare(app) -> None:
    """The report tables and indexes, in case the migrations do not make them yet."""
    with app.app_context():
        db.create_all()
        for index in ORDER_INDEXES:
            index.create(db.engine, checkfirst=True)
        db.session.add(
            Staff(
                username="bench",
                name="压测",
                role="admin",
                password_hash=generate_password_hash(PASSWORD),
            )
        )
        db.session.commit()


def analyze(app) -> None:
    """Table statistics, as PostgreSQL's autovacuum gathers soon after a bulk load (and as a
    SQLite deployment would by running ANALYZE after one)."""
    with app.app_context():
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()


def logged_in(app):
    client = app.test_client()
    page = client.get("/admin/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = client.post(
        "/admin/login", data={"csrf_token": token, "username": "bench", "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.status_code
    return client


def timed(call, n: int) -> list[float]:
    took = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        took.append((time.perf_counter() - started) * 1000)
    return took


def touch_recent_orders(app, days: int, per_day: int) -> int:
    """A burst of back-office work: one new event for `per_day` orders of each of the last
    `days` order dates. Returns the events written."""
    now = utcnow()
    today = china_day(now)
    rows = []
    with app.app_context():
        for back in range(days):
            lo, hi = china_day_bounds(today - timedelta(days=back))
            ids = db.session.scalars(
                select(Order.id)
                .where(Order.created_at >= lo, Order.created_at < hi)
                .order_by(Order.id)
                .limit(per_day)
            ).all()
            rows += [
                {
                    "order_id": i,
                    "at": now,
                    "actor": "bench",
                    "from_status": None,
                    "to_status": "settled",
                    "note": "",
                }
                for i in ids
            ]
        db.session.execute(OrderEvent.__table__.insert(), rows)
        db.session.commit()
        db.session.remove()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=20, help="timed runs of each read")
    parser.add_argument("--touched", type=int, default=14, help="order dates a burst touches")
    args = parser.parse_args()
    n = args.requests
    rows, loading = [], []
    with workdir() as tmp, Databases(tmp) as databases:
        app = make_app(databases.new(args.db), tmp)
        prepare(app)
        load_demo(app)
        with app.app_context():
            started = time.perf_counter()
            counts = make_bulk_orders(args.orders)
            loading.append(
                [
                    "bulk orders",
                    f"{counts['orders']:,} orders, {counts['order_events']:,} events",
                    time.perf_counter() - started,
                ]
            )
            db.session.remove()
        analyze(app)
        with app.app_context():
            started = time.perf_counter()
            counted = reports.rebuild(utcnow())
            db.session.commit()
            loading.append(
                ["rebuild all rollups", f"{counted:,} orders", time.perf_counter() - started]
            )
            rollup_rows = db.session.scalar(select(func.count()).select_from(reports.OrderDayStat))
            db.session.remove()
        analyze(app)

        today = china_day(utcnow())
        first, last = today - timedelta(days=29), today
        span = f"start={first.isoformat()}&end={last.isoformat()}"
        with app.app_context():
            month_orders = db.session.scalar(
                select(func.count()).where(Order.created_at >= reports.utc_bounds(first, last)[0])
            )

            def service_read():
                reports.daily_table(reports.daily(first, last))

            rows.append(["daily report, service read from rollups", timed(service_read, n)])

            def live():
                lo, hi = reports.utc_bounds(first, last)
                db.session.execute(reports.order_day_rows(lo, hi)).all()

            rows.append(["same month computed live (no rollups)", timed(live, 3)])
            db.session.remove()

        client = logged_in(app)
        for label, url in [
            ("page /admin/reports/daily (month)", f"/admin/reports/daily?{span}"),
            ("CSV daily.csv (month)", f"/admin/reports/daily/daily.csv?{span}"),
            ("page /admin/reports/payments", f"/admin/reports/payments?{span}"),
            ("page /admin/reports/funnel", f"/admin/reports/funnel?{span}"),
            ("page /admin/reports/ (overview)", f"/admin/reports/?{span}"),
        ]:
            assert client.get(url).status_code == 200, url  # warm up

            def get(url=url):
                assert client.get(url).status_code == 200

            rows.append([label, timed(get, n)])

        events = touch_recent_orders(app, args.touched, 50)
        with app.app_context():
            started = time.perf_counter()
            touched = reports.refresh(utcnow())
            db.session.commit()
            refresh_ms = (time.perf_counter() - started) * 1000
            db.session.remove()
        rows.append([f"refresh after {events} new events ({touched} orders re-counted, "
                     f"{args.touched} order dates)", [refresh_ms]])  # fmt: skip
        rows.append(
            [
                "page /admin/reports/daily right after that refresh",
                timed(lambda: client.get(f"/admin/reports/daily?{span}"), n),
            ]
        )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    report(
        table(
            f"Reports on {args.db}: {args.orders:,} orders over 90 days, the last 30 days "
            f"({month_orders:,} orders) read; {rollup_rows:,} rollup rows",
            ["what", "runs", "p50 ms", "max ms"],
            [[label, len(t), percentile(t, 50), max(t)] for label, t in rows],
        ),
        table("Loading", ["step", "size", "s"], loading),
        "",
        machine(),
    )


if __name__ == "__main__":
    main()
