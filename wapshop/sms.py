"""Sending SMS: a small pluggable interface and the default sender that only records. The
`flask sms send` command (wapshop/cli/sms.py) empties the outbox with it.

SMS_SENDER names the sender class as "module:Class"; it is built with the app's config and
must offer `name` and `send(phone, text)`, raising SmsError (or anything) when it fails. A
real gateway's sender belongs in its own module, configured in instance/config.py."""

import importlib
import logging
from pathlib import Path

from wapshop.clock import utcnow

log = logging.getLogger(__name__)

DEFAULT_SENDER = "wapshop.sms:RecordingSender"


class SmsError(Exception):
    """The gateway refused or could not be reached; the text is kept on the message."""


class RecordingSender:
    """Sends nothing: the outbox row (and this log line) is the record. The default, so the
    demo and the tests never text a real phone."""

    name = "record"

    def __init__(self, config=None):
        self.config = config

    def send(self, phone: str, text: str) -> None:
        log.info("sms recorded for %s****%s", phone[:3], phone[-4:])


class DemoSender:
    """For the demo (bin/serve): each message goes to SMS_DEMO_LOG in the instance folder and
    to the log, whole, so whoever clicks through the shop can read the codes it sends."""

    name = "demo"

    def __init__(self, config):
        self.path = Path(config["SMS_DEMO_LOG"])

    def send(self, phone: str, text: str) -> None:
        line = f"{utcnow().isoformat(timespec='seconds')}Z {phone} {text}"
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        log.info("sms to %s: %s", phone, text)


def load_sender(config):
    """The configured sender, built with the config. Raises ValueError for a bad name."""
    path = config.get("SMS_SENDER") or DEFAULT_SENDER
    module_name, _, class_name = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"SMS_SENDER {path!r} names no sender class") from exc
    return cls(config)
