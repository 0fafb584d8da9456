"""The audit log, for admins: every change, newest first, optionally for one thing."""

from flask import Blueprint, abort, current_app, render_template, request

from wapshop.services import admin_audit
from wapshop.services.pagination import PageOutOfRange
from wapshop.views import page_arg
from wapshop.views.admin.access import ADMINS, staff_required

bp = Blueprint("audit", __name__, url_prefix="/audit")
ENTITY_LABELS = {
    "deal": "特价",
    "product": "商品",
    "category": "分类",
    "collection": "专场",
    "staff": "员工",
}


@bp.get("/")
@staff_required(*ADMINS)
def index():
    entity = request.args.get("entity", "")
    entity_id = request.args.get("id", "")[:40]
    if entity and entity not in ENTITY_LABELS:
        abort(400, "没有这种记录。")
    try:
        page = admin_audit.entries(
            page_arg(), current_app.config["ADMIN_PAGE_SIZE"], entity or None, entity_id or None
        )
    except PageOutOfRange:
        abort(404)
    return render_template(
        "admin/audit/index.html",
        title="操作日志",
        page=page,
        entity=entity,
        entity_id=entity_id,
        labels=ENTITY_LABELS,
    )
