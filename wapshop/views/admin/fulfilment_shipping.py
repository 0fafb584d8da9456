"""Shipping in bulk: a CSV of order numbers, carriers and tracking numbers (each row shipped
or refused on its own, with a report), a carrier's return file (delivered or refused, with a
dry run first), and the printable pick list of what waits to ship."""

from flask import Blueprint, render_template, request

from wapshop.extensions import db
from wapshop.forms.admin.fulfilment import BulkShipForm, ReturnFileForm
from wapshop.clock import utcnow
from wapshop.services import csvfiles, fulfilment
from wapshop.views.admin.access import current_staff, seller_scope, staff_required
from wapshop.views.admin.helpers import ROLES

bp = Blueprint("fulfilment_shipping", __name__, url_prefix="/shipping")
CARRIERS = list(fulfilment.CARRIERS)


@bp.route("/upload", methods=["GET", "POST"])
@staff_required(*ROLES["ship"])
def upload():
    form = BulkShipForm(carriers=CARRIERS)
    page = "admin/fulfilment/shipping/upload.html"
    if request.method == "GET":
        return render_template(page, title="批量发货", form=form, report=None)
    if not form.validate_on_submit():
        return render_template(page, title="批量发货", form=form, report=None), 400
    try:
        text = csvfiles.decode(form.file.data.read())
        report = fulfilment.ship_csv(
            text, current_staff(), seller_scope(), utcnow(), form.carrier.data or ""
        )
    except (csvfiles.FileRefused, fulfilment.OpsError) as refused:
        db.session.rollback()
        form.file.errors.append(refused.message)
        return render_template(page, title="批量发货", form=form, report=None), refused.status
    db.session.commit()
    # The report is the answer: which rows shipped, and why each of the others did not.
    return render_template(page, title="批量发货", form=form, report=report)


@bp.route("/returns", methods=["GET", "POST"])
@staff_required(*ROLES["delivery"])
def returns():
    """The carrier's return file: 运单号,结果,原因 per parcel. "只检查" shows what would be
    recorded and changes nothing; applying records each good row, and a file applied twice
    changes nothing the second time."""
    form = ReturnFileForm()
    page = "admin/fulfilment/shipping/returns.html"
    if request.method == "GET":
        return render_template(page, title="快递回单", form=form, report=None)
    if not form.validate_on_submit():
        return render_template(page, title="快递回单", form=form, report=None), 400
    dry_run = not form.apply.data
    try:
        text = csvfiles.decode(form.file.data.read())
        report = fulfilment.apply_returns(text, current_staff(), seller_scope(), utcnow(), dry_run)
    except (csvfiles.FileRefused, fulfilment.OpsError) as refused:
        db.session.rollback()
        form.file.errors.append(refused.message)
        return render_template(page, title="快递回单", form=form, report=None), refused.status
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return render_template(page, title="快递回单", form=form, report=report)


@bp.get("/pick-list")
@staff_required(*ROLES["ship"])
def pick_list():
    carrier = request.args.get("carrier", "")[:20]
    lines, orders = fulfilment.pick_list(seller_scope(), carrier)
    return render_template(
        "admin/fulfilment/shipping/pick_list.html",
        title="拣货单",
        lines=lines,
        orders=orders,
        carrier=carrier,
        carriers=CARRIERS,
        printed_at=utcnow(),
        scope=seller_scope(),
    )
