"""Issue 12, sessions and access: what an attacker tried, and what must hold now.

A sid in a link never becomes a cookie and every grant of access moves the session to a
fresh sid; logs never hold a secret; sellers see nothing of other sellers' orders; a new
staff password ends the other sessions; guessing is throttled per account and address,
atomically, without locking the owner out; next= stays on the site; a phone is bound to an
account only with the SMS code sent to it."""

import re
import runpy
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from conftest import LiveServer, sid_of
from factories import COVERED, make_product, make_regions
from support.buyers import login, PASSWORD, PHONE, register, sent_code
from support.fulfilment import place_order
from support.pages import csrf, token_in
from support.staff import (
    log_in_as,
    login as staff_login,
    make_staff,
    PASSWORD as STAFF_PASSWORD,
    staff_client,
)
from wapclient import FlaskTransport, WapClient, only_sid
from wapshop import ROOT
from wapshop.web import logs
from wapshop.extensions import db
from wapshop.models import Buyer, Order, OutboxMessage
from wapshop.clock import utcnow
from wapshop.services import accounts, phones

OTHER_ADDR = "10.9.8.7"
WML = ("UP.Browser/4.1.26l UP.Link/4.2.3.5", "text/vnd.wap.wml")


@pytest.fixture
def product(app):
    with app.app_context():
        make_regions()
        pid = make_product(stock=50).id
        db.session.commit()
    return pid


def client_at(app, addr: str):
    """A browser whose requests come from this address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    return client


def cookieless_sid(app) -> str:
    """The attacker: a session of their own, its sid read from a page's links."""
    attacker = app.test_client(use_cookies=False)
    return sid_of(attacker.get("/?ver=basic").text)


def confirmation(client, pid, sid: str | None = None) -> tuple[str, dict]:
    """The order form's action and a good COD order (opened with this sid, if given)."""
    suffix = f"&sid={sid}" if sid else ""
    page = client.get(f"/buy/{pid}?region={COVERED}&ver=basic{suffix}")
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    action = re.search(r'<form action="([^"]+)" method="post"', page.text).group(1)
    form = {**hidden, "quantity": "1", "name": "张三", "phone": "13800138000"}
    return action.replace("&amp;", "&"), form | {"street": "科技园路1号", "payment": "cod"}


def place(client, pid, sid: str | None = None):
    action, form = confirmation(client, pid, sid)
    return client.post(action, data=form)


