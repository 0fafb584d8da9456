"""Buyers in tests: the order form with good input, registering (with the texted code) and
logging in."""

import re

from sqlalchemy import select

from factories import COVERED
from support.pages import csrf
from wapshop.extensions import db
from wapshop.models import OutboxMessage
from wapshop.services import phones

PHONE, PASSWORD = "13912345678", "s3cret-pass"


def confirm_form(client, product_id, region=COVERED, ver="touch") -> dict:
    """GET the confirmation page and return its hidden fields plus good buyer input."""
    page = client.get(f"/buy/{product_id}?region={region}&ver={ver}")
    assert page.status_code == 200, page.text
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    return {
        **hidden,
        "quantity": "1",
        "name": "张三",
        "phone": "13800138000",
        "street": "科技园路1号101室",
        "payment": "cod",
    }


def sent_code(app, phone=PHONE) -> str:
    """The code in the last SMS sent to the phone (read from the outbox, as the phone would)."""
    with app.app_context():
        body = db.session.scalar(
            select(OutboxMessage.body)
            .where(OutboxMessage.phone == phone, OutboxMessage.kind.startswith("code"))
            .order_by(OutboxMessage.id.desc())
        )
    return re.search(r"验证码(\d{6})", body).group(1)


def register(client, phone=PHONE, password=PASSWORD, confirm=None):
    """Register through both steps: the form, then the code texted to the phone. Returns the
    first refusal, or the answer to the code."""
    asked = client.post(
        "/u/register",
        data={
            "csrf_token": csrf(client, "/u/register"),
            "phone": phone,
            "password": password,
            "confirm": confirm or password,
        },
    )
    if asked.status_code != 303 or "/u/register/code" not in asked.headers["Location"]:
        return asked
    code_page = asked.headers["Location"]
    code = sent_code(client.application, phones.normalise(phone))
    return client.post(code_page, data={"csrf_token": csrf(client, code_page), "code": code})


def login(client, phone=PHONE, password=PASSWORD):
    return client.post(
        "/u/login",
        data={"csrf_token": csrf(client, "/u/login"), "phone": phone, "password": password},
    )
