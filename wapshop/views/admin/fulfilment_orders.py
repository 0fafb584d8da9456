"""Orders in the back office: finding one, its page with the whole timeline, and every action
on it (address check, call outcome, shipping, delivery outcome, cancelling). Sellers see and
act on their own orders only: any other id is the same 404 as a missing one.

The queue pages post to these actions with `next` set, and come back to the queue."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from sqlalchemy.exc import IntegrityError

from wapshop.extensions import db
from wapshop.renditions import LABELS as RENDITION_LABELS
from wapshop.forms import take_refusal
from wapshop.forms.admin.fulfilment import (
    AddressForm,
    ButtonForm,
    CallForm,
    CancelForm,
    ContactForm,
    DeliveryForm,
    LineForm,
    MergeForm,
    OrderSearchForm,
    ShipForm,
)
from wapshop.clock import china_day, to_china, utcnow
from wapshop.parsing import parse_int
from wapshop.services import aftersales, csvfiles, fulfilment, products
from wapshop.services.pagination import Page
from wapshop.views.admin.access import current_staff, seller_scope, staff_required
from wapshop.views.admin.fulfilment_queues import again, open_next_call
from wapshop.views.admin.helpers import (
    CONFLICT,
    ROLES,
    expecting,
    fulfilment_settings,
    next_url,
    order_flags,
    page_of,
    risk_settings,
)

bp = Blueprint("fulfilment_orders", __name__, url_prefix="/orders")


def order_or_404(order_id: int):
    try:
        return fulfilment.get_order(order_id, seller_scope())
    except fulfilment.NotFound:
        abort(404)


def forms_for(order, staff, overrides=None) -> dict:
    """The action forms the order's page offers, by action, with any re-shown after an error."""
    offered = fulfilment.actions_for(staff, order)
    forms = {}
    if "address" in offered:
        forms["address"] = expecting(order, AddressForm)
    if "call" in offered:
        forms["call"] = expecting(order, CallForm)
        forms["call"].then.data = "next" if request.args.get("then") == "next" else ""
    if "correct" in offered:
        here = request.full_path if request.method == "GET" else request.form.get("next", "")
        contact = expecting(order, ContactForm, here)
        contact.receiver.data, contact.phone.data = order.receiver_name, order.phone
        contact.address.data = order.region_text + order.street
        forms["contact"] = contact
        for item in order.items:
            line = expecting(order, LineForm, here, variants=fulfilment.variants_of(item))
            line.item.data, line.variant.data, line.quantity.data = (
                item.id,
                item.variant_id,
                item.quantity,
            )
            forms[f"line-{item.id}"] = line
    if "cancel" in offered and order.status in fulfilment.MERGEABLE:
        forms["merge"] = expecting(order, MergeForm)
    if "ship" in offered:
        forms["ship"] = expecting(order, ShipForm, carriers=fulfilment.carriers_for(order))
        forms["ship"].carrier.data = order.carrier
    if "delivery" in offered:
        forms["delivery"] = expecting(order, DeliveryForm)
    if "cancel" in offered:
        forms["cancel"] = expecting(order, CancelForm)
    forms.update(overrides or {})
    return forms


def render_order(order, overrides=None, errors=(), status=200):
    staff = current_staff()
    task = fulfilment.call_task(order)
    window = risk_settings().duplicate_window
    return render_template(
        "admin/fulfilment/orders/show.html",
        title=f"订单 {order.number}",
        order=order,
        labels=fulfilment.STATUS_LABELS,
        payment_labels=fulfilment.PAYMENT_LABELS,
        rendition_labels=RENDITION_LABELS,
        flags=order_flags([order])[order.id],
        parcel=fulfilment.shipment_of(order),
        sellers=fulfilment.seller_names(order),
        task=task,
        lookalikes=fulfilment.lookalikes(order, window, seller_scope()),
        parked=task is not None and task.parked_at is not None,
        confirmer="卖家" if fulfilment.confirmed_by_seller(order) else "商城客服",
        timeline=fulfilment.timeline(order),
        tickets=aftersales.tickets_of(order),
        ticket_labels=aftersales.STATUS_LABELS,
        kind_labels=aftersales.KIND_LABELS,
        forms=forms_for(order, staff, overrides),
        button=ButtonForm(),
        errors=errors,
    ), status