def ask_to_register(client, phone=PHONE):
    return client.post(
        "/u/register",
        data={
            "csrf_token": csrf(client, "/u/register"),
            "phone": phone,
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )


def login_at(client, url: str, username: str | None = None):
    """Log in by posting the login form to `url` (a buyer, or staff with `username`)."""
    if username is None:
        fields = {"csrf_token": csrf(client, "/u/login"), "phone": PHONE, "password": PASSWORD}
    else:
        token = csrf(client, "/admin/login")
        fields = {"csrf_token": token, "username": username, "password": STAFF_PASSWORD}
    return client.post(url, data=fields)


# --- 1. Session fixation through links.


def test_a_sid_from_a_link_never_becomes_a_cookie(app):
    sid = cookieless_sid(app)
    victim = app.test_client()
    page = victim.get(f"/?sid={sid}&ver=basic")
    assert page.status_code == 200
    assert victim.get_cookie("wsid") is None, "the shared sid was set as the victim's cookie"
    assert "set-cookie" not in page.headers
    # The link's session still works for a phone without cookies: it travels in the links.
    assert sid_of(page.text) == sid


def test_a_fresh_visitor_still_gets_a_cookie_and_keeps_it(app):
    visitor = app.test_client()
    visitor.get("/?ver=basic")
    first = visitor.get_cookie("wsid").value
    visitor.get("/?ver=basic")
    assert visitor.get_cookie("wsid").value == first


@pytest.mark.parametrize("cookies", [False, True], ids=["cookieless", "cookies"])
def test_placing_an_order_moves_the_victims_session_away_from_the_shared_sid(app, product, cookies):
    sid = cookieless_sid(app)
    victim = app.test_client(use_cookies=cookies)
    placed = place(victim, product, sid)
    assert placed.status_code == 303
    number = re.search(r"/buy/done/(\d{10})", placed.headers["Location"]).group(1)
    if cookies:
        assert victim.get_cookie("wsid").value != sid
        assert victim.get(f"/o/{number}").status_code == 200
    else:
        fresh = sid_of(placed.headers["Location"])
        assert fresh and fresh != sid
        assert victim.get(placed.headers["Location"]).status_code == 200
        assert victim.get(f"/o/{number}?sid={fresh}").status_code == 200
    # The attacker's sid reads nothing of the victim's order (name, phone, address).
    attacker = app.test_client(use_cookies=False)
    assert attacker.get(f"/o/{number}?sid={sid}").status_code == 404
    assert number not in attacker.get(f"/o?sid={sid}").text


def test_a_confirmation_sent_twice_still_shows_its_one_order(app, product):
    phone = app.test_client(use_cookies=False)
    sid = cookieless_sid(app)
    action, form = confirmation(phone, product, sid)
    first = phone.post(action, data=form)
    again = phone.post(action, data=form)  # the old sid, resent
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"].split("?")[0] == again.headers["Location"].split("?")[0]
    assert phone.get(again.headers["Location"]).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 1


def test_finding_an_order_moves_the_session_to_a_fresh_sid(app, product):
    buyer = app.test_client()
    number = re.search(r"/buy/done/(\d{10})", place(buyer, product).headers["Location"])[1]
    sid = cookieless_sid(app)
    victim = app.test_client(use_cookies=False)
    page = victim.get(f"/o/find?sid={sid}&ver=basic")
    token = token_in(page.text)
    found = victim.post(
        f"/o/find?sid={sid}",
        data={"csrf_token": token, "phone": "13800138000", "number": number},
    )
    assert found.status_code == 303
    fresh = sid_of(found.headers["Location"])
    assert fresh and fresh != sid
    assert victim.get(found.headers["Location"]).status_code == 200
    assert app.test_client().get(f"/o/{number}?sid={sid}").status_code == 404


def test_staff_logging_in_on_a_shared_link_leaves_the_attacker_outside(app):
    with app.app_context():
        username = make_staff("operator").username
        db.session.commit()
    sid = cookieless_sid(app)
    staff = app.test_client(use_cookies=False)
    page = staff.get(f"/admin/login?sid={sid}")
    token = token_in(page.text)
    response = staff.post(
        f"/admin/login?next=/admin/deals/%3Fsid%3D{sid}&sid={sid}",
        data={"csrf_token": token, "username": username, "password": STAFF_PASSWORD},
    )
    assert response.status_code == 303
    target = response.headers["Location"]
    fresh = sid_of(target)
    assert target.startswith("/admin/deals/") and fresh and fresh != sid
    assert staff.get(target).status_code == 200  # the cookie-less client goes on, on the new sid
    assert app.test_client(use_cookies=False).get(f"/admin/deals/?sid={sid}").status_code == 303


def test_a_logged_in_sid_in_a_link_does_not_put_the_victim_in_the_attackers_account(app):
    with app.test_client() as setup:
        register(setup)
    attacker = app.test_client(use_cookies=False)
    attacker.environ_base["HTTP_USER_AGENT"] = "Nokia6300/2.0 (attacker)"
    page = attacker.get("/u/login?ver=basic")
    fields = {"csrf_token": token_in(page.text), "phone": PHONE, "password": PASSWORD}
    response = attacker.post(f"/u/login?sid={sid_of(page.text)}", data=fields)
    shared = sid_of(response.headers["Location"])
    assert PHONE in attacker.get(f"/u?sid={shared}").text  # the attacker's own phone goes on
    victim = app.test_client()
    victim.environ_base["HTTP_USER_AGENT"] = "SonyEricssonK750i (victim)"
    assert victim.get(f"/u?sid={shared}").status_code == 302  # to the login: not logged in
    home = victim.get(f"/?sid={shared}&ver=basic")
    assert sid_of(home.text) != shared


# --- 2. No secret in the access log.


def test_the_access_log_line_holds_no_sid_nor_token(tmp_path):
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", conf["access_log_format"] + ' "%(f)s" %({location}o)s %(q)s')
    cfg.set("logger_class", conf["logger_class"])
    logger = cfg.logger_class(cfg)
    sid, token = "AbCdEfGhIjKlMnOp", "tok3n-s3cret"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/pay/12/return?t={token}&page=2&sid={sid}",
        "PATH_INFO": "/pay/12/return",
        "QUERY_STRING": f"t={token}&page=2&sid={sid}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_REFERER": f"http://shop.example/o?%73id={sid}",
        "HTTP_USER_AGENT": "Nokia6300",
    }
    response = SimpleNamespace(
        status="303 See Other", sent=0, headers=[("Location", f"/o/1?sid={sid}")]
    )
    request = SimpleNamespace(headers=[("COOKIE", f"wsid={sid}")])
    logger.access(response, request, environ, timedelta(milliseconds=12))
    for handler in logger.access_log.handlers:
        handler.close()
    logger.access_log.handlers.clear()
    line = (tmp_path / "access.log").read_text()
    assert '"GET /pay/12/return?page=2 HTTP/1.1" 303' in line
    assert sid not in line and token not in line


