"""Back-office accounts for tests: making staff, logging them in."""

import itertools

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from factories import make_seller
from support.pages import csrf
from wapshop.extensions import db
from wapshop.models import Staff

PASSWORD = "correct-horse-9"
_HASH = generate_password_hash(PASSWORD)  # scrypt is slow on purpose: hash once per run
_seq = itertools.count(1)


def make_staff(role: str = "operator", **overrides) -> Staff:
    """A staff member of `role` in the current app context (flushed, not committed); a
    seller account gets a new seller unless `seller_id` is given."""
    if role == "seller" and overrides.get("seller_id") is None:
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


def add_staff(app, role: str, seller_id: int | None = None, username: str | None = None) -> str:
    """Arrange, in its own app context: a committed staff member of `role`; its username."""
    overrides = {"seller_id": seller_id} | ({"username": username} if username else {})
    with app.app_context():
        name = make_staff(role, **overrides).username
        db.session.commit()
    return name


def staff_named(username: str) -> Staff:
    """The Staff row of a username, in the current app context."""
    return db.session.scalar(select(Staff).where(Staff.username == username))


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


def staff_client(app, role: str, seller_id: int | None = None, username: str | None = None):
    """A browser logged in to the back office as a new staff member of `role`."""
    username = add_staff(app, role, seller_id, username)
    client = app.test_client()
    response = login(client, username)
    assert response.status_code == 303, response.text
    client.username = username
    return client