def refused_page(order_id: int, action: str, form, errors=(), status=400):
    """The page the action was taken from, again, with the form as posted and the message
    next to it: the queue's row when it came from a queue, else the order page."""
    queue = again(request.form.get("next"), order_id, form, errors, status)
    if queue is not None:
        return queue
    # A refusal of the whole action (the order moved meanwhile) offers the forms afresh.
    overrides = {} if errors else {action: form}
    return render_order(order_or_404(order_id), overrides, errors=errors, status=status)


def act(order_id: int, action: str, form, perform, done: str, then=None):
    """Validate, run the service, commit once, go back (or `then()` when given). A refusal
    shows the page it came from with the message, and nothing of the attempt is kept."""
    order = order_or_404(order_id)
    if not form.validate_on_submit():
        return refused_page(order_id, action, form)
    try:
        perform(order, form)
        db.session.commit()
    except fulfilment.OpsError as refused:
        db.session.rollback()
        if refused.field and hasattr(form, refused.field):
            take_refusal(form, refused)
            return refused_page(order_id, action, form, status=refused.status)
        return refused_page(order_id, action, form, [refused.message], refused.status)
    except IntegrityError:
        # A unique waybill or refund taken by a colleague in the same instant.
        db.session.rollback()
        return refused_page(order_id, action, form, [CONFLICT], 409)
    flash(done.format(number=order.number))
    if then is not None:
        return then()
    return redirect(next_url(url_for("admin.fulfilment_orders.show", order_id=order.id)), 303)


def search_form() -> OrderSearchForm:
    """The search form from the query string; a seller is offered no seller to choose."""
    choices = [] if seller_scope() is not None else [(x.id, x.name) for x in products.sellers()]
    return OrderSearchForm(request.args, seller_choices=choices)


@bp.get("/")
@staff_required(*ROLES["view"])
def index():
    form = search_form()
    if form.validate():
        found = form.order_filter().bounded(china_day(utcnow()))
        page, status = page_of(fulfilment.search, seller_scope(), found), 200
    else:
        page, status = Page([], 1, current_app.config["ADMIN_PAGE_SIZE"], 0), 400
    export = {k: v for k, v in request.args.items() if k not in ("page", "encoding")}
    return render_template(
        "admin/fulfilment/orders/index.html",
        title="订单",
        page=page,
        form=form,
        export=export,
        labels=fulfilment.STATUS_LABELS,
        payment_labels=fulfilment.PAYMENT_LABELS,
        flags=order_flags(page.items),
    ), status


@bp.get("/export.csv")
@staff_required(*ROLES["view"])
def export():
    form = search_form()
    if not form.validate():
        abort(400, "查找条件有误，请返回订单列表修改。")
    encoding = form.encoding.data or "utf-8"
    found = form.order_filter().bounded(china_day(utcnow()))
    body = csvfiles.encode(fulfilment.export_rows(seller_scope(), found), encoding)
    stamp = to_china(utcnow()).strftime("%Y%m%d-%H%M")
    return current_app.response_class(
        body,
        content_type=f"text/csv; charset={encoding}",
        headers={"Content-Disposition": f'attachment; filename="orders-{stamp}-{encoding}.csv"'},
    )


@bp.get("/<int(max=9999999999):order_id>")
@staff_required(*ROLES["view"])
def show(order_id):
    """An order by id; a 10-digit order number (never below 10**9: ids stay far below) is
    the order by its number."""
    if order_id >= 10**9:
        return by_number(str(order_id))
    return render_order(order_or_404(order_id))


def by_number(number: str):
    """The order page of an order number, for staff reading it off a phone call or a parcel;
    a number outside the seller's scope is the same 404 as a missing one."""
    found = fulfilment.OrderFilter(number=number)
    page = fulfilment.search(1, 1, seller_scope(), found)
    if not page.items:
        abort(404)
    return redirect(url_for("admin.fulfilment_orders.show", order_id=page.items[0].id), 302)


@bp.post("/<int:order_id>/address")
@staff_required(*ROLES["address"])
def address(order_id):
    def perform(order, form):
        fulfilment.check_address(
            order,
            form.expected.data,
            form.verdict.data == "ok",
            form.reason.data or "",
            current_staff(),
            utcnow(),
            fulfilment_settings(),
        )

    return act(order_id, "address", AddressForm(), perform, "订单 {number} 地址已审核。")


