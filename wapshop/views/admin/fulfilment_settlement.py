"""Settlement: the delivered parcels each courier still owes cash for, recording a courier's
remittance against them (with its COD fee), and the remittances recorded so far."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from sqlalchemy.exc import IntegrityError

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.clock import utcnow
from wapshop.forms.admin.fulfilment import SettleForm
from wapshop.parsing import valid_ids
from wapshop.money import format_fen
from wapshop.services import fulfilment
from wapshop.views.admin.access import current_staff, staff_required
from wapshop.views.admin.helpers import ROLES, fulfilment_settings, page_of

bp = Blueprint("fulfilment_settlement", __name__, url_prefix="/settlement")


def _waiting(carrier: str):
    rows = fulfilment.to_settle(carrier)
    choices = [(order.id, order.number) for order, _parcel in rows]
    return rows, choices


def _page(carrier: str, form: SettleForm, status: int = 200):
    rows, _choices = _waiting(carrier)
    all_waiting = fulfilment.to_settle()
    carriers = sorted({parcel.carrier for _order, parcel in all_waiting} | {carrier} - {""})
    fees = {
        order.id: fulfilment.cod_fee(parcel.cod_fen, fulfilment_settings())
        for order, parcel in rows
    }
    return render_template(
        "admin/fulfilment/settlement/index.html",
        title="结算",
        carrier=carrier,
        carriers=carriers,
        rows=rows,
        fees=fees,
        form=form,
        remittances=page_of(fulfilment.remittances),
        rate=fulfilment_settings(),
        labels=fulfilment.STATUS_LABELS,
    ), status


@bp.get("/")
@staff_required(*ROLES["settle"])
def index():
    carrier = request.args.get("carrier", "")[:20]
    rows, choices = _waiting(carrier)
    form = SettleForm(formdata=None, carrier=carrier, order_choices=choices)
    form.order_ids.data = [order_id for order_id, _n in choices]
    return _page(carrier, form)


@bp.post("/")
@staff_required(*ROLES["settle"])
def settle():
    carrier = request.form.get("carrier", "")[:20]
    if not carrier:
        abort(400, "请先选择快递公司。")
    _rows, choices = _waiting(carrier)
    # Ids already settled by someone else are still valid choices: the service says why not.
    posted = valid_ids(request.form.getlist("order_ids"))
    known = {order_id for order_id, _n in choices}
    form = SettleForm(order_choices=[*choices, *((i, str(i)) for i in posted if i not in known)])
    if not form.validate_on_submit():
        return _page(carrier, form, 400)
    try:
        remittance = fulfilment.settle(
            carrier,
            form.reference.data,
            form.order_ids.data,
            form.fee_fen(),
            current_staff(),
            utcnow(),
            fulfilment_settings(),
        )
        db.session.commit()
    except fulfilment.OpsError as refused:
        db.session.rollback()
        take_refusal(form, refused)
        return _page(carrier, form, refused.status)
    except IntegrityError:  # the same statement registered by a colleague in that instant
        db.session.rollback()
        form.reference.errors.append("这张汇款单刚被别人登记了，请刷新后再看。")
        return _page(carrier, form, 409)
    flash(
        f"已结算{remittance.carrier}汇款 {remittance.reference}：{remittance.parcels} 单，"
        f"代收 {format_fen(remittance.collected_fen)}，手续费 {format_fen(remittance.fee_fen)}，"
        f"实收 {format_fen(remittance.net_fen)}。"
    )
    return redirect(url_for("admin.fulfilment_settlement.index", carrier=carrier), 303)
