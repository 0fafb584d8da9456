"""The back office at /admin: server-rendered pages for staff on desktop browsers, Chinese only.

Each area is a blueprint nested in this one, so all share its staff check (access.load_staff),
its error pages and its templates under templates/admin/."""

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from wapshop.views.admin import (
    access,
    audit,
    categories,
    collections,
    deals,
    home,
    imports,
    ops_aftersales,
    ops_orders,
    ops_outbox,
    ops_queues,
    ops_settlement,
    ops_shipping,
    products,
    reports,
    staff,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(access.load_staff)
bp.context_processor(access.template_context)
bp.register_error_handler(HTTPException, access.render_error)
for area in (
    home,
    staff,
    deals,
    products,
    categories,
    collections,
    imports,
    audit,
    ops_orders,
    ops_queues,
    ops_shipping,
    ops_settlement,
    ops_aftersales,
    ops_outbox,
    reports,
):
    bp.register_blueprint(area.bp)