@bp.post("/<int:order_id>/call")
@staff_required(*ROLES["call"])
def call(order_id):
    def perform(order, form):
        fulfilment.record_call(
            order,
            form.expected.data,
            form.outcome.data,
            form.note.data or "",
            current_staff(),
            utcnow(),
            fulfilment_settings(),
        )

    form = CallForm()
    then = open_next_call if form.then.data == "next" else None
    return act(order_id, "call", form, perform, "订单 {number} 的通话结果已记录。", then)


@bp.post("/<int:order_id>/requeue")
@staff_required(*ROLES["call"])
def requeue(order_id):
    order = order_or_404(order_id)
    if not ButtonForm().validate_on_submit():
        abort(400, "页面已过期，请刷新后再试。")
    try:
        fulfilment.requeue(order, current_staff(), utcnow())
    except fulfilment.OpsError as refused:
        db.session.rollback()
        return render_order(order_or_404(order_id), errors=[refused.message], status=refused.status)
    db.session.commit()
    flash(f"订单 {order.number} 已放回待拨打队列。")
    return redirect(next_url(url_for("admin.fulfilment_orders.show", order_id=order.id)), 303)


@bp.post("/<int:order_id>/contact")
@staff_required(*ROLES["call"])
def contact(order_id):
    """Receiver, phone, address and a note corrected on the call; back to the call page."""

    def perform(order, form):
        fulfilment.correct_contact(
            order,
            form.expected.data,
            form.receiver.data,
            form.phone.data,
            form.address.data,
            form.note.data or "",
            current_staff(),
            utcnow(),
        )

    return act(order_id, "contact", ContactForm(), perform, "订单 {number} 已更正。")


@bp.post("/<int:order_id>/line")
@staff_required(*ROLES["call"])
def line(order_id):
    """A line's variant or quantity corrected on the call (stock re-taken); back to the call."""
    order = order_or_404(order_id)
    item_id = parse_int_or_none(request.form.get("item", ""))
    item = next((i for i in order.items if i.id == item_id), None)
    if item is None:
        abort(400, "页面已过期，请刷新后再试。")
    form = LineForm(variants=fulfilment.variants_of(item))

    def perform(order, form):
        fulfilment.change_line(
            order,
            form.expected.data,
            item.id,
            form.variant.data,
            form.quantity.data,
            form.note.data or "",
            current_staff(),
            utcnow(),
        )

    return act(order_id, f"line-{item.id}", form, perform, "订单 {number} 的商品已更正。")


def parse_int_or_none(text: str) -> int | None:
    try:
        return parse_int(text, 1, 2**31 - 1)
    except ValueError:
        return None


@bp.post("/<int:order_id>/merge")
@staff_required(*ROLES["cancel"])
def merge(order_id):
    """Merge the picked look-alike orders into this one: one parcel, one amount to collect."""
    others = []
    for value in request.form.getlist("others")[: fulfilment.merging.MAX_MERGE + 1]:
        other_id, _sep, seen = value.partition(":")
        other = parse_int_or_none(other_id)
        if other is None:
            abort(400, "要合并的订单不对，请刷新后再试。")
        others.append((other, seen[:20]))

    def perform(order, form):
        fulfilment.merge(
            order, form.expected.data, others, current_staff(), seller_scope(), utcnow()
        )

    return act(order_id, "merge", MergeForm(), perform, "已合并到订单 {number}，一个包裹发货。")


@bp.post("/<int:order_id>/ship")
@staff_required(*ROLES["ship"])
def ship(order_id):
    order = order_or_404(order_id)

    def perform(order, form):
        fulfilment.ship(
            order,
            form.expected.data,
            form.carrier.data,
            form.tracking.data,
            current_staff(),
            utcnow(),
        )

    form = ShipForm(carriers=fulfilment.carriers_for(order))
    return act(order_id, "ship", form, perform, "订单 {number} 已发货。")


@bp.post("/<int:order_id>/delivery")
@staff_required(*ROLES["delivery"])
def delivery(order_id):
    def perform(order, form):
        fulfilment.close_delivery(
            order,
            form.expected.data,
            form.outcome.data == "delivered",
            form.reason.data or "",
            current_staff(),
            utcnow(),
        )

    return act(order_id, "delivery", DeliveryForm(), perform, "订单 {number} 的配送结果已记录。")


@bp.post("/<int:order_id>/cancel")
@staff_required(*ROLES["cancel"])
def cancel(order_id):
    def perform(order, form):
        fulfilment.cancel(order, form.expected.data, form.reason.data, current_staff(), utcnow())

    return act(order_id, "cancel", CancelForm(), perform, "订单 {number} 已取消，库存已退回。")
