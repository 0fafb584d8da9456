"""More than one machine: what works on one application machine keeps working on two over one
database. The cron jobs run on both machines at once (two processes); the whole stack of
deploy/stack (nginx in front of two gunicorn instances) serves a cookie-less buyer whose
requests alternate between the instances, an image uploaded on one and fetched from the other.

A sender for `flask sms send` in other processes lives here too (FileSender): it appends each
SMS it is asked to send to a file, so the test counts what the gateway would have received."""

import os
import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conftest import make_app, sibling_app
from factories import make_product, make_regions
from test_checkout_views import confirm_form
from wapshop import ROOT
from wapshop.extensions import db
from wapshop.models import Order, OrderDayStat, OrderEvent, OutboxMessage, Payment, Product
from wapshop.models.base import utcnow

pytestmark = pytest.mark.server

TESTS = os.path.dirname(os.path.abspath(__file__))


class FileSender:
    """An SMS gateway that appends "pid, phone, text" to WAPSHOP_SMS_LOG, slowly (a real
    gateway takes a while), so two runs overlap."""

    name = "file"

    def __init__(self, config):
        self.path = config["SMS_LOG"]

    def send(self, phone: str, text: str) -> None:
        time.sleep(0.02)
        line = f"{os.getpid()}\t{phone}\t{text}\n".encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line)  # one write of a short line with O_APPEND: never interleaved
        finally:
            os.close(fd)


def machine_env(app, **settings) -> dict:
    """The environment an application machine's cron gets: the same database and secret."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([TESTS, str(ROOT)]),
        "WAPSHOP_DATABASE_URL": app.config["DATABASE_URL"],
        "WAPSHOP_SECRET_KEY": app.config["SECRET_KEY"],
        **{f"WAPSHOP_{name}": str(value) for name, value in settings.items()},
    }


def on_two_machines(env: dict, *command: str) -> list[str]:
    """Run `flask COMMAND` as two processes at once; both must succeed. Their outputs."""
    args = [sys.executable, "-m", "flask", "--app", "wapshop", *command]
    runs = [
        subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
        outputs.append(out.decode())
    return outputs


@pytest.fixture
def shop(app):
    with app.app_context():
        make_regions()
        product_id = make_product(stock=1000, shop_price_fen=5990).id
        db.session.commit()
    return product_id


def place_orders(app, product_id, count: int, payment: str = "cod") -> list[str]:
    numbers = []
    client = app.test_client()
    for i in range(count):
        form = confirm_form(client, product_id)
        form.update(payment=payment, phone=f"139{i:08d}")
        response = client.post(f"/buy/{product_id}", data=form)
        assert response.status_code == 303, response.text
        numbers.append(response.headers["Location"].rstrip("/").split("/")[-1])
    return numbers


def test_sms_send_on_two_machines_at_once_sends_each_message_once(app, shop, tmp_path):
    place_orders(app, shop, 30)
    log = tmp_path / "sms.log"
    env = machine_env(app, SMS_SENDER="test_multi_machine:FileSender", SMS_LOG=log)
    on_two_machines(env, "sms", "send")
    sent = [line.split("\t", 1)[1] for line in log.read_text().splitlines()]
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage)).all()
        assert len(messages) == 30 and {m.status for m in messages} == {"sent"}
        assert sorted(sent) == sorted(f"{m.phone}\t{m.body}" for m in messages)
        assert {m.attempts for m in messages} == {1}


class SlowGateway:
    """A gateway taking six minutes a message (on a clock the test moves). While it sends the
    second message, another machine's cron run (with a quick gateway) starts and finishes."""

    name = "slow"
    minutes = 6
    clock: list = []
    other_machine = None
    sent: list[str] = []

    def __init__(self, config):
        pass

    def send(self, phone, text):
        SlowGateway.sent.append(phone)
        SlowGateway.clock[0] += timedelta(minutes=self.minutes)
        if len(SlowGateway.sent) == 2 and SlowGateway.other_machine:
            other, SlowGateway.other_machine = SlowGateway.other_machine, None
            with other.app_context():  # the CLI runs in the current app context if any
                result = other.test_cli_runner().invoke(args=["sms", "send"])
            assert result.exit_code == 0, result.output


class QuickGateway(SlowGateway):
    minutes = 0


def test_a_slow_gateway_never_lets_another_machine_send_a_claimed_message_again(
    app, shop, monkeypatch
):
    place_orders(app, shop, 4)
    clock = [utcnow()]
    monkeypatch.setattr("wapshop.models.base.utcnow", lambda: clock[0])
    monkeypatch.setattr(SlowGateway, "clock", clock)
    monkeypatch.setattr(SlowGateway, "sent", [])
    app.config["SMS_SENDER"] = "test_multi_machine:SlowGateway"
    other = sibling_app(app, SMS_SENDER="test_multi_machine:QuickGateway")
    monkeypatch.setattr(SlowGateway, "other_machine", other)
    try:
        result = app.test_cli_runner().invoke(args=["sms", "send"])
        assert result.exit_code == 0, result.output
    finally:
        with other.app_context():
            db.engine.dispose()
    with app.app_context():
        phones = db.session.scalars(select(OutboxMessage.phone)).all()
    assert sorted(SlowGateway.sent) == sorted(phones)  # each once, none twice


def test_payments_expire_on_two_machines_at_once_expires_each_order_once(tmp_path):
    app = make_app(tmp_path, SANDBOX_PAYMENTS=True)
    try:
        with app.app_context():
            make_regions()
            product_id = make_product(stock=100, shop_price_fen=5990).id
            db.session.commit()
        numbers = place_orders(app, product_id, 25, payment="bank")
        with app.app_context():
            for order in db.session.scalars(select(Order)):
                order.created_at -= timedelta(hours=1)
            db.session.commit()
            assert db.session.get(Product, product_id).stock == 75
        outputs = on_two_machines(machine_env(app), "payments", "expire")
        expired = [n for out in outputs for n in re.findall(r"\b\d{10}\b", out)]
        assert sorted(expired) == sorted(numbers)  # each by one machine
        with app.app_context():
            cancels = db.session.execute(
                select(OrderEvent.order_id, func.count())
                .where(OrderEvent.to_status == "cancelled")
                .group_by(OrderEvent.order_id)
            ).all()
            assert len(cancels) == 25 and {n for _o, n in cancels} == {1}
            assert db.session.get(Product, product_id).stock == 100  # released once each
            payments = db.session.scalars(select(Payment.status)).all()
            assert set(payments) <= {"expired"}
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_reports_refresh_on_two_machines_at_once_counts_each_order_once(app, shop):
    place_orders(app, shop, 12)
    on_two_machines(machine_env(app), "reports", "refresh")
    with app.app_context():
        assert db.session.scalar(select(func.sum(OrderDayStat.orders))) == 12
        total = db.session.scalar(select(func.sum(Order.total_fen)))
        assert db.session.scalar(select(func.sum(OrderDayStat.orders_fen))) == total
