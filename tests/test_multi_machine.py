"""More than one machine: what works on one application machine keeps working on two over one
database. The cron jobs run on both machines at once (two processes); the whole stack of
deploy/stack (nginx in front of two gunicorn instances) serves a cookie-less buyer whose
requests alternate between the instances, an image uploaded on one and fetched from the other.

A sender for `flask sms send` in other processes lives here too (FileSender): it appends each
SMS it is asked to send to a file, so the test counts what the gateway would have received."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from lxml import html
from sqlalchemy import func, select

import test_admin_images
import test_featurephone_flows
from conftest import PG_URL, _reset_postgres, make_app, require_tool, sibling_app
from factories import make_product, make_regions
from test_funnel import UA
from support.buyers import confirm_form
from support.staff import make_staff, PASSWORD
from wapclient import HttpTransport, only_sid
from wapshop import ROOT, create_app, images
from wapshop.extensions import db
from wapshop.models import (
    Order,
    OrderDayStat,
    OrderEvent,
    OutboxMessage,
    PageViewCount,
    Payment,
    Product,
)
from wapshop.clock import utcnow

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


# --- The whole stack: nginx in front of two gunicorn instances over one database.
# These tests share one stack (module scope) and come last in the module: on PostgreSQL the
# tests above reset the schema of the database the stack uses.

STACK = ROOT / "deploy" / "stack"
TOUCH_UA = UA["touch"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """deploy/stack over an empty database (PostgreSQL when WAPSHOP_TEST_DATABASE_URL says so,
    else one SQLite file): `flask setup` loads the demo; its state (instances, nginx URL)."""
    require_tool("/usr/sbin/nginx", "the multi-machine stack puts nginx in front")
    workdir = tmp_path_factory.mktemp("stack")
    url = PG_URL or f"sqlite:///{workdir / 'shared.sqlite'}"
    if PG_URL:
        scratch = create_app({"TESTING": True, "DATABASE_URL": url})
        _reset_postgres(scratch)
        with scratch.app_context():
            db.engine.dispose()
    command = [sys.executable, str(STACK), "--dir", str(workdir / "run")]
    started = subprocess.run(
        [
            *command[:2],
            "start",
            *command[2:],
            "--database-url",
            url,
            "--instances",
            "2",
            "--set",
            "FUNNEL_FLUSH_EVERY=1000000",
            "--set",
            "FUNNEL_FLUSH_SECONDS=1000000",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    state = json.loads((workdir / "run" / "stack.json").read_text())
    assert started.stdout.splitlines()[-1] == state["url"]  # the URL is the last line
    state["stop"] = [*command[:2], "stop", *command[2:]]
    yield state
    if (workdir / "run" / "stack.json").exists():
        subprocess.run(state["stop"], check=True, timeout=120)


@pytest.fixture(scope="module")
def demo_app(stack):
    """An app over the stack's database (the demo `flask setup` loaded), for arranging and
    checking. Named like conftest's fixture, so test_featurephone_flows' helpers use it."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": stack["database_url"]})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


cod_region_names = test_featurephone_flows.cod_region_names  # fixture, over the stack's demo


def instance_urls(stack) -> list[str]:
    return [f"http://127.0.0.1:{i['port']}" for i in stack["instances"]]


class Alternating(HttpTransport):
    """A load balancer with no affinity at all: each request goes to the next instance."""

    def __init__(self, urls: list[str]):
        super().__init__(urls[0])
        self.urls = urls
        self.answered: list[str] = []

    def send(self, method, url, headers, data):
        base = self.urls[len(self.answered) % len(self.urls)]
        self.answered.append(base)
        parts = urlsplit(url)
        target = base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(method, target, headers, data)


