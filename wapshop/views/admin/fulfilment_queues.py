"""The work queues: addresses to check, calls to make (and the next one to make), parcels to
ship, deliveries to close. Each row carries its action's form, posting to the order's own
action (views/admin/fulfilment_orders.py) and coming back here; a refused row is shown again
in its queue with the message next to it and everything typed still in it (`again`)."""

from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from wapshop.extensions import db
from wapshop.forms.admin.fulfilment import AddressForm, ButtonForm, DeliveryForm, ShipForm
from wapshop.clock import utcnow
from wapshop.parsing import parse_int
from wapshop.services import fulfilment
from wapshop.services.pagination import PageOutOfRange
from wapshop.views import page_arg
from wapshop.web.sessions import local_target
from wapshop.views.admin.access import current_staff, seller_scope, staff_required
from wapshop.views.admin.helpers import (
    ROLES,
    expecting,
    fulfilment_settings,
    order_flags,
)

bp = Blueprint("fulfilment_queues", __name__, url_prefix="/queues")
TABS = (
    ("address", "地址审核", "admin.fulfilment_queues.address", ROLES["address"]),
    ("calls", "电话确认", "admin.fulfilment_queues.calls", ROLES["call"]),
    ("ship", "待发货", "admin.fulfilment_queues.shipping", ROLES["ship"]),
    ("delivery", "配送结果", "admin.fulfilment_queues.delivery", ROLES["delivery"]),
)


def queue_tabs(on: str) -> dict:
    staff = current_staff()
    if staff is None:
        return {}
    counts = fulfilment.queue_counts(staff, seller_scope(), utcnow())
    tabs = [
        (label, url_for(endpoint), counts[key], key == on)
        for key, label, endpoint, roles in TABS
        if fulfilment.may(staff, key if key != "calls" else "call")
    ]
    return {"queue_tabs": tabs, "invalid_count": counts["invalid"]}


def page_of(fetch, number: int, *args, **kwargs):
    try:
        return fetch(number, current_app.config["ADMIN_PAGE_SIZE"], *args, **kwargs)
    except PageOutOfRange:
        abort(404)


def _forms(rows, form_class, here, overrides, **kwargs) -> dict:
    forms = {o.id: expecting(o, form_class, here, **kwargs) for o in rows}
    forms.update({k: v for k, v in overrides.items() if k in forms})
    return forms


def address_page(here: str, number: int, overrides=None, row_errors=None, status=200, report=None):
    overrides = overrides or {}
    page = page_of(fulfilment.address_queue, number, seller_scope())
    invalid = page_of(fulfilment.invalid_addresses, 1, seller_scope()) if page.number == 1 else None
    rows = [*page.items, *(invalid.items if invalid else [])]
    return render_template(
        "admin/fulfilment/queues/address.html",
        title="地址审核",
        page=page,
        invalid=invalid,
        flags=order_flags(rows),
        forms=_forms(rows, AddressForm, here, overrides),
        bulk=ButtonForm(formdata=None, next=here),
        row_errors=row_errors or {},
        report=report,
        labels=fulfilment.STATUS_LABELS,
        payment_labels=fulfilment.PAYMENT_LABELS,
        **queue_tabs("address"),
    ), status


def shipping_page(
    here: str, number: int, carrier: str, overrides=None, row_errors=None, status=200
):
    overrides = overrides or {}
    page = page_of(fulfilment.ship_queue, number, seller_scope(), carrier=carrier)
    forms = {}
    for order in page.items:
        forms[order.id] = expecting(order, ShipForm, here, carriers=fulfilment.carriers_for(order))
        forms[order.id].carrier.data = order.carrier
    forms.update({k: v for k, v in overrides.items() if k in forms})
    return render_template(
        "admin/fulfilment/queues/shipping.html",
        title="待发货",
        page=page,
        carrier=carrier,
        carriers=list(fulfilment.CARRIERS),
        flags=order_flags(page.items),
        forms=forms,
        row_errors=row_errors or {},
        payment_labels=fulfilment.PAYMENT_LABELS,
        **queue_tabs("ship"),
    ), status


def delivery_page(here: str, number: int, overrides=None, row_errors=None, status=200):
    page = page_of(fulfilment.delivery_queue, number, seller_scope())
    return render_template(
        "admin/fulfilment/queues/delivery.html",
        title="配送结果",
        page=page,
        parcels=fulfilment.shipments_of(page.items),
        flags=order_flags(page.items),
        forms=_forms(page.items, DeliveryForm, here, overrides or {}),
        row_errors=row_errors or {},
        **queue_tabs("delivery"),
    ), status


