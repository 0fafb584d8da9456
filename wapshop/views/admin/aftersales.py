"""After-sales tickets for customer service: the queue, one ticket with its order and replies,
and what can be done with it (reply, close, accept or reject a return or exchange, take the
returned goods in, refund, send the replacement)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from sqlalchemy.exc import IntegrityError

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin.aftersales import CashRefundForm, DecisionForm, ExchangeForm, ReplyForm
from wapshop.models import OrderStatus, StaffRole
from wapshop.clock import utcnow
from wapshop.models.ops import TicketKind, TicketStatus
from wapshop.services import aftersales, fulfilment
from wapshop.views.admin.access import current_staff, staff_required
from wapshop.views.admin.helpers import CONFLICT, page_of

bp = Blueprint("aftersales", __name__, url_prefix="/aftersales")
SERVICE = (StaffRole.SERVICE,)
CARRIERS = list(fulfilment.CARRIERS)


def _ticket_or_404(ticket_id: int):
    try:
        return aftersales.get(ticket_id)
    except aftersales.NotFound:
        abort(404)


@bp.get("/")
@staff_required(*SERVICE)
def index():
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    if status and status not in tuple(TicketStatus) or kind and kind not in tuple(TicketKind):
        abort(400, "没有这种售后状态或类型。")
    page = page_of(aftersales.queue, status=status, kind=kind)
    return render_template(
        "admin/aftersales/index.html",
        title="售后",
        page=page,
        status=status,
        kind=kind,
        statuses=aftersales.STATUS_LABELS,
        kinds=aftersales.KIND_LABELS,
    )


def _render(ticket, forms=None, errors=(), status=200):
    order = ticket.order
    base = {
        "reply": ReplyForm(formdata=None),
        "decision": DecisionForm(formdata=None),
        "refund": CashRefundForm(formdata=None),
        "exchange": ExchangeForm(formdata=None, carriers=CARRIERS),
    }
    base.update(forms or {})
    return render_template(
        "admin/aftersales/show.html",
        title=f"售后 #{ticket.id}",
        ticket=ticket,
        order=order,
        labels=fulfilment.STATUS_LABELS,
        statuses=aftersales.STATUS_LABELS,
        kinds=aftersales.KIND_LABELS,
        delivered_at=aftersales.delivered_at(order),
        paid_online=fulfilment.paid_online(order) is not None,
        refunded=order.status == OrderStatus.REFUNDED,
        forms=base,
        errors=errors,
    ), status


@bp.get("/<int:ticket_id>")
@staff_required(*SERVICE)
def show(ticket_id):
    return _render(_ticket_or_404(ticket_id))


def _act(ticket_id: int, name: str, form, perform, done: str):
    ticket = _ticket_or_404(ticket_id)
    if not form.validate_on_submit():
        return _render(ticket, {name: form}, status=400)
    try:
        perform(ticket, form)
        db.session.commit()
    except (aftersales.AftersalesError, fulfilment.OpsError) as refused:
        db.session.rollback()
        ticket = _ticket_or_404(ticket_id)
        if refused.field and hasattr(form, refused.field):
            take_refusal(form, refused)
            return _render(ticket, {name: form}, status=refused.status)
        return _render(ticket, errors=[str(refused.message)], status=refused.status)
    except IntegrityError:  # the refund or waybill was registered by a colleague meanwhile
        db.session.rollback()
        return _render(_ticket_or_404(ticket_id), errors=[CONFLICT], status=409)
    flash(done.format(id=ticket.id))
    return redirect(url_for("admin.aftersales.show", ticket_id=ticket.id), 303)


@bp.post("/<int:ticket_id>/reply")
@staff_required(*SERVICE)
def reply(ticket_id):
    close = request.form.get("close") == "1"

    def perform(ticket, form):
        aftersales.reply(ticket, form.body.data, current_staff(), utcnow(), close=close)

    done = "已回复并结束售后 #{id}。" if close else "已回复售后 #{id}。"
    return _act(ticket_id, "reply", ReplyForm(), perform, done)


@bp.post("/<int:ticket_id>/accept")
@staff_required(*SERVICE)
def accept(ticket_id):
    def perform(ticket, form):
        aftersales.accept(ticket, form.body.data, current_staff(), utcnow())

    return _act(ticket_id, "decision", DecisionForm(), perform, "已同意售后 #{id}。")


@bp.post("/<int:ticket_id>/reject")
@staff_required(*SERVICE)
def reject(ticket_id):
    def perform(ticket, form):
        aftersales.reject(ticket, form.body.data, current_staff(), utcnow())

    return _act(ticket_id, "decision", DecisionForm(), perform, "已拒绝售后 #{id}。")


@bp.post("/<int:ticket_id>/receive")
@staff_required(*SERVICE)
def receive(ticket_id):
    def perform(ticket, form):
        aftersales.receive_return(ticket, current_staff(), utcnow())

    return _act(ticket_id, "refund", CashRefundForm(), perform, "售后 #{id} 的退货已入库。")


@bp.post("/<int:ticket_id>/refund")
@staff_required(*SERVICE)
def refund(ticket_id):
    def perform(ticket, form):
        aftersales.refund(ticket, form.cash_note.data or "", current_staff(), utcnow())

    return _act(ticket_id, "refund", CashRefundForm(), perform, "售后 #{id} 已退款。")


@bp.post("/<int:ticket_id>/exchange")
@staff_required(*SERVICE)
def exchange(ticket_id):
    def perform(ticket, form):
        aftersales.complete_exchange(
            ticket, form.carrier.data, form.tracking.data, current_staff(), utcnow()
        )

    form = ExchangeForm(carriers=CARRIERS)
    return _act(ticket_id, "exchange", form, perform, "售后 #{id} 的换货已发出。")
