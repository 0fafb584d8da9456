"""Paying online: card and bank through the sandboxes, notifications taken exactly once,
expiry, switching to cash on delivery, balances and reconciliation."""

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select, text

from conftest import LiveServer, make_app
from factories import COVERED, UNCOVERED, make_product, make_regions
from support.buyers import confirm_form
from support.pages import token_in
from wapshop.extensions import db
from wapshop.models import BalanceEntry, Order, OrderEvent, OutboxMessage, Payment, Product
from wapshop.payments import signing

PRICE = 7900
SERIAL_OK = "12345678901234561"  # China Mobile: 17 digits; last digit 1 → success
PASSWORD = "987654321098765432"  # 18 digits, never to be stored


@pytest.fixture
def app(tmp_path):
    # Nothing listens at port 9 (discard): the card processor is unreachable in process.
    app = make_app(
        tmp_path,
        SANDBOX_PAYMENTS=True,
        SANDBOX_NOTIFY_DELAY=-1,
        PUBLIC_BASE_URL="http://127.0.0.1:9",
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def product_id(app):
    with app.app_context():
        make_regions()
        pid = make_product(shop_price_fen=PRICE, stock=10).id
        db.session.commit()
        return pid


def place(client, product_id, payment, region=COVERED, **extra) -> str:
    form = {**confirm_form(client, product_id, region=region), "payment": payment, **extra}
    response = client.post(f"/buy/{product_id}", data=form)
    assert response.status_code == 303, response.text
    return re.search(r"/(?:pay|buy/done)/(\d{10})", response.headers["Location"]).group(1)


def start_bank(client, number) -> dict:
    """Press 去网银付款; returns the signed fields the shop sent the buyer to the bank with."""
    token = token_in(client.get(f"/pay/{number}").text)
    response = client.post(f"/pay/{number}/bank", data={"csrf_token": token})
    assert response.status_code == 303
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def bank_notice(request_fields: dict, **overrides) -> dict:
    fields = {
        "merchant_id": request_fields["merchant_id"],
        "reference": request_fields["reference"],
        "transaction_id": "B0001",
        "amount_fen": request_fields["amount_fen"],
        "currency": "CNY",
        "status": "success",
        **overrides,
    }
    return signing.signed(fields, "sandbox-bank-key")


def state(app, number):
    """(order status, payments by status, events, balance entries) from the database."""
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        payments = db.session.execute(
            select(Payment.status, func.count())
            .where(Payment.order_id == order.id)
            .group_by(Payment.status)
        ).all()
        events = db.session.scalar(select(func.count()).where(OrderEvent.order_id == order.id))
        credits = db.session.scalar(select(func.count(BalanceEntry.id)))
        return order.status, dict(payments), events, credits


def placed_sms(app, number) -> list[str]:
    """The bodies of the order's "placed" SMS (one when it is placed or paid, else none)."""
    with app.app_context():
        return db.session.scalars(
            select(OutboxMessage.body)
            .join(Order, Order.id == OutboxMessage.order_id)
            .where(Order.number == number, OutboxMessage.kind == "placed")
        ).all()


def test_online_order_waits_for_payment_and_offers_every_way(app, client, product_id):
    number = place(client, product_id, "bank")
    page = client.get(f"/pay/{number}?ver=basic").text
    assert "等待付款" in page and "用充值卡付款" in page and "去网银/手机银行付款" in page
    assert "改为货到付款" in page
    assert state(app, number)[0] == "awaiting_payment"
    assert placed_sms(app, number) == []  # nothing to tell until it is paid


def test_bank_notification_pays_once_however_often_it_comes(app, client, product_id):
    number = place(client, product_id, "bank")
    notice = bank_notice(start_bank(client, number))
    answers = [client.post("/pay/notify/bank", data=notice) for _ in range(20)]
    assert {(a.status_code, a.text) for a in answers} == {(200, "success")}
    status, payments, events, _ = state(app, number)
    assert status == "paid" and payments == {"succeeded": 1} and events == 2
    [paid] = placed_sms(app, number)  # once, however often the bank says so
    assert f"订单{number}" in paid and "已付款" in paid


@pytest.mark.parametrize(
    "change",
    [
        {"sign": "0" * 64},
        {"merchant_id": "someone-else"},
        {"amount_fen": "100"},
        {"currency": "USD"},
        {"reference": "Pnope"},
        {"transaction_id": ""},
    ],
)
def test_forged_or_wrong_notifications_change_nothing(app, client, product_id, change):
    number = place(client, product_id, "bank")
    request_fields = start_bank(client, number)
    if "sign" in change:
        notice = {**bank_notice(request_fields), **change}
    else:
        notice = bank_notice(request_fields, **change)
    response = client.post("/pay/notify/bank", data=notice)
    assert response.status_code == 400 and response.text.startswith("refused")
    assert state(app, number)[:3] == ("awaiting_payment", {"pending": 1}, 1)


def test_a_success_for_an_expired_order_goes_to_the_balance(app, client, runner, product_id):
    number = place(client, product_id, "bank")
    notice = bank_notice(start_bank(client, number))
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        order.created_at = order.created_at.replace(year=order.created_at.year - 1)
        db.session.commit()
    assert number in runner.invoke(args=["payments", "expire"]).output
    assert state(app, number)[1] == {"expired": 1}
    response = client.post("/pay/notify/bank", data=notice)
    assert (response.status_code, response.text) == (200, "success")
    status, payments, _, credits = state(app, number)
    assert status == "cancelled" and payments == {"credited": 1} and credits == 1
    with app.app_context():
        assert db.session.get(Product, product_id).stock == 10  # released


def test_card_worth_less_than_the_order_is_refused_before_submission(app, client, product_id):
    number = place(client, product_id, "card")
    page = client.get(f"/pay/{number}").text
    response = client.post(
        f"/pay/{number}/card",
        data={
            "csrf_token": token_in(page),
            "operator": "cmcc",
            "face": "50",
            "serial": SERIAL_OK,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 409 and "卡面额小于订单金额" in response.text
    assert state(app, number)[1] == {}


@pytest.mark.parametrize(
    "operator,serial,password,message",
    [
        ("cmcc", "1234", PASSWORD, "请填17位数字"),
        ("cmcc", SERIAL_OK, "pwshort", "请填18位数字"),
        ("unicom", SERIAL_OK, PASSWORD, "请填15位数字"),
        ("telecom", "abc", PASSWORD, "请填19位数字"),
        ("nokia", SERIAL_OK, PASSWORD, "请选择运营商"),
    ],
)
def test_card_formats_are_checked_per_operator(
    app, client, product_id, operator, serial, password, message
):
    number = place(client, product_id, "card")
    page = client.get(f"/pay/{number}").text
    response = client.post(
        f"/pay/{number}/card",
        data={
            "csrf_token": token_in(page),
            "operator": operator,
            "face": "100",
            "serial": serial,
            "password": password,
        },
    )
    assert response.status_code == 400 and message in response.text
    assert password not in response.text


def test_switching_to_cod_needs_a_covered_region(app, client, product_id):
    covered = place(client, product_id, "bank")
    token = token_in(client.get(f"/pay/{covered}").text)
    assert client.post(f"/pay/{covered}/cod", data={"csrf_token": token}).status_code == 303
    assert state(app, covered)[0] == "placed"
    far = place(client, product_id, "bank", region=UNCOVERED)
    token = token_in(client.get(f"/pay/{far}").text)
    response = client.post(f"/pay/{far}/cod", data={"csrf_token": token})
    assert response.status_code == 409 and "不能货到付款" in response.text
    assert state(app, far)[0] == "awaiting_payment"


def test_an_unreachable_card_processor_leaves_the_order_payable(app, client, product_id):
    number = place(client, product_id, "card")
    page = client.get(f"/pay/{number}").text
    response = client.post(
        f"/pay/{number}/card",
        data={
            "csrf_token": token_in(page),
            "operator": "cmcc",
            "face": "100",
            "serial": SERIAL_OK,
            "password": PASSWORD,
        },
        follow_redirects=True,
    )
    assert "充值卡系统暂时连不上" in response.text and "用充值卡付款" in response.text
    assert state(app, number)[:2] == ("awaiting_payment", {"failed": 1})


def test_reconcile_lists_every_mismatch(app, client, runner, product_id, tmp_path):
    paid = place(client, product_id, "bank")
    notice = bank_notice(start_bank(client, paid), transaction_id="B7")
    assert client.post("/pay/notify/bank", data=notice).text == "success"
    with app.app_context():
        reference = db.session.scalar(
            select(Payment.reference).where(Payment.status == "succeeded")
        )
    statement = tmp_path / "statement.csv"
    statement.write_text(
        "reference,transaction_id,amount_fen,status\n"
        f"{reference},B7,{PRICE + 1},success\n"
        "Pstranger,B8,500,success\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["payments", "reconcile", str(statement)])
    assert result.exit_code == 1
    assert f"{reference}\tamount {PRICE + 1} ≠ {PRICE}" in result.output
    assert "Pstranger\tin the statement, not in the shop" in result.output


# End to end through the sandboxes, over HTTP, against gunicorn.


@pytest.fixture
def shop_server(app, product_id):
    server = LiveServer(app, workers=3, threads=2, SANDBOX_PAYMENTS=True, SANDBOX_NOTIFY_DELAY=0.2)
    yield server
    server.stop()


def http_place(browser, base, product_id, payment):
    page = browser.get(f"{base}/buy/{product_id}?region={COVERED}&ver=basic")
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    form = {
        **hidden,
        "quantity": "1",
        "name": "王五",
        "phone": "13800138000",
        "street": "人民路1号",
        "payment": payment,
    }
    placed = browser.post(f"{base}/buy/{product_id}", data=form)
    return re.search(r"订单号 (\d{10})", placed.text).group(1), placed


def wait_for(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_card_payment_with_remainder_credited_end_to_end(app, shop_server, product_id):
    with requests.Session() as browser:
        number, page = http_place(browser, shop_server.url, product_id, "card")
        paid = browser.post(
            f"{shop_server.url}/pay/{number}/card",
            data={
                "csrf_token": token_in(page.text),
                "operator": "cmcc",
                "face": "100",
                "serial": SERIAL_OK,
                "password": PASSWORD,
            },
        )
        assert "充值卡已提交，正在处理" in paid.text
        assert wait_for(lambda: state(app, number)[0] == "paid")
        result = browser.get(f"{shop_server.url}/pay/{number}").text
    assert "卡面额 ￥100.00，订单 ￥79.00，余额 ￥21.00" in result
    with app.app_context():
        entry = db.session.scalar(select(BalanceEntry))
        assert (entry.phone, entry.amount_fen, entry.kind) == (
            "13800138000",
            2100,
            "card_remainder",
        )
        dump = "\n".join(
            str(row)
            for table in db.metadata.sorted_tables
            for row in db.session.execute(text(f"SELECT * FROM {table.name}"))
        )
    assert PASSWORD not in dump and SERIAL_OK not in dump
    assert PASSWORD not in shop_server.read_log()


def test_bank_payment_end_to_end_and_replayed_concurrently(app, shop_server, product_id):
    with requests.Session() as browser:
        number, page = http_place(browser, shop_server.url, product_id, "bank")
        bank = browser.post(
            f"{shop_server.url}/pay/{number}/bank", data={"csrf_token": token_in(page.text)}
        )
        assert "沙箱网银" in bank.text and "￥79.00" in bank.text
        form = bank.text.split("</form>")[0]
        fields = {k: html.unescape(v) for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', form)}
        back = browser.post(f"{shop_server.url}/sandbox/bank/decide", data=fields)
        assert "付款成功" in back.text and number in back.text
        notes = browser.get(f"{shop_server.url}/sandbox/notifications").text
        note_id = re.search(r"/sandbox/notifications/(\d+)/replay", notes).group(1)
        replayed = browser.post(
            f"{shop_server.url}/sandbox/notifications/{note_id}/replay", data={"times": "20"}
        )
    answers = replayed.text.split("<ol>")[1].split("</ol>")[0]
    assert answers.count("<li>200 success</li>") == 20
    status, payments, events, _ = state(app, number)
    assert status == "paid" and payments == {"succeeded": 1} and events == 2


def test_failed_card_then_cash_on_delivery(app, shop_server, product_id):
    with requests.Session() as browser:
        number, page = http_place(browser, shop_server.url, product_id, "card")
        browser.post(
            f"{shop_server.url}/pay/{number}/card",
            data={
                "csrf_token": token_in(page.text),
                "operator": "cmcc",
                "face": "100",
                "serial": "12345678901234563",
                "password": PASSWORD,
            },
        )
        assert wait_for(lambda: state(app, number)[1] == {"failed": 1})
        retry = browser.get(f"{shop_server.url}/pay/{number}")
        assert "这张卡已经用过了" in retry.text and "用充值卡付款" in retry.text
        switched = browser.post(
            f"{shop_server.url}/pay/{number}/cod", data={"csrf_token": token_in(retry.text)}
        )
        assert "客服将致电 138****8000 确认订单" in switched.text
    assert state(app, number)[0] == "placed"


def test_a_logged_in_buyer_pays_from_the_balance(app, client, product_id):
    from test_account_views import register

    from wapshop.services import balances

    register(client, phone="13800138000")
    with app.app_context():
        balances.credit("13800138000", PRICE + 100, "card_remainder")
        db.session.commit()
    page = client.get(f"/buy/{product_id}?region={COVERED}&ver=basic").text
    assert "账户余额(余额 ￥80.00)" in page
    number = place(client, product_id, "balance")
    status, payments, events, _ = state(app, number)
    assert status == "paid" and payments == {"succeeded": 1}
    [paid] = placed_sms(app, number)  # placed paid: one SMS, from the placing
    assert f"订单{number}" in paid and "已付款" in paid
    with app.app_context():
        assert balances.amount("13800138000") == 100
    # Not enough left now: refused, and no second order or stock change.
    form = {**confirm_form(client, product_id), "payment": "balance"}
    again = client.post(f"/buy/{product_id}", data=form)
    assert again.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 1
        assert db.session.get(Product, product_id).stock == 9


def test_guests_cannot_spend_a_balance_by_typing_a_phone(app, client, product_id):
    from wapshop.services import balances

    with app.app_context():
        balances.credit("13800138000", 10_000, "card_remainder")
        db.session.commit()
    form = {**confirm_form(client, product_id), "payment": "balance"}
    response = client.post(f"/buy/{product_id}", data=form)
    assert response.status_code == 409 and "这种付款方式现在不能用" in response.text
    with app.app_context():
        assert balances.amount("13800138000") == 10_000


def test_a_buyer_who_cancels_a_paid_order_gets_the_money_back_on_the_balance(
    app, client, product_id
):
    from wapshop.services import balances

    number = place(client, product_id, "bank")
    assert client.post("/pay/notify/bank", data=bank_notice(start_bank(client, number))).text == (
        "success"
    )
    token = token_in(client.get(f"/o/{number}/cancel").text)  # the question first
    assert client.post(f"/o/{number}/cancel", data={"csrf_token": token}).status_code == 303
    again = client.post(f"/o/{number}/cancel", data={"csrf_token": token})
    assert again.status_code == 409
    with app.app_context():
        assert balances.amount("13800138000") == PRICE  # refunded once
        assert db.session.get(Product, product_id).stock == 10
    assert state(app, number)[0] == "cancelled"


def test_the_card_form_offers_only_face_values_that_pay_the_order(app, client, product_id):
    with app.app_context():
        big = make_product(shop_price_fen=60_000, stock=3).id
        db.session.commit()
    small = client.get(f"/pay/{place(client, product_id, 'card')}?ver=basic").text
    assert 'value="100"' in small and 'value="50"' not in small
    large = client.get(f"/pay/{place(client, big, 'card')}?ver=basic").text
    assert "用充值卡付款" not in large and "去网银/手机银行付款" in large


def test_card_tries_are_counted_before_they_are_tried(app, client, product_id):
    """Each card sent to the processor counts against the payer's phone; past the limit the
    next one is refused before it reaches the processor. A card refused by the shop's own
    checks (worth too little) was never tried and does not count."""
    number = place(client, product_id, "card")
    form = {"operator": "cmcc", "face": "100", "serial": SERIAL_OK, "password": PASSWORD}

    def try_card(**overrides):
        token = token_in(client.get(f"/pay/{number}").text)
        return client.post(f"/pay/{number}/card", data={**form, "csrf_token": token, **overrides})

    assert try_card(face="10").status_code in (400, 409)  # refused here, not counted
    limit = app.config["THROTTLE_LIMIT"]
    for _ in range(limit):
        assert try_card().status_code == 303  # the processor is unreachable: payable again
    refused = try_card()
    assert refused.status_code == 429 and "充值卡尝试太多次" in refused.text
    assert state(app, number)[:2] == ("awaiting_payment", {"failed": limit})
