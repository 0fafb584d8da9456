"""flask reports …: the daily report for scripts and cron, and the rollups behind the reports.

flask --app wapshop reports daily                      yesterday (China Standard Time)
flask --app wapshop reports daily --from 2013-05-01 --to 2013-05-31 [--csv]
flask --app wapshop reports refresh                    catch up with the order log
flask --app wapshop reports rebuild [--from D --to D]  recompute (after a backfill)
"""

import unicodedata
from datetime import date, timedelta

import click
from flask.cli import AppGroup

from wapshop.extensions import db
from wapshop.clock import china_day, utcnow
from wapshop.services import csvfiles, reports

reports_cli = AppGroup("reports", help="Reports: the daily order report and its rollups.")


def _width(text: str) -> int:
    """Columns a terminal gives the text: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def aligned(table: reports.Table) -> str:
    """The table as aligned text columns, figures right-aligned, as a terminal shows it."""
    rows = table.all_rows()
    widths = [max(_width(row[i]) for row in rows) for i in range(len(table.columns))]

    def line(row):
        cells = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=True)):
            pad = " " * (width - _width(cell))
            cells.append(cell + pad if i < table.labels else pad + cell)
        return "  ".join(cells).rstrip()

    return "\n".join(line(row) for row in rows)


@reports_cli.command("daily")
@click.option(
    "--from", "start", metavar="YYYY-MM-DD", help="First order date (default: yesterday)."
)
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Last order date (default: --from).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV (UTF-8) instead of aligned columns.")
def daily_command(start, end, as_csv):
    """Print the daily order report (DESIGN.md section 7) with its total and daily average,
    for order dates in China Standard Time. Brings the rollups up to date first."""
    today = china_day(utcnow())
    yesterday = (today - timedelta(days=1)).isoformat()
    try:
        first, last = reports.parse_range(
            start or end or yesterday, end or start or yesterday, today
        )
    except reports.BadRange as bad:
        raise click.UsageError(bad.message) from bad
    reports.refresh(utcnow())
    db.session.commit()
    table = reports.daily_table(reports.daily(first, last))
    if as_csv:
        click.echo(csvfiles.write(table.all_rows(), lineterminator="\n"), nl=False)
    else:
        click.echo(f"订单日报 {first.isoformat()} 至 {last.isoformat()}（北京时间，金额单位：元）")
        click.echo(aligned(table))


@reports_cli.command("refresh")
def refresh_command():
    """Re-count the orders with events since the last refresh (cron; pages do it too)."""
    orders = reports.refresh(utcnow())
    db.session.commit()
    click.echo(f"Orders re-counted: {orders}")


@reports_cli.command("rebuild")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="Only from this order date.")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Only up to this order date.")
def rebuild_command(start, end):
    """Recompute the rollups: all of them, or an order-date range (after a backfill that wrote
    orders or events with past times)."""
    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError as exc:
        raise click.UsageError("Dates are YYYY-MM-DD.") from exc
    if first and last and first > last:
        raise click.UsageError("--from is after --to.")
    orders = reports.rebuild(utcnow(), first, last)
    db.session.commit()
    click.echo(f"Orders re-counted: {orders}")
