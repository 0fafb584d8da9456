"""Who is using the back office and what they may do.

Staff log in separately from buyers: the staff id sits in the server-side session under its
own key, next to the time of the last request, and a session idle for ADMIN_SESSION_LIFETIME
ends. Every admin page needs a logged-in staff member; `staff_required` names the roles."""

import time
from functools import wraps

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from wapshop.clock import china_text
from wapshop.forms.admin.staff import LogoutForm
from wapshop.models import Staff, StaffRole
from wapshop.services import staff as staff_service

STAFF_KEY = "staff_id"
SEEN_KEY = "staff_seen"  # epoch seconds of the last request
VERSION_KEY = "staff_version"  # the account's session_version at login
SEEN_WRITE_EVERY = 60  # seconds: an active session is rewritten at most once a minute
PUBLIC_ENDPOINTS = {"admin.staff.login"}

# Who does what (admins may do everything): the views and the navigation both use these.
ADMINS = (StaffRole.ADMIN,)
OPERATORS = (StaffRole.OPERATOR,)  # deals, catalogue, imports
CATALOG_EDITORS = (StaffRole.OPERATOR, StaffRole.SELLER)  # products; a seller only its own

NAVIGATION = (
    ("特价", "admin.deals.week", OPERATORS),
    ("商品", "admin.products.index", CATALOG_EDITORS),
    ("库存预警", "admin.products.stock", CATALOG_EDITORS),
    ("分类", "admin.categories.index", OPERATORS),
    ("专场", "admin.collections.index", OPERATORS),
    ("导入导出", "admin.imports.index", OPERATORS),
    (
        "订单",
        "admin.fulfilment_orders.index",
        (StaffRole.OPERATOR, StaffRole.SERVICE, StaffRole.SELLER),
    ),
    (
        "地址审核",
        "admin.fulfilment_queues.address",
        (StaffRole.OPERATOR, StaffRole.SERVICE, StaffRole.SELLER),
    ),
    ("电话确认", "admin.fulfilment_queues.calls", (StaffRole.SERVICE, StaffRole.SELLER)),
    ("发货", "admin.fulfilment_queues.shipping", (StaffRole.OPERATOR, StaffRole.SELLER)),
    (
        "配送结果",
        "admin.fulfilment_queues.delivery",
        (StaffRole.OPERATOR, StaffRole.SERVICE, StaffRole.SELLER),
    ),
    ("售后", "admin.aftersales.index", (StaffRole.SERVICE,)),
    ("结算", "admin.fulfilment_settlement.index", (StaffRole.OPERATOR,)),
    ("短信", "admin.outbox.index", (StaffRole.OPERATOR, StaffRole.SERVICE)),
    ("报表", "admin.reports.overview", (StaffRole.OPERATOR,)),
    ("运费", "admin.shipping.index", ADMINS),
    ("营销", "admin.marketing.index", OPERATORS),
    ("员工", "admin.staff.index", ADMINS),
    ("操作日志", "admin.audit.index", ADMINS),
)

MESSAGES = {
    400: "请求有误，请返回重试。",
    403: "你的角色没有权限做这件事。",
    404: "没有找到，可能已删除或地址有误。",
    405: "不支持这种操作。",
    413: "提交的文件太大了。",
    429: "尝试次数太多，请稍后再试。",
}


def current_staff() -> Staff | None:
    """The logged-in staff member of this request, if any."""
    return g.get("staff")


def may(staff: Staff | None, roles) -> bool:
    return staff is not None and (staff.role == StaffRole.ADMIN or staff.role in roles)


def seller_scope() -> int | None:
    """The seller whose products alone this staff member sees, or None for all of them."""
    staff = current_staff()
    return staff.seller_id if staff is not None and staff.role == StaffRole.SELLER else None


def start_session(staff: Staff) -> None:
    session.regenerate()  # the sid seen before login is worth nothing after it
    session[STAFF_KEY] = staff.id
    session[SEEN_KEY] = int(time.time())
    keep_session(staff)


def keep_session(staff: Staff) -> None:
    """This session stays valid after the account's own password change (its others end)."""
    session[VERSION_KEY] = staff.session_version


def end_session() -> None:
    for key in (STAFF_KEY, SEEN_KEY, VERSION_KEY):
        session.pop(key, None)
    session.regenerate()


def load_staff():
    """before_request for every admin page: load the staff member, end an idle session (or
    one whose account was deactivated), and send anyone not logged in to the login page."""
    g.staff = None
    if session.get(STAFF_KEY) is not None:
        g.staff = _staff_of_session()
    if g.staff is None and request.endpoint not in PUBLIC_ENDPOINTS:
        return _to_login()
    return None


def _staff_of_session() -> Staff | None:
    now = int(time.time())
    idle = now - session.get(SEEN_KEY, 0)
    staff = staff_service.active_staff(session[STAFF_KEY])
    if staff is None:
        end_session()
        return None
    if session.get(VERSION_KEY) != staff.session_version:
        end_session()
        flash("密码已更改，请重新登录。", "warning")
        return None
    if idle > current_app.config["ADMIN_SESSION_LIFETIME"].total_seconds():
        end_session()
        flash("长时间没有操作，请重新登录。", "warning")
        return None
    if idle >= SEEN_WRITE_EVERY:
        session[SEEN_KEY] = now
    return staff


def _to_login():
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("admin.staff.login", next=target), 303)


def staff_required(*roles):
    """Only staff with one of these roles (admins always; no roles: any staff). Not logged in:
    to the login page; logged in with another role: 403."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                return _to_login()
            if roles and not may(staff, roles):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def render_error(error: HTTPException):
    code = error.code or 500
    described = error.description if error.description != type(error).description else None
    message = described or MESSAGES.get(code, "出错了，请稍后再试。")
    return render_template("admin/error.html", title=f"错误 {code}", message=message), code


def cst(value) -> str:
    """Naive UTC from the database as China Standard Time, to the minute."""
    return china_text(value, "%Y-%m-%d %H:%M") if value else ""


def template_context() -> dict:
    staff = current_staff()
    nav = [(label, endpoint) for label, endpoint, roles in NAVIGATION if may(staff, roles)]
    return {
        "staff": staff,
        "nav": nav,
        "cst": cst,
        "logout_form": LogoutForm(formdata=None) if staff else None,
    }
