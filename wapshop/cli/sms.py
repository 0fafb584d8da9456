"""flask sms send: empty the SMS outbox (run it from cron every minute)."""

import click
from flask import current_app
from flask.cli import AppGroup

from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.services import notify
from wapshop.sms import load_sender

sms_cli = AppGroup("sms", help="The SMS outbox.")


@sms_cli.command("send")
@click.option("--limit", default=200, show_default=True, help="Messages in this run, at most.")
def sms_send(limit):
    """Send what the outbox holds: each message is claimed and committed just before it is
    sent, so two runs (two machines) never send one twice, and a slow gateway never lets a
    claim go stale before its send; a failure is recorded and retried on the next run."""
    sender = load_sender(current_app.config)
    max_attempts = current_app.config["SMS_MAX_ATTEMPTS"]
    sent = failed = 0
    tried: list[int] = []
    for _ in range(limit):
        claimed = notify.claim(utcnow(), 1, tried)
        db.session.commit()
        if not claimed:
            break
        tried += claimed
        if notify.deliver(claimed[0], sender, utcnow(), max_attempts):
            sent += 1
        else:
            failed += 1
        db.session.commit()
    click.echo(f"Sent {sent} SMS via {sender.name}; {failed} failed.")