def test_nginx_spreads_requests_over_both_instances_and_serves_static_files_itself(stack):
    answered = set()
    with requests.Session() as http:
        for _ in range(8):
            page = http.get(stack["url"] + "/", headers={"User-Agent": TOUCH_UA}, timeout=10)
            assert page.status_code == 200
            answered.add(page.headers["X-Upstream"])
        css = re.search(r'href="(/static/[^"]+)"', page.text).group(1).replace("&amp;", "&")
        static = http.get(stack["url"] + css, headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert answered == {f"127.0.0.1:{i['port']}" for i in stack["instances"]}
    assert static.status_code == 200 and "X-Upstream" not in static.headers  # nginx's own
    assert static.headers["Content-Encoding"] == "gzip"
    assert static.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert status_line(stack, "POST /u/login", 2 * 1024 * 1024).startswith("HTTP/1.1 413")


def status_line(stack, request_line: str, length: int) -> str:
    """The status line nginx answers a request announcing `length` bytes of body with, before
    the body is sent (client_max_body_size: no instance sees it)."""
    port = stack["nginx"]["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            f"{request_line} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n".encode()
        )
        return conn.recv(200).decode("latin-1").split("\r\n", 1)[0]


@pytest.mark.parametrize("rendition", ["basic", "wml"])
def test_a_cookieless_buyer_whose_requests_alternate_between_instances_buys(
    stack, demo_app, cod_region_names, rendition
):
    transport = Alternating(instance_urls(stack))
    deal_id, product_id, title = test_featurephone_flows.pick_deal(demo_app, rendition)
    mobile = test_featurephone_flows.new_mobile()
    client = test_featurephone_flows.phone(transport, rendition)
    sid = only_sid(client.open(f"/?ver={rendition}"))
    client.follow(title)
    test_featurephone_flows.reach_confirmation(client, cod_region_names)
    confirming = only_sid(client.page)
    fields = test_featurephone_flows.order_fields(mobile, test_featurephone_flows.QUANTITY)
    client.submit("提交订单", fields)  # a new quantity: its total is shown before ordering
    placed = client.submit("提交订单")
    shown = client.follow("查看订单")
    # Every other request went to the other instance, and one session (in the URLs) held:
    # the sid the walk began with up to the confirmation, then the fresh one placing the
    # order moved it to (a grant of access), on whichever instance answered.
    assert len(transport.answered) >= 8
    assert all(a != b for a, b in zip(transport.answered, transport.answered[1:]))
    test_featurephone_flows.assert_walk(client, rendition)
    assert confirming == sid
    assert only_sid(placed) == only_sid(shown) != sid
    [order] = test_featurephone_flows.orders_of(demo_app, mobile)
    assert urlsplit(placed.url).path == f"/buy/done/{order.number}"
    assert order.items == [(product_id, deal_id, test_featurephone_flows.QUANTITY)]
    assert order.number in shown.visible_text


def csrf_of(page: requests.Response) -> str:
    return html.fromstring(page.content).xpath('//input[@name="csrf_token"]/@value')[0]


def test_a_cookie_session_and_the_throttle_count_move_between_instances(stack):
    first, second = instance_urls(stack)
    with requests.Session() as http:  # keeps the session cookie
        http.headers["User-Agent"] = TOUCH_UA
        statuses = []
        for attempt in range(6):
            base = (first, second)[attempt % 2]
            token = csrf_of(http.get(f"{(second, first)[attempt % 2]}/u/login", timeout=10))
            form = {"csrf_token": token, "phone": "13900000999", "password": "wrong-password"}
            statuses.append(http.post(f"{base}/u/login", data=form, timeout=10).status_code)
    # The CSRF token came from the other instance's page each time (the cookie session moved);
    # the sixth failure is refused: the five before it were counted wherever they happened.
    assert statuses == [401] * 5 + [429]


def test_an_image_uploaded_on_one_instance_is_served_by_the_other_and_cached_by_nginx(
    stack, demo_app
):
    first, second = instance_urls(stack)
    with demo_app.app_context():
        staff = make_staff("operator")
        product_id = db.session.scalar(select(Product.id).order_by(Product.id))
        db.session.commit()
        username = staff.username
    data = test_admin_images.photo(800, 600)
    with requests.Session() as http:
        token = csrf_of(http.get(f"{second}/admin/login", timeout=10))
        form = {"csrf_token": token, "username": username, "password": PASSWORD}
        login = http.post(f"{first}/admin/login", data=form, allow_redirects=False, timeout=10)
        assert login.status_code == 303
        token = csrf_of(http.get(f"{second}/admin/products/{product_id}", timeout=10))
        uploaded = http.post(
            f"{first}/admin/products/{product_id}/image",
            data={"csrf_token": token},
            files={"image": ("phone.jpg", data, "image/jpeg")},
            allow_redirects=False,
            timeout=30,
        )
    assert uploaded.status_code == 303, uploaded.text
    with demo_app.app_context():
        name = db.session.get(Product, product_id).image
    assert name.startswith(f"p{product_id}-")
    path = "/media/" + images.image_path(name, "m")
    direct = requests.get(second + path, timeout=10)
    assert direct.status_code == 200 and direct.headers["Content-Type"] == "image/jpeg"
    served = [requests.get(stack["url"] + path, timeout=10) for _ in range(2)]
    assert [r.content for r in served] == [direct.content] * 2
    assert [r.headers["X-Cache"] for r in served] == ["MISS", "HIT"]
    assert "max-age=31536000" in served[1].headers["Cache-Control"]


def test_cron_on_both_machines_at_once_sends_one_sms_per_event(stack, demo_app, tmp_path):
    with demo_app.app_context():
        waiting = db.session.scalar(select(func.count()).where(OutboxMessage.status == "pending"))
    assert waiting >= 2  # the buyers' orders above
    log = tmp_path / "sms.log"
    env = machine_env(demo_app, SMS_SENDER="test_multi_machine:FileSender", SMS_LOG=log)
    for command in (("payments", "expire"), ("sms", "send"), ("reports", "refresh")):
        on_two_machines(env, *command)
    sent = [line.split("\t", 1)[1] for line in log.read_text().splitlines()]
    with demo_app.app_context():
        messages = db.session.scalars(select(OutboxMessage)).all()
        orders = db.session.scalar(select(func.count()).select_from(Order))
        counted = db.session.scalar(select(func.sum(OrderDayStat.orders)))
    assert {m.status for m in messages} == {"sent"}
    assert sorted(sent) == sorted(f"{m.phone}\t{m.body}" for m in messages)  # once each
    assert counted == orders


def test_stopping_the_stack_writes_every_instance_s_funnel_counts(stack, demo_app):
    # Only this test uses `color`, and the stack's batches never fill: what is stored after the
    # stop is what the instances' workers held in memory when they were told to stop.
    transport = Alternating(instance_urls(stack))
    client = test_featurephone_flows.phone(transport, "color")
    with demo_app.app_context():
        product_ids = db.session.scalars(select(Product.id).order_by(Product.id).limit(5)).all()
    for product_id in product_ids:
        client.open("/")
        client.open(f"/p/{product_id}")
    assert views_of(demo_app, "color") == {}
    subprocess.run(stack["stop"], check=True, timeout=120)
    assert views_of(demo_app, "color") == {"home": 5, "product": 5}


def views_of(app, rendition: str) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(PageViewCount.page, PageViewCount.views).where(
                PageViewCount.rendition == rendition
            )
        )
        return dict(rows.all())
