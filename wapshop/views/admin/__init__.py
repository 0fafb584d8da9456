"""The back office at /admin: server-rendered pages for staff on desktop browsers, Chinese only.

Each area is a blueprint nested in this one, so all share its staff check (access.load_staff),
its error pages and its templates under templates/admin/."""

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from wapshop.views.admin import (
    access,
    aftersales,
    audit,
    categories,
    collections,
    deals,
    home,
    imports,
    marketing,
    marketing_campaigns,
    marketing_coupons,
    fulfilment_orders,
    fulfilment_queues,
    fulfilment_settlement,
    fulfilment_shipping,
    outbox,
    products,
    reports,
    shipping,
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
    fulfilment_orders,
    fulfilment_queues,
    fulfilment_shipping,
    fulfilment_settlement,
    aftersales,
    outbox,
    reports,
    shipping,
    marketing,
    marketing_coupons,
    marketing_campaigns,
):
    bp.register_blueprint(area.bp)
