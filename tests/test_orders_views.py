"""Finding an order again: who may open it, guest lookup by phone + number, throttling."""

import re

import pytest

from factories import make_product, make_regions
from support.buyers import confirm_form
from support.pages import token_in

PHONE = "13800138000"


@pytest.fixture
def placed(app, client):
    """An order placed by `client`; returns its number."""
    with app.app_context():
        make_regions()
        pid = make_product().id
        from wapshop.extensions import db

        db.session.commit()
    response = client.post(f"/buy/{pid}", data=confirm_form(client, pid))
    return re.search(r"/buy/done/(\d{10})", response.headers["Location"]).group(1)


def lookup(client, phone, number):
    page = client.get("/o/find")
    token = token_in(page.text)
    return client.post("/o/find", data={"csrf_token": token, "phone": phone, "number": number})


def test_order_numbers_are_ten_random_digits(app, client, placed):
    assert re.fullmatch(r"[1-9]\d{9}", placed)


def test_the_placing_session_sees_its_order_and_the_history(client, placed):
    page = client.get(f"/o/{placed}?ver=basic").text
    assert "已下单，等待确认" in page and "取消订单" in page


def test_another_visitor_cannot_open_the_order_by_number(app, placed):
    stranger = app.test_client()
    assert stranger.get(f"/o/{placed}").status_code == 404
    assert stranger.get(f"/buy/done/{placed}").status_code == 404
    assert stranger.post(f"/o/{placed}/cancel").status_code == 404


def test_a_guest_finds_the_order_with_phone_and_number(app, placed):
    guest = app.test_client()
    response = lookup(guest, "+86 138 0013 8000", placed)
    assert response.status_code == 303
    assert guest.get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize(
    "phone,number,status",
    [
        ("13900139000", None, 404),
        (PHONE, "1234567890", 404),
        (PHONE, "abc", 400),
        ("123", None, 400),
        ("", "", 400),
    ],
)
def test_lookup_with_wrong_details_says_so(app, placed, phone, number, status):
    guest = app.test_client()
    response = lookup(guest, phone, placed if number is None else number)
    assert response.status_code == status
    assert guest.get(f"/o/{placed}").status_code == 404


def test_guessing_order_numbers_is_throttled(app, placed):
    guest = app.test_client()
    for n in range(app.config["THROTTLE_LIMIT"]):
        assert lookup(guest, PHONE, f"100000000{n}").status_code == 404
    response = lookup(guest, PHONE, placed)
    assert response.status_code == 429 and "分钟后再试" in response.text