@pytest.mark.parametrize(
    "url,logged",
    [
        ("/o?sid=AbCdEfGhIjKlMnOp", "/o"),
        ("/c/3?page=2&sid=x&ver=wml", "/c/3?page=2&ver=wml"),
        ("GET /pay/1/return?t=abc HTTP/1.1", "GET /pay/1/return HTTP/1.1"),
        ("/p/1", "/p/1"),
    ],
)
def test_urls_are_scrubbed_of_secret_parameters(url, logged):
    assert logs.scrub_url(url) == logged


# --- 3. Sellers see nothing of other sellers' orders, flags included.


def test_a_seller_sees_no_duplicate_flag_naming_another_sellers_order(app, shop):
    phone = "13700137000"
    mine_id, mine, _c = place_order(app, shop["small_product"], phone=phone)
    _theirs_id, theirs, _d = place_order(app, shop["big_product"], phone=phone)
    seller = staff_client(app, "seller", seller_id=shop["small"])
    for url in ("/admin/orders/", f"/admin/orders/{mine_id}", "/admin/queues/address"):
        page = seller.get(url)
        assert page.status_code == 200, url
        assert mine in page.text or url.endswith(str(mine_id))
        assert theirs not in page.text, url
        assert 'title="duplicate"' not in page.text, url
    # The shop's own service staff still see the pair, and the other order's number.
    service = staff_client(app, "service")
    shown = service.get(f"/admin/orders/{mine_id}").text
    assert theirs in shown and 'title="duplicate"' in shown


# --- 4. A new staff password ends that person's other sessions.


def set_password(admin, who: dict, role: str, password: str):
    """An admin saves the staff form of `who` with a new password."""
    url = f"/admin/staff/{who['id']}"
    fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', admin.get(url).text))
    account = {"username": who["username"], "name": "某人", "role": role, "seller_id": "0"}
    return admin.post(url, data={**fields, **account, "active": "y", "password": password})


def test_changing_a_staff_password_ends_their_other_sessions(app):
    admin, worker = app.test_client(), app.test_client()
    log_in_as(app, admin, "admin")
    who = log_in_as(app, worker, "service")
    assert worker.get("/admin/").status_code == 200
    assert set_password(admin, who, "service", "brand-new-pass-1").status_code == 303
    assert worker.get("/admin/").status_code == 303  # logged out
    assert staff_login(app.test_client(), who["username"], "brand-new-pass-1").status_code == 303


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(app):
    here, elsewhere = app.test_client(), app.test_client()
    who = log_in_as(app, here, "admin")
    assert staff_login(elsewhere, who["username"]).status_code == 303
    assert set_password(here, who, "admin", "brand-new-pass-2").status_code == 303
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 303


# --- 5. Throttling slows an attacker without locking the owner out, and counts atomically.


def wrong_login(base_url: str) -> int:
    with requests.Session() as browser:
        page = browser.get(f"{base_url}/u/login?ver=basic", timeout=60)
        token = token_in(page.text)
        return browser.post(
            f"{base_url}/u/login",
            data={"csrf_token": token, "phone": PHONE, "password": "wrong-guess"},
            timeout=60,
            allow_redirects=False,
        ).status_code


