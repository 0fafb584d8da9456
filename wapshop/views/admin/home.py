"""The back office's first page: what each role has waiting."""

from flask import Blueprint, current_app, render_template

from wapshop.clock import china_day, utcnow
from wapshop.services import deals, products
from wapshop.views.admin import access

bp = Blueprint("home", __name__)


@bp.get("/")
@access.staff_required()
def index():
    staff = access.current_staff()
    summary = {}
    if access.may(staff, access.OPERATORS):
        now = utcnow()
        listing = deals.day_deals(china_day(now), now)
        summary["running"] = sum(d.state == "running" for d in listing)
        summary["scheduled"] = sum(d.state == "scheduled" for d in listing)
    if access.may(staff, access.CATALOG_EDITORS):
        threshold = current_app.config["STOCK_WARNING_THRESHOLD"]
        low = products.low_stock(1, 1, threshold, access.seller_scope())
        summary["low_stock"], summary["threshold"] = low.total, threshold
    return render_template("admin/index.html", title="后台首页", summary=summary)
