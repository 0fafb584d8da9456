"""The work queues: addresses to check, calls to make (and the next one to make), parcels to
ship, deliveries to close. Each row carries its action's form, posting to the order's own
action (views/admin/ops_orders.py) and coming back here."""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from wapshop.extensions import db
from wapshop.forms.admin.ops import AddressForm, ButtonForm, DeliveryForm, ShipForm
from wapshop.clock import utcnow
from wapshop.services import fulfilment
from wapshop.views.admin.access import current_staff, seller_scope, staff_required
from wapshop.views.admin.ops_orders import ROLES, expecting, order_flags, page_of, settings

bp = Blueprint("ops_queues", __name__, url_prefix="/queues")
TABS = (
    ("address", "地址审核", "admin.ops_queues.address", ROLES["address"]),
    ("calls", "电话确认", "admin.ops_queues.calls", ROLES["call"]),
    ("ship", "待发货", "admin.ops_queues.shipping", ROLES["ship"]),
    ("delivery", "配送结果", "admin.ops_queues.delivery", ROLES["delivery"]),
)


@bp.context_processor
def queue_tabs():
    staff = current_staff()
    if staff is None:
        return {}
    counts = fulfilment.queue_counts(staff, seller_scope(), utcnow())
    tabs = [
        (label, url_for(endpoint), counts[key], request.endpoint == endpoint)
        for key, label, endpoint, roles in TABS
        if fulfilment.may(staff, key if key != "calls" else "call")
    ]
    return {"queue_tabs": tabs, "invalid_count": counts["invalid"]}


@bp.get("/address")
@staff_required(*ROLES["address"])
def address():
    here = request.full_path
    page = page_of(fulfilment.address_queue, seller_scope())
    invalid = page_of(fulfilment.invalid_addresses, seller_scope()) if page.number == 1 else None
    rows = [*page.items, *(invalid.items if invalid else [])]
    return render_template(
        "admin/ops/queues/address.html",
        title="地址审核",
        page=page,
        invalid=invalid,
        flags=order_flags(rows),
        forms={o.id: expecting(o, AddressForm, here) for o in rows},
        labels=fulfilment.STATUS_LABELS,
    )


@bp.get("/calls")
@staff_required(*ROLES["call"])
def calls():
    staff, now = current_staff(), utcnow()
    queue = fulfilment.call_queue(staff, seller_scope(), now)
    parked = fulfilment.parked(staff, seller_scope())
    return render_template(
        "admin/ops/queues/calls.html",
        title="电话确认",
        due=[(o, t) for o, t in queue if t.next_call_at <= now],
        later=[(o, t) for o, t in queue if t.next_call_at > now],
        parked=parked,
        flags=order_flags([o for o, _t in (*queue, *parked)]),
        now=now,
        staff_id=staff.id,
        button=ButtonForm(formdata=None, next=request.full_path),
        attempts=settings().call_attempts,
    )


@bp.post("/calls/next")
@staff_required(*ROLES["call"])
def next_call():
    """Hand this agent the most urgent call due, for a few minutes, and open it."""
    if not ButtonForm().validate_on_submit():
        flash("页面已过期，请再点一次。", "warning")
        return redirect(url_for("admin.ops_queues.calls"), 303)
    order = fulfilment.next_call(current_staff(), seller_scope(), utcnow(), settings())
    db.session.commit()
    if order is None:
        flash("现在没有到时间要打的电话。", "warning")
        return redirect(url_for("admin.ops_queues.calls"), 303)
    return redirect(url_for("admin.ops_orders.show", order_id=order.id, _anchor="call"), 303)


@bp.get("/shipping")
@staff_required(*ROLES["ship"])
def shipping():
    here = request.full_path
    carrier = request.args.get("carrier", "")[:20]
    page = page_of(fulfilment.ship_queue, seller_scope(), carrier=carrier)
    forms = {}
    for order in page.items:
        forms[order.id] = expecting(order, ShipForm, here, carriers=fulfilment.carriers_for(order))
        forms[order.id].carrier.data = order.carrier
    return render_template(
        "admin/ops/queues/shipping.html",
        title="待发货",
        page=page,
        carrier=carrier,
        carriers=list(fulfilment.CARRIERS),
        flags=order_flags(page.items),
        forms=forms,
    )


@bp.get("/delivery")
@staff_required(*ROLES["delivery"])
def delivery():
    here = request.full_path
    page = page_of(fulfilment.delivery_queue, seller_scope())
    return render_template(
        "admin/ops/queues/delivery.html",
        title="配送结果",
        page=page,
        parcels=fulfilment.shipments_of(page.items),
        flags=order_flags(page.items),
        forms={o.id: expecting(o, DeliveryForm, here) for o in page.items},
    )
