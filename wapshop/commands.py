"""flask commands: set-up, demo data."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from wapshop.extensions import db

demo_cli = AppGroup("demo", help="Demo catalogue and today's deals.")


@click.command("setup")
def setup_command():
    """Apply migrations, and load the demo catalogue when the database has no products."""
    from flask_migrate import upgrade

    from wapshop.models import Product
    from wapshop.services import demo

    upgrade()
    if db.session.scalar(select(Product.id).limit(1)) is None:
        demo.load_demo(current_app.config["MEDIA_DIR"])
        db.session.commit()
        click.echo("Loaded the demo catalogue and today's deals.")
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@demo_cli.command("load")
def demo_load():
    """Load the demo catalogue if the database is empty."""
    from wapshop.services import demo

    demo.load_demo(current_app.config["MEDIA_DIR"])
    db.session.commit()


def init_app(app) -> None:
    app.cli.add_command(setup_command)
    app.cli.add_command(demo_cli)