def test_parallel_wrong_guesses_never_pass_the_limit_and_the_owner_still_logs_in(app):
    with app.test_client() as setup:
        register(setup)
    limit = app.config["THROTTLE_LIMIT"]
    server = LiveServer(app, workers=2, threads=4)
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(lambda _i: wrong_login(server.url), range(20)))
    finally:
        server.stop()
    assert statuses.count(401) == limit, statuses  # tried: exactly the limit, never more
    assert statuses.count(429) == 20 - limit, statuses
    # The owner, from their own phone's address, is not locked out by the attack.
    owner = client_at(app, OTHER_ADDR)
    assert login(owner).status_code == 303


def test_a_staff_member_is_not_locked_out_by_someone_elses_guesses(app):
    with app.app_context():
        username = make_staff("operator").username
        db.session.commit()
    attacker = app.test_client()
    for _ in range(app.config["THROTTLE_LIMIT"]):
        assert staff_login(attacker, username, "wrong-password").status_code == 401
    assert staff_login(attacker, username).status_code == 429  # the attacker waits
    assert login_at(client_at(app, OTHER_ADDR), "/admin/login", username).status_code == 303


def test_registration_cannot_be_used_to_list_the_phones_with_accounts(app):
    with app.app_context():
        for n in range(3):
            db.session.add(Buyer(phone=f"1390000000{n}", password_hash="x"))
        db.session.commit()
    prober = app.test_client()
    statuses = [
        ask_to_register(prober, f"1390000{n:04d}").status_code
        for n in range(app.config["THROTTLE_ADDR_LIMIT"] + 1)
    ]
    assert statuses[-1] == 429, statuses
    assert statuses.count(409) <= 3


def test_the_throttle_counts_under_a_key_and_its_address_and_forgets_after_a_success(app):
    from wapshop.models import ThrottleCounter
    from wapshop.services import throttle

    limits = throttle.limits_for("login", PHONE, "10.0.0.1", 2, 10)
    window, now = timedelta(minutes=15), utcnow()
    with app.app_context():
        throttle.take(limits, window, now)
        throttle.take(limits, window, now)
        with pytest.raises(throttle.Throttled) as blocked:
            throttle.take(limits, window, now)
        assert blocked.value.retry_after == window.total_seconds()
        # The block ends; reaching the limit again blocks twice as long (growing delays).
        later = now + window + timedelta(seconds=1)
        throttle.take(limits, window, later)
        throttle.take(limits, window, later)
        with pytest.raises(throttle.Throttled) as blocked:
            throttle.take(limits, window, later + window + timedelta(seconds=1))
        assert blocked.value.retry_after == (window - timedelta(seconds=1)).total_seconds()
        # A success starts this phone's count from this address again.
        throttle.succeeded(limits)
        db.session.commit()
        counts = dict(db.session.execute(select(ThrottleCounter.key, ThrottleCounter.hits)).all())
    assert counts == {"login@10.0.0.1": 1}  # two tries in its window, one given back


# --- 6. next= after login: same-site paths only.

