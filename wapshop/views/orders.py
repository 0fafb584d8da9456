"""A buyer's orders: the list, one order with its lines, fees, parcels and history, cancelling
(a confirmation page first, on every rendition), guest lookup."""

from flask import Blueprint, abort, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from wapshop.extensions import db
from wapshop.forms.orders import CancelForm, LookupForm
from wapshop.web.rendering import render_page
from wapshop.clock import utcnow
from wapshop.services import fulfilment, orders, throttle
from wapshop.web.sessions import regenerate
from wapshop.views import take_attempt

bp = Blueprint("orders", __name__)

SESSION_KEY = "orders"
REMEMBERED = 20


def remember_order(number: str) -> None:
    """This session placed or proved it knows this order: it may show it."""
    known = [n for n in session.get(SESSION_KEY, []) if n != number]
    session[SESSION_KEY] = [number, *known][:REMEMBERED]


def viewable_order(number: str):
    """The order, if this visitor may see it; otherwise the same 404 as a missing one."""
    order = orders.by_number(number)
    buyer_id = current_user.id if current_user.is_authenticated else None
    if order is None or not orders.may_view(order, buyer_id, session.get(SESSION_KEY, [])):
        abort(404, _("没有找到这个订单。可以用手机号和订单号查询。"))
    return order


@bp.get("/o")
def mine():
    if current_user.is_authenticated:
        listed = orders.of_buyer(current_user.id)
    else:
        listed = orders.by_numbers(session.get(SESSION_KEY, []))
    return render_page(
        g.rendition, "orders/list.html", orders=listed, form=LookupForm(), status=orders.STATUS_TEXT
    )


def _show(order, form, status=200):
    return render_page(
        g.rendition,
        "orders/show.html",
        order=order,
        form=form,
        status=orders.STATUS_TEXT,
        payment=orders.PAYMENT_TEXT,
        parcels=orders.parcels(order),
        siblings=orders.siblings(order),
    ), status


@bp.get("/o/<number>")
def show(number):
    return _show(viewable_order(number), CancelForm())


@bp.get("/o/<number>/cancel")
def confirm_cancel(number):
    """The question before cancelling: 确认取消 posts, 返回 goes back. A GET never cancels."""
    order = viewable_order(number)
    if not order.cancellable:
        return redirect(url_for("orders.show", number=number), 303)
    return render_page(
        g.rendition, "orders/cancel.html", order=order, form=CancelForm(), status=orders.STATUS_TEXT
    )


@bp.post("/o/<number>/cancel")
def cancel(number):
    order = viewable_order(number)
    form = CancelForm()
    if not form.validate_on_submit():
        return render_page(
            g.rendition, "orders/cancel.html", order=order, form=form, status=orders.STATUS_TEXT
        ), 400
    actor = f"buyer:{current_user.id}" if current_user.is_authenticated else "guest"
    try:
        now = utcnow()
        orders.cancel(order, actor, form.reason.data or "", now=now)
        # Paid online already: the money goes back to the payer's balance, in this unit of work.
        fulfilment.refund_if_paid(order, actor, now, "买家取消")
    except orders.NotCancellable:
        db.session.rollback()
        form.form_errors.append(_("订单已发货或已取消，不能再取消。如需帮助请联系客服。"))
        return _show(order, form, 409)
    db.session.commit()
    return redirect(url_for("orders.show", number=number), 303)


@bp.route("/o/find", methods=["GET", "POST"])
def find():
    form = LookupForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_page(
            g.rendition, "orders/find.html", form=form
        ), 400 if request.method == "POST" else 200
    keys, wait = take_attempt("lookup", form.phone.data)
    if wait is not None:
        form.form_errors.append(_("查询次数太多，请 %(m)d 分钟后再试。", m=wait))
        return render_page(g.rendition, "orders/find.html", form=form), 429
    order = orders.lookup(form.phone.data, form.number.data)
    if order is None:
        form.form_errors.append(_("手机号和订单号对不上，请检查后再试。"))
        return render_page(g.rendition, "orders/find.html", form=form), 404
    throttle.succeeded(keys)
    db.session.commit()
    remember_order(order.number)
    regenerate()  # a grant of access: whoever knew the old sid (a shared link) sees nothing
    return redirect(url_for("orders.show", number=order.number), 303)
