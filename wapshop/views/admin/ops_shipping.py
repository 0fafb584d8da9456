"""Shipping in bulk: a CSV of order numbers, carriers and tracking numbers (each row shipped
or refused on its own, with a report), and the printable pick list of what waits to ship."""

from flask import Blueprint, render_template, request

from wapshop.extensions import db
from wapshop.forms.admin.ops import BulkShipForm
from wapshop.clock import utcnow
from wapshop.services import csvfiles, fulfilment
from wapshop.views.admin.access import current_staff, seller_scope, staff_required
from wapshop.views.admin.ops_orders import ROLES

bp = Blueprint("ops_shipping", __name__, url_prefix="/shipping")
CARRIERS = list(fulfilment.CARRIERS)


@bp.route("/upload", methods=["GET", "POST"])
@staff_required(*ROLES["ship"])
def upload():
    form = BulkShipForm(carriers=CARRIERS)
    page = "admin/ops/shipping/upload.html"
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


@bp.get("/pick-list")
@staff_required(*ROLES["ship"])
def pick_list():
    carrier = request.args.get("carrier", "")[:20]
    lines, orders = fulfilment.pick_list(seller_scope(), carrier)
    return render_template(
        "admin/ops/shipping/pick_list.html",
        title="拣货单",
        lines=lines,
        orders=orders,
        carrier=carrier,
        carriers=CARRIERS,
        printed_at=utcnow(),
        scope=seller_scope(),
    )
