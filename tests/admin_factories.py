"""Back-office test helpers: staff accounts, logging in, posting forms with their CSRF token."""

import itertools
import re

from werkzeug.security import generate_password_hash

from factories import make_seller
from wapshop.extensions import db
from wapshop.models import Staff

PASSWORD = "correct-horse-9"
_HASH = generate_password_hash(PASSWORD)  # scrypt is slow on purpose: hash once per run
_seq = itertools.count(1)


def make_staff(role: str = "operator", **overrides) -> Staff:
    if role == "seller" and "seller_id" not in overrides:
        overrides["seller_id"] = make_seller().id
    staff = Staff(
        **{
            "username": f"{role}{next(_seq)}",
            "name": f"{role}员工",
            "role": role,
            "password_hash": _HASH,
            **overrides,
        }
    )
    db.session.add(staff)
    db.session.flush()
    return staff


def csrf(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)


def login(client, username: str, password: str = PASSWORD):
    return client.post(
        "/admin/login",
        data={
            "csrf_token": csrf(client, "/admin/login"),
            "username": username,
            "password": password,
        },
    )


def log_in_as(app, client, role: str = "operator", **overrides) -> dict:
    """A new staff member of `role`, logged in on `client`; returns its id and seller id."""
    with app.app_context():
        staff = make_staff(role, **overrides)
        db.session.commit()
        who = {"id": staff.id, "username": staff.username, "seller_id": staff.seller_id}
    assert login(client, who["username"]).status_code == 303
    return who


def post_form(client, url: str, data: dict, form_page: str | None = None, **kwargs):
    """POST data with the CSRF token taken from the page that shows the form."""
    token = csrf(client, form_page or url)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)
