"""Accounts: register (phone proved by an SMS code), log in (throttled, new sid), remembered
addresses, orders list."""

import re

import pytest
from sqlalchemy import select

from conftest import sid_of
from factories import COVERED, make_product, make_regions
from support.buyers import PASSWORD, PHONE, confirm_form, login, register
from support.pages import csrf
from support.pages import token_in
from wapshop.extensions import db
from wapshop.models import Buyer


def test_register_stores_a_slow_salted_hash_and_logs_in(app, client):
    assert register(client, phone="+86 139-1234-5678").status_code == 303
    with app.app_context():
        buyer = db.session.scalar(select(Buyer))
        assert buyer.phone == PHONE
        assert buyer.password_hash.startswith("scrypt:") and PASSWORD not in buyer.password_hash
    assert PHONE in client.get("/u").text


@pytest.mark.parametrize(
    "phone,password,confirm,message",
    [
        ("12345", PASSWORD, None, "11位手机号"),
        (PHONE, "12345", None, "密码请设6到128位"),
        (PHONE, PASSWORD, "different", "两次输入的密码不一样"),
        (PHONE, "x" * 10_000, None, "密码请设6到128位"),
    ],
)
def test_register_refuses_bad_input(app, client, phone, password, confirm, message):
    response = register(client, phone, password, confirm)
    assert response.status_code == 400 and message in response.text
    with app.app_context():
        assert db.session.scalar(select(Buyer)) is None


def test_register_twice_with_one_phone_is_refused(client):
    register(client)
    client.post("/u/logout", data={"csrf_token": csrf(client, "/u")})
    response = register(client)
    assert response.status_code == 409 and "已经注册过了" in response.text


def test_login_replaces_the_session_id(app):
    phone = app.test_client(use_cookies=False)
    with app.test_client() as setup:
        register(setup)
    page = phone.get("/u/login?ver=basic")
    before = sid_of(page.text)
    token = token_in(page.text)
    response = phone.post(
        f"/u/login?sid={before}", data={"csrf_token": token, "phone": PHONE, "password": PASSWORD}
    )
    assert response.status_code == 303
    after = re.search(r"sid=([\w-]{16})", response.headers["Location"]).group(1)
    assert after != before
    # The old sid is dead; the new one is logged in.
    assert PHONE not in phone.get(f"/u?sid={before}").text
    assert PHONE in phone.get(f"/u?sid={after}").text


def test_wrong_passwords_are_throttled_per_phone(app, client):
    register(client)
    client.post("/u/logout", data={"csrf_token": csrf(client, "/u")})
    for _ in range(app.config["THROTTLE_LIMIT"]):
        assert login(client, password="wrong-one").status_code == 401
    blocked = login(client)  # even the right password waits now
    assert blocked.status_code == 429 and "分钟后再试" in blocked.text
    from wapshop.models import ThrottleCounter

    with app.app_context():
        # Every try counted, under this phone from this address and under the address.
        counts = db.session.scalars(
            select(ThrottleCounter.hits).where(ThrottleCounter.key.startswith("login"))
        ).all()
        assert counts == [app.config["THROTTLE_LIMIT"]] * 2


def test_unknown_phone_and_wrong_password_read_the_same(client):
    register(client)
    client.post("/u/logout", data={"csrf_token": csrf(client, "/u")})
    unknown = login(client, phone="13700000000")
    wrong = login(client, password="nope-nope")
    assert unknown.status_code == wrong.status_code == 401
    assert "手机号或密码不对" in unknown.text and "手机号或密码不对" in wrong.text


def test_account_remembers_the_last_address_for_one_step_buying(app, client):
    with app.app_context():
        make_regions()
        product = make_product()
        db.session.commit()
        pid = product.id
    register(client)
    form = {**confirm_form(client, pid), "street": "桃园路2号", "name": "李四"}
    assert client.post(f"/buy/{pid}", data=form).status_code == 303
    # Next time the confirmation opens straight on the form, pre-filled.
    page = client.get(f"/buy/{pid}").text
    assert 'value="桃园路2号"' in page and 'value="李四"' in page and f'value="{COVERED}"' in page
    listed = client.get("/o").text
    assert listed.count("/o/") >= 1


def test_login_redirects_only_to_our_own_pages(client):
    register(client)
    client.post("/u/logout", data={"csrf_token": csrf(client, "/u")})
    token = csrf(client, "/u/login")
    for target in ("https://evil.example/", "//evil.example/x"):
        response = client.post(
            f"/u/login?next={target}",
            data={"csrf_token": token, "phone": PHONE, "password": PASSWORD},
        )
        assert "evil" not in response.headers["Location"]
        client.post("/u/logout", data={"csrf_token": csrf(client, "/u")})
        token = csrf(client, "/u/login")


@pytest.mark.parametrize("ver", ["wml", "basic", "touch"])
def test_my_orders_lists_product_names_status_words_and_totals(app, client, ver):
    """A logged-in buyer's list, from another session: product names, not only numbers."""
    with app.app_context():
        make_regions()
        shoe = make_product(title="帆布鞋 经典款", shop_price_fen=8900)
        bag = make_product(title="双肩包 防水", shop_price_fen=4500)
        db.session.commit()
        ids = (shoe.id, bag.id)
    register(client)
    for pid in ids:
        assert client.post(f"/buy/{pid}", data=confirm_form(client, pid)).status_code == 303
    elsewhere = app.test_client()
    login(elsewhere)
    listed = re.sub(r"<[^>]+>", " ", elsewhere.get(f"/o?ver={ver}").text)
    assert "帆布鞋 经典款" in listed and "双肩包 防水" in listed
    assert listed.count("已下单，等待确认") == 2
    assert "￥89.00" in listed and "￥45.00" in listed