HOSTILE_NEXT = [
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example",
    "/\\/evil.example",
    "/%09/evil.example",
    "/%0d%0a/evil.example",
    "%09//evil.example",
    " //evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_buyer_login_never_redirects_off_the_site(app, target):
    with app.app_context():
        db.session.add(Buyer(phone=PHONE, password_hash=generate_password_hash(PASSWORD)))
        db.session.commit()
    response = login_at(app.test_client(), f"/u/login?next={target}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/u"


@pytest.mark.parametrize("target", [*HOSTILE_NEXT, "/%09/admin/", "/admin\\@evil.example"])
def test_staff_login_never_redirects_off_the_back_office(app, target):
    with app.app_context():
        username = make_staff("operator").username
        db.session.commit()
    response = login_at(app.test_client(), f"/admin/login?next={target}", username)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"


def test_a_local_next_is_kept(app):
    with app.test_client() as setup:
        register(setup)
    response = login_at(app.test_client(), "/u/login?next=/o%3Fpage%3D1")
    assert response.headers["Location"] == "/o?page=1"


# --- 7. A phone is bound to an account only with the SMS code sent to it.


def send_code(client, code: str):
    return client.post(
        "/u/register/code",
        data={"csrf_token": csrf(client, "/u/register/code"), "code": code},
    )


def test_registering_a_phone_needs_the_code_texted_to_it(app):
    from wapshop.models import PhoneCode

    client = app.test_client()
    asked = ask_to_register(client)
    assert asked.status_code == 303 and asked.headers["Location"] == "/u/register/code"
    with app.app_context():
        assert db.session.scalar(select(Buyer)) is None, "an account before the phone is proved"
        [message] = db.session.scalars(select(OutboxMessage)).all()
        [row] = db.session.scalars(select(PhoneCode)).all()
        code = re.search(r"验证码(\d{6})", message.body).group(1)
        assert message.phone == PHONE and message.status == "pending"
        assert code not in row.code_hash and len(row.code_hash) == 64  # kept hashed
        assert row.expires_at - row.created_at == app.config["PHONE_CODE_LIFETIME"]
    wrong = "000000" if code != "000000" else "111111"
    refused = send_code(client, wrong)
    assert refused.status_code == 400 and "验证码不对" in refused.text
    with app.app_context():
        assert db.session.scalar(select(Buyer)) is None
    assert send_code(client, code).status_code == 303
    assert PHONE in client.get("/u").text
    with app.app_context():
        assert db.session.scalar(select(Buyer.phone)) == PHONE


def test_a_code_is_single_use_with_limited_tries_and_expires(app):
    secret, now, life = "k", utcnow(), timedelta(minutes=10)
    with app.app_context():
        code_id = phones.send_code(PHONE, "register", secret, now, life)
        code = _code_in_outbox()
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        with pytest.raises(phones.CodeRefused):  # expired
            phones.prove(code_id, PHONE, "register", code, secret, now + life, 5)
        for _ in range(2):
            with pytest.raises(phones.CodeRefused):
                phones.prove(code_id, PHONE, "register", wrong, secret, now, 3)
        assert phones.prove(code_id, PHONE, "register", code, secret, now, 3).phone == PHONE
        with pytest.raises(phones.CodeRefused):  # used
            phones.prove(code_id, PHONE, "register", code, secret, now, 3)
        # A fresh code, tried too often: even the right code is refused afterwards.
        code_id = phones.send_code(PHONE, "register", secret, now, life)
        code = _code_in_outbox()
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        for _ in range(3):
            with pytest.raises(phones.CodeRefused):
                phones.prove(code_id, PHONE, "register", wrong, secret, now, 3)
        with pytest.raises(phones.CodeRefused):
            phones.prove(code_id, PHONE, "register", code, secret, now, 3)
        # Only a proof for registration makes an account.
        with pytest.raises(ValueError):
            accounts.register(phones.ProvenPhone(PHONE, "other"), "hash")


def _code_in_outbox() -> str:
    body = db.session.scalar(select(OutboxMessage.body).order_by(OutboxMessage.id.desc()))
    return re.search(r"验证码(\d{6})", body).group(1)


def test_codes_sent_to_one_phone_are_limited(app):
    answers = []
    for n in range(app.config["PHONE_CODE_PER_PHONE"] + 1):
        client = client_at(app, f"10.0.0.{n + 1}")
        answers.append(ask_to_register(client).status_code)
    assert answers == [303] * app.config["PHONE_CODE_PER_PHONE"] + [429]
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 3


def test_the_wml_phone_registers_through_the_code_page_without_cookies(app):
    phone = WapClient(FlaskTransport(app), *WML)
    phone.open("/u/register?ver=wml")
    asked = phone.submit("注册", {"phone": PHONE, "password": PASSWORD, "confirm": PASSWORD})
    assert asked.status == 200 and "短信验证" in asked.text
    assert len(asked.body) <= 2000
    sid = only_sid(asked)
    done = phone.submit("确定", {"code": sent_code(app)})
    assert done.status == 200 and PHONE in done.text and len(done.body) <= 2000
    assert only_sid(done) != sid  # the account is a grant: a fresh sid
    with app.app_context():
        assert db.session.scalar(select(Buyer.phone)) == PHONE


def test_staff_reading_the_sms_outbox_do_not_see_the_codes(app):
    assert ask_to_register(app.test_client()).status_code == 303
    with app.app_context():
        code = _code_in_outbox()
    operator = staff_client(app, "operator")
    page = operator.get("/admin/outbox/")
    assert page.status_code == 200 and PHONE in page.text
    assert code not in page.text