def again(next_target: str | None, order_id: int, form, errors=(), status=400):
    """The queue `next_target` names, shown again with this row's form as posted and its
    errors next to it; None when the action was not taken from a queue with row forms."""
    if not next_target:
        return None
    parts = urlsplit(next_target)
    query = parse_qs(parts.query)
    try:
        number = parse_int((query.get("page") or ["1"])[0], 1, 10**6)
    except ValueError:
        number = 1
    overrides, row_errors = {order_id: form}, {order_id: list(errors)}
    if parts.path == url_for("admin.fulfilment_queues.address"):
        return address_page(next_target, number, overrides, row_errors, status)
    if parts.path == url_for("admin.fulfilment_queues.shipping"):
        carrier = (query.get("carrier") or [""])[0][:20]
        return shipping_page(next_target, number, carrier, overrides, row_errors, status)
    if parts.path == url_for("admin.fulfilment_queues.delivery"):
        return delivery_page(next_target, number, overrides, row_errors, status)
    return None


@bp.get("/address")
@staff_required(*ROLES["address"])
def address():
    return address_page(request.full_path, page_arg())


def picks_of(values: list[str]) -> tuple[list[tuple[int, str]], list[str]]:
    """The picked rows' (order id, status seen) from `id:status` checkbox values, and the
    values that are not that (a hand-made post)."""
    picks, bad = [], []
    for value in values[: fulfilment.bulk.MAX_ROWS + 1]:
        order_id, _sep, seen = value.partition(":")
        try:
            picks.append((parse_int(order_id, 1, 2**31 - 1), seen[:20]))
        except ValueError:
            bad.append(value[:20])
    return picks, bad


@bp.post("/address/bulk")
@staff_required(*ROLES["address"])
def address_bulk():
    """Pass every picked address at once; each row's result is reported."""
    here = local_target(request.form.get("next"), "/admin/queues/address") or url_for(
        "admin.fulfilment_queues.address"
    )
    if not ButtonForm().validate_on_submit():
        flash("页面已过期，请再点一次。", "warning")
        return redirect(here, 303)
    picks, bad = picks_of(request.form.getlist("pick"))
    if not picks and not bad:
        flash("请先勾选要通过的订单。", "warning")
        return redirect(here, 303)
    try:
        report = fulfilment.check_addresses(
            picks, current_staff(), seller_scope(), utcnow(), fulfilment_settings()
        )
    except fulfilment.OpsError as refused:
        db.session.rollback()
        flash(refused.message, "warning")
        return redirect(here, 303)
    db.session.commit()
    report += [fulfilment.RowResult(0, value, False, "无法识别") for value in bad]
    return address_page(here, 1, report=report)


@bp.get("/calls")
@staff_required(*ROLES["call"])
def calls():
    staff, now = current_staff(), utcnow()
    queue = fulfilment.call_queue(staff, seller_scope(), now)
    parked = fulfilment.parked(staff, seller_scope())
    return render_template(
        "admin/fulfilment/queues/calls.html",
        title="电话确认",
        due=[(o, t) for o, t in queue if t.next_call_at <= now],
        later=[(o, t) for o, t in queue if t.next_call_at > now],
        parked=parked,
        flags=order_flags([o for o, _t in (*queue, *parked)]),
        now=now,
        staff_id=staff.id,
        button=ButtonForm(formdata=None, next=request.full_path),
        attempts=fulfilment_settings().call_attempts,
        **queue_tabs("calls"),
    )


def open_next_call():
    """Hand this agent the most urgent call due (for a few minutes) and open it, ready to
    hand on to the next one after its result; the queue with a message when none is due."""
    order = fulfilment.next_call(current_staff(), seller_scope(), utcnow(), fulfilment_settings())
    db.session.commit()
    if order is None:
        flash("电话队列已清空：现在没有到时间要打的电话。", "warning")
        return redirect(url_for("admin.fulfilment_queues.calls"), 303)
    target = url_for("admin.fulfilment_orders.show", order_id=order.id, then="next", _anchor="call")
    return redirect(target, 303)


@bp.post("/calls/next")
@staff_required(*ROLES["call"])
def next_call():
    if not ButtonForm().validate_on_submit():
        flash("页面已过期，请再点一次。", "warning")
        return redirect(url_for("admin.fulfilment_queues.calls"), 303)
    return open_next_call()


@bp.get("/shipping")
@staff_required(*ROLES["ship"])
def shipping():
    carrier = request.args.get("carrier", "")[:20]
    return shipping_page(request.full_path, page_arg(), carrier)


@bp.get("/delivery")
@staff_required(*ROLES["delivery"])
def delivery():
    return delivery_page(request.full_path, page_arg())
