"""flask members …: settle points for orders, expire points, recompute RFM segments, take an
inbound SMS (退订), and send a campaign in batches."""

import click
from flask import current_app
from flask.cli import AppGroup

from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.services import phones
from wapshop.services.members import Settings, campaigns, points, rfm, settlement

members_cli = AppGroup("members", help="Members and marketing: points, segments, campaigns.")


def _settings() -> Settings:
    return Settings.from_config(current_app.config)


@members_cli.command("settle")
def settle_command():
    """Points for orders delivered since the last run, taken back for returns, and coupons
    and points given back for undone orders (cron: every few minutes; safe to repeat)."""
    done = settlement.settle(utcnow(), _settings().points_per_yuan)
    db.session.commit()
    click.echo(
        f"Earned {done.earned} points, took back {done.reversed}, gave back {done.given_back}."
    )


@members_cli.command("expire")
def expire_command():
    """Write off points past their expiry day (cron: daily after midnight China time)."""
    gone = points.expire(utcnow())
    db.session.commit()
    click.echo(f"Expired {gone} points.")


@members_cli.command("rfm")
def rfm_command():
    """Recompute every phone's RFM segment (cron: nightly)."""
    count = rfm.recompute(utcnow(), _settings())
    db.session.commit()
    click.echo(f"Segmented {count} phones.")


@members_cli.command("inbound")
@click.argument("phone")
@click.argument("text")
def inbound_command(phone, text):
    """An SMS a buyer sent us (the gateway's inbound hook calls this): 退订 opts out."""
    normalised = phones.normalise(phone)
    if normalised is None:
        raise click.BadParameter("not a mainland mobile number", param_hint="PHONE")
    opted = campaigns.opt_out(normalised, text, _settings().opt_out_words)
    db.session.commit()
    click.echo("Opted out." if opted else "Not an opt-out; nothing recorded.")


@members_cli.command("send-campaign")
@click.argument("campaign_id", type=int)
def send_campaign_command(campaign_id):
    """Write a campaign's SMS to the outbox, one committed batch at a time."""
    campaign = campaigns.get(campaign_id)
    if campaign is None:
        raise click.BadParameter("no such campaign", param_hint="CAMPAIGN_ID")
    total = campaigns.send_all(campaign, utcnow, _settings(), db.session.commit)
    click.echo(f"Queued {total} SMS.")
