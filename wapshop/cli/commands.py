"""flask setup, backup, demo, and the shop's own jobs: sessions, payments, staff, catalogue
import, deals."""

import sqlite3
import subprocess
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select, text

from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Product, StaffRole
from wapshop.services import csvfiles, deals, demo, imports, payments, reference, staff, throttle
from wapshop.web.sessions import purge_expired

demo_cli = AppGroup("demo", help="Demo catalogue and today's deals.")
sessions_cli = AppGroup("sessions", help="Server-side sessions.")
payments_cli = AppGroup("payments", help="Online payments: expiry and reconciliation.")
staff_cli = AppGroup("staff", help="Back-office staff accounts.")
catalog_cli = AppGroup("catalog", help="The catalogue: bulk import.")
deals_cli = AppGroup("deals", help="Daily deals.")


@click.command("setup")
@with_appcontext
def setup_command():
    """Apply migrations, load the reference data (regions, COD coverage) where it is missing,
    and the demo catalogue when the database has no products."""
    upgrade()
    reference.load_regions()
    db.session.commit()
    if db.session.scalar(select(Product.id).limit(1)) is None:
        demo.load_demo()
        db.session.commit()
        click.echo("Loaded the demo catalogue and today's deals.")
    # Fresh statistics, so the planner starts the per-buyer limit check from the phone index.
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@demo_cli.command("load")
def demo_load():
    """Load the demo catalogue if the database is empty."""
    demo.load_demo()
    db.session.commit()


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(target):
    """Write a consistent copy of the database to TARGET (SQLite file or pg_dump archive)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        source = db.engine.raw_connection()
        try:
            with sqlite3.connect(target) as copy:
                source.driver_connection.backup(copy)
        finally:
            source.close()
    elif url.get_backend_name() == "postgresql":
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(["pg_dump", "--format=custom", f"--file={target}", plain], check=True)
    else:
        raise click.ClickException(f"no backup method for {url.get_backend_name()}")
    click.echo(f"Backed up {url.render_as_string(hide_password=True)} to {target}")


@sessions_cli.command("purge")
def sessions_purge():
    """Delete expired sessions and week-old throttling records (run it from cron)."""
    removed = purge_expired()
    throttle.prune(older_than=timedelta(days=7))
    db.session.commit()
    click.echo(f"Removed {removed} expired sessions.")


@payments_cli.command("expire")
def payments_expire():
    """Cancel online orders left unpaid past PAYMENT_TIMEOUT (run it every minute)."""
    expired = payments.expire_unpaid(utcnow(), current_app.config["PAYMENT_TIMEOUT"])
    db.session.commit()
    click.echo(f"Expired {len(expired)} unpaid orders{': ' if expired else '.'}{' '.join(expired)}")


@payments_cli.command("reconcile")
@click.argument("statement", type=click.File("rb"))
@click.option("--processor", default="bank", show_default=True)
def payments_reconcile(statement, processor):
    """Compare a processor's CSV statement (UTF-8 or GBK) with the shop's payments; list
    every mismatch."""
    try:
        records = csvfiles.records(csvfiles.decode(statement.read()))
    except csvfiles.FileRefused as refused:
        raise click.ClickException(refused.message) from refused
    mismatches = payments.reconcile(processor, records)
    for m in mismatches:
        click.echo(f"{m.reference}\t{m.problem}")
    click.echo(f"{len(mismatches)} mismatches.")
    if mismatches:
        raise SystemExit(1)


@staff_cli.command("create-admin")
@click.argument("username")
@click.option("--name", default="管理员", help="The name shown in the back office.")
@click.password_option(help="At least 8 characters; asked for when not given.")
def staff_create_admin(username, name, password):
    """Create an admin account (the first one, or another)."""
    data = staff.StaffInput(username=username, name=name, role=StaffRole.ADMIN, seller_id=None)
    try:
        staff.create_staff(data, password, actor=None)
    except staff.StaffError as refused:
        raise click.ClickException(refused.message) from None
    db.session.commit()
    click.echo(f"Created admin {username}; log in at /admin/login.")


@catalog_cli.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--kind", type=click.Choice(["products", "deals"]), default="products")
@click.option("--dry-run", is_flag=True, help="Check every row and import nothing.")
def catalog_import(file, kind, dry_run):
    """Import products or deals from a CSV file (UTF-8 or GBK): all rows or none."""
    data = file.read()
    try:
        with click.progressbar(length=imports.count_rows(data), label="Checking rows") as bar:
            report = imports.import_file(kind, data, None, dry_run, progress=bar.update)
    except imports.FileRefused as refused:
        raise click.ClickException(refused.message) from None
    for error in report.errors:
        click.echo(str(error), err=True)
    if not report.ok or dry_run:
        db.session.rollback()
        if not report.ok:
            raise click.ClickException(f"{len(report.errors)} bad rows; nothing imported.")
        click.echo(f"Dry run: {report.created} to add, {report.updated} to update; all rows good.")
        return
    db.session.commit()
    click.echo(f"Imported {report.rows} rows: {report.created} added, {report.updated} updated.")


@deals_cli.command("copy-yesterday")
def deals_copy_yesterday():
    """Schedule yesterday's deals (China Standard Time) again for tomorrow."""
    result = deals.copy_yesterday_to_tomorrow(utcnow(), actor=None)
    db.session.commit()
    for deal, reason in result.skipped:
        click.echo(f"Skipped deal {deal.id}: {reason}", err=True)
    click.echo(f"Copied {len(result.copied)} deals to tomorrow, skipped {len(result.skipped)}.")
