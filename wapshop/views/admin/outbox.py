"""The SMS outbox for staff: what was sent (or only recorded) to which phone, and what failed
and why. Sending is `flask sms send`'s job, never a page's."""

from flask import Blueprint, abort, render_template, request

from wapshop.services import notify, phones
from wapshop.views.admin.helpers import page_of
from wapshop.views.admin.access import staff_required
from wapshop.models import StaffRole

bp = Blueprint("outbox", __name__, url_prefix="/outbox")
READERS = (StaffRole.OPERATOR, StaffRole.SERVICE)


@bp.get("/")
@staff_required(*READERS)
def index():
    status = request.args.get("status", "")
    if status and status not in notify.STATUS_LABELS:
        abort(400, "没有这种状态。")
    typed = request.args.get("phone", "")[:20]
    phone = phones.normalise(typed) if typed else None
    if typed and phone is None:
        abort(400, "手机号不对。")
    page = page_of(notify.outbox, status=status or None, phone=phone)
    return render_template(
        "admin/outbox/index.html",
        title="短信",
        page=page,
        status=status,
        phone=typed,
        statuses=notify.STATUS_LABELS,
        kinds=notify.KIND_LABELS,
    )
