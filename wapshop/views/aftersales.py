"""After-sales from the buyer's order page: ask a question, complain, or ask to return or
exchange within the return window after delivery; read customer service's replies and add
to an open request. Only whoever may see the order (views/orders.py) may do any of it."""

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.aftersales import TicketForm, TicketReplyForm
from wapshop.models import Order, TicketReply
from wapshop.clock import utcnow
from wapshop.renditions import REPLIES_PER_PAGE
from wapshop.services import NotFound, aftersales
from wapshop.web.rendering import render_page
from wapshop.services.pagination import PageOutOfRange
from wapshop.views import page_arg
from wapshop.views.orders import viewable_order

bp = Blueprint("aftersales", __name__)

# Replies per page of a ticket: a WML deck holds two of the longest.
ON_ORDER_PAGE = 3  # requests summed up on the order and after-sales pages, newest first


def _window():
    return current_app.config["RETURN_WINDOW"]


def _actor() -> str:
    return f"buyer:{current_user.id}" if current_user.is_authenticated else "guest"


@dataclass(frozen=True)
class Line:
    ticket_id: int
    kind: str  # translated
    status: str  # translated
    reply: TicketReply | None  # customer service's latest


@dataclass(frozen=True)
class OnOrder:
    """What the order page shows of after-sales: the latest tickets with their latest reply,
    and until when goods may go back."""

    lines: list[Line]
    total: int
    return_until: datetime | None
    window_days: int


@bp.app_template_global()
def aftersales_for(order: Order) -> OnOrder:
    """For templates/*/orders/show.html, which includes the after-sales section."""
    tickets = aftersales.tickets_of(order)
    lines = [
        Line(
            t.id,
            aftersales.KIND_TEXT[t.kind],
            aftersales.STATUS_TEXT[t.status],
            next((r for r in reversed(t.replies) if r.from_staff), None),
        )
        for t in tickets[:ON_ORDER_PAGE]
    ]
    window = _window()
    delivered = aftersales.delivered_at(order) if order.status in aftersales.RETURNABLE else None
    until = delivered + window if delivered else None
    open_until = until if until is not None and utcnow() <= until else None
    return OnOrder(lines, len(tickets), open_until, window.days)


def _new_page(order: Order, form: TicketForm):
    """The request form; an order with sizes or colours offers the others for an exchange
    (sold-out ones shown as such: choosing one is refused in words)."""
    form.variant.choices = [SelectChoice("", _("不换款式"))] + [
        SelectChoice(str(v.id), v.label if v.stock > 0 else _("%(label)s（无货）", label=v.label))
        for v in aftersales.exchange_choices(order)
    ]
    return render_page(
        g.rendition, "aftersales/new.html", order=order, form=form, on=aftersales_for(order)
    )


@bp.route("/o/<number>/help", methods=["GET", "POST"])
def new(number):
    order = viewable_order(number)
    form = TicketForm()
    if request.method == "GET":
        if request.args.get("kind") in aftersales.KIND_TEXT:
            form.kind.data = request.args["kind"]
        return _new_page(order, form)
    if not form.validate_on_submit():
        return _new_page(order, form), 400
    try:
        aftersales.open_ticket(
            order,
            form.kind.data,
            form.body.data,
            _actor(),
            utcnow(),
            _window(),
            exchange_variant_id=form.variant_id(),
        )
    except aftersales.AftersalesError as refused:
        db.session.rollback()
        order = viewable_order(number)
        take_refusal(form, refused)
        return _new_page(order, form), refused.status
    db.session.commit()
    return redirect(url_for("orders.show", number=number), 303)


@bp.route("/o/<number>/help/<int:ticket_id>", methods=["GET", "POST"])
def ticket(number, ticket_id):
    order = viewable_order(number)
    try:
        found = aftersales.ticket_of(order, ticket_id)
    except NotFound as missing:
        abort(404, str(missing.message))
    form = TicketReplyForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                aftersales.buyer_reply(found, form.body.data, _actor(), utcnow())
            except aftersales.AftersalesError as refused:
                db.session.rollback()
                found = aftersales.ticket_of(viewable_order(number), ticket_id)
                take_refusal(form, refused)
                status = refused.status
            else:
                db.session.commit()
                return redirect(
                    url_for("aftersales.ticket", number=number, ticket_id=ticket_id), 303
                )
        else:
            status = 400
    try:
        page = aftersales.replies_page(found, page_arg(), REPLIES_PER_PAGE[g.rendition])
    except PageOutOfRange:
        abort(404)
    return render_page(
        g.rendition,
        "aftersales/ticket.html",
        order=order,
        ticket=found,
        page=page,
        form=form,
        kinds=aftersales.KIND_TEXT,
        statuses=aftersales.STATUS_TEXT,
    ), status
