"""The back office's first page: today's work for each role, every figure a link to its page.
A seller sees only its own orders' figures."""

from datetime import datetime

from flask import Blueprint, current_app, render_template

from wapshop.clock import china_day, utcnow
from wapshop.models import StaffRole
from wapshop.services import aftersales, deals, fulfilment, products
from wapshop.views.admin import access

bp = Blueprint("home", __name__)

# Queue key, label, page, the action that works it (as fulfilment.may reads it).
QUEUES = (
    ("address", "待审地址", "admin.fulfilment_queues.address", "address"),
    ("calls", "待打电话", "admin.fulfilment_queues.calls", "call"),
    ("ship", "待发货", "admin.fulfilment_queues.shipping", "ship"),
    ("delivery", "待登记配送结果", "admin.fulfilment_queues.delivery", "delivery"),
)
AFTERSALES_ROLES = (StaffRole.SERVICE,)


def age_text(since: datetime | None, now: datetime) -> str:
    """How long the oldest item has waited, as staff read it: 3 天 4 小时, 2 小时 5 分, 7 分."""
    if since is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时"
    if hours:
        return f"{hours} 小时 {minutes} 分"
    return f"{minutes} 分"


def work_queues(staff, seller_id, now) -> list[dict]:
    counts = fulfilment.queue_counts(staff, seller_id, now)
    oldest = fulfilment.oldest_ages(staff, seller_id, now)
    return [
        {
            "key": key,
            "label": label,
            "endpoint": endpoint,
            "count": counts[key],
            "oldest": age_text(oldest[key], now) if counts[key] else "",
        }
        for key, label, endpoint, action in QUEUES
        if fulfilment.may(staff, action)
    ]


@bp.get("/")
@access.staff_required()
def index():
    staff = access.current_staff()
    scope = access.seller_scope()
    now = utcnow()
    summary = {}
    if fulfilment.may(staff, "view"):
        summary["queues"] = work_queues(staff, scope, now)
        summary["today"] = fulfilment.day_counts(scope, china_day(now))
    if access.may(staff, AFTERSALES_ROLES):
        waiting = aftersales.queue(1, 1)
        first = waiting.items[0] if waiting.items else None
        summary["tickets"] = waiting.total
        summary["ticket_age"] = age_text(first.updated_at if first else None, now)
    if access.may(staff, access.OPERATORS):
        listing = deals.day_deals(china_day(now), now)
        summary["deals"] = [d.deal for d in listing if d.state == "running"]
        summary["scheduled"] = sum(d.state == "scheduled" for d in listing)
    if access.may(staff, access.CATALOG_EDITORS):
        threshold = current_app.config["STOCK_WARNING_THRESHOLD"]
        low = products.low_stock(1, 1, threshold, scope)
        summary["low_stock"], summary["threshold"] = low.total, threshold
    return render_template("admin/index.html", title="后台首页", summary=summary)
