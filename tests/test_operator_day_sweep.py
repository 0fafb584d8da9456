"""No raw code reaches a staff page: every back-office page of the demo (30 days of orders in
every status, the audit log included) is read as a person reads it, and no status, payment,
call outcome, message or after-sales code shows."""

import re
from dataclasses import replace

import pytest
from lxml import html
from sqlalchemy import func, select

from support.staff import login, make_staff
from wapshop.extensions import db
from wapshop.models import AuditEntry, Deal, Order, OrderStatus, Ticket
from wapshop.models.ops import CallOutcome
from wapshop.payments import STAFF_LABELS
from wapshop.services import aftersales, deals, notify, staff

CODES = {
    *(str(s) for s in OrderStatus),
    *STAFF_LABELS,
    *(str(o) for o in CallOutcome),
    *notify.STATUS_LABELS,
    *(str(k) for k in notify.KIND_LABELS),
    *(str(s) for s in aftersales.STATUS_LABELS),
    *(str(k) for k in aftersales.KIND_LABELS),
    "create",
    "update",
    "stop",
    "operator",
    "service",
    "delete",
    "_fen",
    "_id",
    "_json",
}
# A code as a word of its own (a waybill "EA…CN" or an English name is not "cod").
RAW = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, sorted(CODES))) + r")(?![A-Za-z0-9])"
)


# The fulfilment pages also name the shop's versions in words (the catalogue pages list them
# as codes on purpose: that is how deals and collections are configured).
RENDITION = re.compile(r"(?<![A-Za-z0-9_])(wml|basic|color|touch)(?![A-Za-z0-9])")


def visible_text(page: str) -> str:
    """What a person reads: the body's text without scripts, styles or attribute values."""
    doc = html.fromstring(page)
    for hidden in doc.xpath("//script|//style|//head"):
        hidden.drop_tree()
    return doc.text_content()


def admin_pages(app) -> list[str]:
    """Every GET page of the back office without an argument, one order in each status, each
    after-sales ticket's page and the audit log of each kind of record."""
    pages = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin")
        and "GET" in rule.methods
        and not rule.arguments
        and not rule.rule.endswith((".csv", "/logout", "/login"))
    ]
    with app.app_context():
        one_per_status = db.session.scalars(select(func.min(Order.id)).group_by(Order.status)).all()
        tickets = db.session.scalars(select(Ticket.id).limit(5)).all()
        entities = db.session.scalars(select(AuditEntry.entity).distinct()).all()
    pages += [f"/admin/orders/{i}" for i in one_per_status]
    pages += [f"/admin/aftersales/{i}" for i in tickets]
    pages += [f"/admin/audit/?entity={e}" for e in entities]
    return pages


@pytest.fixture(scope="module")
def admin(demo_app):
    """An admin logged in to the demo, after changes that the audit log records: an account
    made and its role changed, a deal stopped."""
    with demo_app.app_context():
        me = make_staff("admin")
        data = staff.StaffInput("sweeper", "巡检", "operator", None)
        account = staff.create_staff(data, "long-enough-9", me)
        staff.update_staff(account, replace(data, role="service", active=False), None, me)
        deals.stop_deal(db.session.scalars(select(Deal).limit(1)).one(), me)
        username = me.username
        db.session.commit()
    client = demo_app.test_client()
    assert login(client, username).status_code == 303
    return client


def test_the_demo_has_orders_in_most_statuses(demo_app):
    with demo_app.app_context():
        statuses = set(db.session.scalars(select(Order.status).distinct()))
    assert {"delivered", "refused", "settled", "cancelled", "shipped"} <= statuses


def test_no_staff_page_of_the_demo_shows_a_raw_code(demo_app, admin):
    found = {}
    pages = admin_pages(demo_app)
    assert len(pages) > 25
    for url in pages:
        response = admin.get(url)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        text = visible_text(response.text)
        raw = sorted(set(RAW.findall(text)))
        if url.startswith(("/admin/orders", "/admin/queues", "/admin/shipping")):
            raw += sorted(set(RENDITION.findall(text)))
        if raw:
            found[url] = raw
    assert found == {}
