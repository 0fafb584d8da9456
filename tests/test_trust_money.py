"""Issue 12, money: what an attacker, a race or an unlucky buyer did to payments, each
reproduced over HTTP and now refused or taken exactly once.

Runs on whichever database the suite runs on; the races against gunicorn (LiveServer)."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, unquote, urlsplit

import itsdangerous
import pytest
import requests
from sqlalchemy import func, select

from conftest import LiveServer, make_app
from factories import COVERED, make_product, make_regions
from test_markup import BUDGET, validate  # sets the DTD catalog before lxml first loads one
from support.pages import token_in
import test_payments
from test_payments import PASSWORD, PRICE, bank_notice, place, start_bank, state
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import BalanceEntry, Order, Payment, SandboxNotification
from wapshop.payments import http, signing
from wapshop.payments.online import Settings
from wapshop.payments.registry import by_code
from wapshop.services import checkout

BASE = "http://shop.test"  # PUBLIC_BASE_URL of the in-process shop
CARDS = ["11111111111111111", "22222222222222221", "33333333333333331", "44444444444444441"]
product_id = test_payments.product_id  # a fixture: the same product, in this module's app


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path, SANDBOX_PAYMENTS=True, SANDBOX_NOTIFY_DELAY=-1, PUBLIC_BASE_URL=BASE)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def processor(monkeypatch):
    """The card processor, in process: records what the shop sent and accepts it."""
    sent = []

    def post_form(url, fields, timeout=10.0):
        sent.append((url, dict(fields)))
        return 200, f"accepted C{len(sent):04d}"

    monkeypatch.setattr(http, "post_form", post_form)
    return sent


def card_form(token: str, serial: str = CARDS[0], face: str = "100") -> dict:
    return {"csrf_token": token, "operator": "cmcc", "face": face, "serial": serial,
            "password": PASSWORD}  # fmt: skip


def card_notice(payment_reference: str, transaction: str, face_fen: int, **overrides) -> dict:
    fields = {
        "merchant_id": "wapshop",
        "reference": payment_reference,
        "transaction_id": transaction,
        "face_fen": str(face_fen),
        "status": "success",
        **overrides,
    }
    return signing.signed(fields, "sandbox-card-key")


def only_payment(app, number) -> Payment:
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        [payment] = db.session.scalars(select(Payment).where(Payment.order_id == order.id))
        db.session.expunge(payment)
        return payment


def ledger(app, kind: str) -> list[tuple[str, int]]:
    with app.app_context():
        return list(
            db.session.execute(
                select(BalanceEntry.phone, BalanceEntry.amount_fen).where(BalanceEntry.kind == kind)
            ).tuples()
        )


# --- 1. One card in flight per order, under real concurrency.


def test_parallel_card_submissions_send_one_card_to_the_processor(app, product_id):
    server = LiveServer(app, workers=4, threads=2, SANDBOX_PAYMENTS=True, SANDBOX_NOTIFY_DELAY=-1)
    try:
        rounds = [four_cards_at_once(server.url, product_id) for _ in range(2)]
    finally:
        server.stop()
    for number, answers in rounds:
        statuses = sorted(status for status, _ in answers)
        assert statuses == [303] + [409] * (len(CARDS) - 1), answers
        assert all("充值卡正在处理" in text for status, text in answers if status == 409)
        assert state(app, number)[:2] == ("awaiting_payment", {"pending": 1})
    with app.app_context():
        sent = db.session.scalar(
            select(func.count(SandboxNotification.id)).where(
                SandboxNotification.processor == "card"
            )
        )
    assert sent == len(rounds)  # the sandbox processor heard of one card per order


def four_cards_at_once(base: str, product_id: int) -> tuple[str, list[tuple[int, str]]]:
    """One buyer's order, then four cards pressed at the same instant in four tabs of the
    same session. Returns the order number and the (status, text) answers."""
    with requests.Session() as browser:
        number = http_order(browser, base, product_id)
        token = token_in(browser.get(f"{base}/pay/{number}?ver=basic").text)
        cookies = browser.cookies.get_dict()
    ready = threading.Barrier(len(CARDS))

    def submit(serial):
        with requests.Session() as tab:
            tab.cookies.update(cookies)
            ready.wait()
            answer = tab.post(f"{base}/pay/{number}/card", data=card_form(token, serial),
                              allow_redirects=False, timeout=60)  # fmt: skip
            return answer.status_code, answer.text

    with ThreadPoolExecutor(max_workers=len(CARDS)) as pool:
        return number, list(pool.map(submit, CARDS))


def http_order(browser, base, product_id) -> str:
    page = browser.get(f"{base}/buy/{product_id}?region={COVERED}&ver=basic")
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    form = {**hidden, "quantity": "1", "name": "王五", "phone": "13800138000",
            "street": "人民路1号", "payment": "card"}  # fmt: skip
    placed = browser.post(f"{base}/buy/{product_id}", data=form)
    return re.search(r"订单号 (\d{10})", placed.text).group(1)


def test_the_database_refuses_a_second_card_whose_check_ran_before_the_first_was_written(
    app, client, product_id, processor, monkeypatch
):
    """The race made certain: the second request's check saw no card in flight (as when
    both check before either writes); the database still lets only one card through."""
    from wapshop.services import payments

    number = place(client, product_id, "card")
    token = token_in(client.get(f"/pay/{number}").text)
    assert client.post(f"/pay/{number}/card", data=card_form(token, CARDS[0])).status_code == 303
    monkeypatch.setattr(payments, "payable", lambda order: None)
    again = client.post(f"/pay/{number}/card", data=card_form(token, CARDS[1]))
    assert again.status_code == 409 and "充值卡正在处理" in again.text
    assert [fields["serial"] for _url, fields in processor] == [CARDS[0]]
    assert state(app, number)[1] == {"pending": 1}


def test_a_second_card_while_one_is_pending_is_refused_before_it_is_sent(
    app, client, product_id, processor
):
    number = place(client, product_id, "card")
    token = token_in(client.get(f"/pay/{number}").text)
    assert client.post(f"/pay/{number}/card", data=card_form(token, CARDS[0])).status_code == 303
    again = client.post(f"/pay/{number}/card", data=card_form(token, CARDS[1]))
    assert again.status_code == 409 and "充值卡正在处理" in again.text
    assert [fields["serial"] for _url, fields in processor] == [CARDS[0]]


# --- 2. No success the processor reports is ever dropped.


def stop_waiting(app, client, runner, number, how):
    """Make the order unable to take a payment: switched to COD, expired, or paid."""
    if how == "cod":
        token = token_in(client.get(f"/pay/{number}").text)
        assert client.post(f"/pay/{number}/cod", data={"csrf_token": token}).status_code == 303
    elif how == "expired":
        with app.app_context():
            order = db.session.scalar(select(Order).where(Order.number == number))
            order.created_at = order.created_at.replace(year=order.created_at.year - 1)
            db.session.commit()
        assert number in runner.invoke(args=["payments", "expire"]).output
    else:  # paid by a second bank attempt
        other = bank_notice(start_bank(client, number), transaction_id="B-OTHER")
        assert client.post("/pay/notify/bank", data=other).text == "success"


@pytest.mark.parametrize("how", ["cod", "expired", "paid"])
def test_a_bank_success_after_the_order_stopped_waiting_goes_to_the_balance_once(
    app, client, runner, product_id, how
):
    from wapshop.services import fulfilment

    number = place(client, product_id, "bank")
    late = bank_notice(start_bank(client, number), transaction_id="B-LATE")
    stop_waiting(app, client, runner, number, how)
    before = state(app, number)[0]
    answers = [client.post("/pay/notify/bank", data=late) for _ in range(3)]
    assert [(a.status_code, a.text) for a in answers] == [(200, "success")] * 3
    assert state(app, number)[0] == before  # the order is left as it was
    assert ledger(app, "late_payment") == [("13800138000", PRICE)]
    with app.app_context():
        statuses = db.session.scalars(
            select(Payment.status).where(Payment.transaction_id == "B-LATE")
        ).all()
        assert statuses == ["credited"]
        order = db.session.scalar(select(Order).where(Order.number == number))
        seen_by_staff = [e for e in fulfilment.timeline(order) if e.what == "迟到的付款存入余额"]
        assert len(seen_by_staff) == 1 and "B-LATE" in seen_by_staff[0].note
    shown = client.get(f"/pay/{number}?ver=basic").text
    if how != "paid":
        assert "已存入余额" in shown


def test_a_card_the_processor_took_after_the_buyer_switched_to_cod_is_credited_in_full(
    app, client, product_id, monkeypatch
):
    def unreachable(url, fields, timeout=10.0):
        raise http.Unreachable("timed out")  # ...but the processor did take the card

    monkeypatch.setattr(http, "post_form", unreachable)
    number = place(client, product_id, "card")
    token = token_in(client.get(f"/pay/{number}").text)
    client.post(f"/pay/{number}/card", data=card_form(token))
    assert client.post(f"/pay/{number}/cod", data={"csrf_token": token}).status_code == 303
    notice = card_notice(only_payment(app, number).reference, "C-LATE", 10_000)
    assert [client.post("/pay/notify/card", data=notice).text for _ in range(2)] == ["success"] * 2
    assert state(app, number)[:2] == ("placed", {"credited": 1})
    assert ledger(app, "late_payment") == [("13800138000", 10_000)]  # the card's face value


# --- 3. Twenty copies of one success at once: every one answered `success`.


def test_twenty_simultaneous_copies_of_a_success_are_all_answered_success(
    app, client, runner, product_id
):
    """Three orders paid, and one switched to cash on delivery first, whose success goes to
    the balance: twenty copies of each success at once, every answer `success`, each taken
    once."""
    orders = [place(client, product_id, "bank") for _ in range(4)]
    notices = [bank_notice(start_bank(client, n), transaction_id=f"B{i}") for i, n in
               enumerate(orders)]  # fmt: skip
    *paid, switched = orders
    stop_waiting(app, client, runner, switched, "cod")
    server = LiveServer(app, workers=4, threads=4, SANDBOX_PAYMENTS=True, SANDBOX_NOTIFY_DELAY=-1)
    try:
        answers = []
        for notice in notices:
            ready = threading.Barrier(20)

            def send(_, notice=notice, ready=ready):
                ready.wait()
                return requests.post(f"{server.url}/pay/notify/bank", data=notice, timeout=60)

            with ThreadPoolExecutor(max_workers=20) as pool:
                answers += pool.map(send, range(20))
    finally:
        server.stop()
    assert {(a.status_code, a.text) for a in answers} == {(200, "success")}, [
        a.text for a in answers if a.text != "success"
    ]
    for number in paid:
        status, payments, events, _ = state(app, number)
        assert status == "paid" and payments == {"succeeded": 1} and events == 2
    assert state(app, switched)[:2] == ("placed", {"credited": 1})
    assert ledger(app, "late_payment") == [("13800138000", PRICE)]


# --- 4. Stale notifications, and signatures that are not signatures.


@pytest.mark.parametrize("stamp", ["0", str(int(time.time()) - 3600), "²", "", "1e9"])
def test_a_stale_notification_is_refused_and_changes_nothing(app, client, product_id, stamp):
    number = place(client, product_id, "bank")
    request_fields = start_bank(client, number)
    notice = bank_notice(request_fields, timestamp=stamp)
    response = client.post("/pay/notify/bank", data=notice)
    assert response.status_code == 400 and "stale" in response.text
    assert state(app, number)[:2] == ("awaiting_payment", {"pending": 1})


def test_an_old_copy_of_a_success_already_taken_is_answered_success(app, client, product_id):
    number = place(client, product_id, "bank")
    notice = bank_notice(start_bank(client, number), timestamp=str(int(time.time()) - 5))
    assert client.post("/pay/notify/bank", data=notice).text == "success"
    later = bank_notice(
        start_bank_fields(notice), timestamp=str(int(time.time()) - 3600), nonce="n2"
    )
    assert (client.post("/pay/notify/bank", data=later).text) == "success"
    assert state(app, number)[:2] == ("paid", {"succeeded": 1})


def start_bank_fields(notice: dict) -> dict:
    return {k: notice[k] for k in ("merchant_id", "reference", "amount_fen")}


def test_the_sandbox_retries_with_a_fresh_timestamp(app, client, product_id):
    """A processor's retry is stamped anew: a notification kept for an hour still pays."""
    from wapshop import sandbox

    number = place(client, product_id, "bank")
    old = bank_notice(start_bank(client, number), timestamp=str(int(time.time()) - 3600))
    with app.app_context(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(http, "post_form", in_process(app))
        note = sandbox.record("bank", f"{BASE}/pay/notify/bank", old)
        assert sandbox.deliver(note.id) == ["200 success"]
    assert state(app, number)[:2] == ("paid", {"succeeded": 1})


def in_process(app):
    shop = app.test_client()

    def post_form(url, fields, timeout=10.0):
        response = shop.post(urlsplit(url).path, data=fields)
        return response.status_code, response.text

    return post_form


@pytest.mark.parametrize("sign", ["²", "zz", "0" * 63, "é" * 64, "", "A" * 64])
def test_a_signature_that_is_not_one_is_a_4xx(app, client, product_id, sign):
    number = place(client, product_id, "bank")
    notice = {**bank_notice(start_bank(client, number)), "sign": sign}
    response = client.post("/pay/notify/bank", data=notice)
    assert response.status_code == 400 and response.text == "refused: bad signature"
    assert state(app, number)[:2] == ("awaiting_payment", {"pending": 1})


# --- 5. Outward URLs from configuration, never from the Host header.

EVIL = {"Host": "evil.example"}


def forge_host(client, app) -> None:
    """The session's cookie goes to the forged host too, as a browser behind it would send."""
    name = app.config["SESSION_COOKIE_NAME"]
    client.set_cookie(name, client.get_cookie(name).value, domain="evil.example")


def test_a_forged_host_never_reaches_the_card_processor(app, client, product_id, processor):
    number = place(client, product_id, "card")
    token = token_in(client.get(f"/pay/{number}").text)
    forge_host(client, app)
    response = client.post(f"/pay/{number}/card", data=card_form(token), headers=EVIL)
    assert response.status_code == 303
    [(url, fields)] = processor
    assert url == f"{BASE}/sandbox/card/submit"
    assert fields["notify_url"] == f"{BASE}/pay/notify/card"
    assert "evil.example" not in repr(processor)


def test_a_forged_host_never_reaches_the_bank(app, client, product_id):
    number = place(client, product_id, "bank")
    token = token_in(client.get(f"/pay/{number}").text)
    forge_host(client, app)
    response = client.post(f"/pay/{number}/bank", data={"csrf_token": token}, headers=EVIL)
    target = response.headers["Location"]
    assert target.startswith(f"{BASE}/sandbox/bank/pay?")
    assert "evil.example" not in unquote(target)
    fields = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
    assert fields["notify_url"] == f"{BASE}/pay/notify/bank"
    assert fields["return_url"].startswith(f"{BASE}/pay/{number}/return?")


def test_payment_methods_are_known_outside_a_request(app):
    """Issue 13: a script placing an order with the sandboxes on reached url_for."""
    with app.app_context():
        settings = Settings.from_config(app.config)
        assert by_code("card", settings) is not None and by_code("bank", settings) is not None


def test_a_script_places_orders_outside_a_request(tmp_path):
    """Issue 13: with the sandboxes on, a script or cron job (an app, no request) places a
    cash-on-delivery order and a bank one."""
    app = make_app(tmp_path, SANDBOX_PAYMENTS=True)
    with app.app_context():
        make_regions()
        pid = make_product(shop_price_fen=PRICE, stock=10).id
        db.session.commit()
    with app.app_context():
        settings = Settings.from_config(app.config)
        for method in ("cod", "bank"):
            wanted = checkout.OrderRequest(
                product_id=pid,
                quantity=1,
                receiver_name="张三",
                phone="13800138000",
                region_code=COVERED,
                street="科技园 1 号",
                payment_method=method,
                form_token=f"script-{method}",
                seen_price_fen=PRICE,
                seen_deal_id=None,
            )
            checkout.place_order(wanted, utcnow(), settings)
        db.session.commit()
    with app.app_context():
        placed = dict(db.session.execute(select(Order.payment_method, Order.status)).all())
        assert placed == {"cod": "placed", "bank": "awaiting_payment"}
        db.session.remove()  # give the connection back before the pool goes: none left open
        db.engine.dispose()


def test_without_a_public_address_real_processors_stay_off(tmp_path):
    app = make_app(tmp_path, CARD_PROCESSOR_URL="https://cards.example/submit", CARD_KEY="k")
    with app.app_context():
        assert by_code("card", Settings.from_config(app.config)) is None
    with app.app_context():
        app.config["PUBLIC_BASE_URL"] = "https://shop.example"
        assert by_code("card", Settings.from_config(app.config)) is not None
        db.session.remove()
        db.engine.dispose()


# --- 6. The bank return link: short-lived, and read-only for whoever else holds it.


def bank_return_link(client, number) -> str:
    url = start_bank(client, number)["return_url"]
    return url.removeprefix(BASE)


def test_a_stranger_with_the_return_link_sees_the_state_but_cannot_act(app, client, product_id):
    number = place(client, product_id, "bank")
    link = bank_return_link(client, number)
    stranger = app.test_client()
    page = stranger.get(link)
    assert page.status_code == 200 and number in page.text
    assert "13800138000" not in page.text and "张三" not in page.text
    assert "csrf_token" not in page.text and "改为货到付款" not in page.text
    # The link granted nothing: the order stays out of the stranger's reach.
    assert stranger.get(f"/o/{number}").status_code == 404
    token = token_in(stranger.get("/o/find?ver=basic").text)  # a valid form token of their own
    assert stranger.post(f"/o/{number}/cancel", data={"csrf_token": token}).status_code == 404
    assert stranger.post(f"/pay/{number}/cod", data={"csrf_token": token}).status_code == 404
    assert state(app, number)[0] == "awaiting_payment"


def test_the_buyer_coming_back_goes_on_to_the_pay_page(app, client, product_id):
    number = place(client, product_id, "bank")
    link = bank_return_link(client, number)
    back = client.get(link)
    assert back.status_code == 303 and urlsplit(back.headers["Location"]).path == f"/pay/{number}"


def test_the_return_link_expires(app, client, product_id, monkeypatch):
    number = place(client, product_id, "bank")
    link = bank_return_link(client, number)
    assert app.test_client().get(link).status_code == 200
    later = int(time.time()) + app.config.get("BANK_RETURN_MAX_AGE", 3600) + 1
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda _s: later)
    expired = app.test_client().get(link)
    assert expired.status_code == 410 and "链接已过期" in expired.text


@pytest.mark.parametrize("rendition", ["wml", "basic", "touch"])
def test_the_read_only_return_page_is_valid_markup_within_budget(
    app, client, product_id, rendition
):
    number = place(client, product_id, "bank")
    link = bank_return_link(client, number)
    assert "ver=" in link  # the version chosen before the bank survives the trip
    page = app.test_client().get(re.sub(r"ver=\w+", f"ver={rendition}", link))
    assert page.status_code == 200 and number in page.text
    assert len(page.data) <= BUDGET[rendition]
    if rendition != "touch":
        validate(page.data)
