"""What several back-office views share: paging, the fulfilment settings and roles, risk
flags, action forms for an order as it is now, and where to go after an action."""

from flask import abort, current_app, request

from wapshop.services import fulfilment, risk
from wapshop.services.pagination import PageOutOfRange
from wapshop.web.sessions import local_target
from wapshop.views import page_arg
from wapshop.views.admin.access import seller_scope

ROLES = fulfilment.ACTION_ROLES
CONFLICT = "没有执行：同一运单号或同一笔退款刚被别人登记了。请看最新状态后再决定。"


def fulfilment_settings() -> fulfilment.Settings:
    return fulfilment.settings_from(current_app.config)


def risk_settings() -> risk.Settings:
    return risk.Settings.from_config(current_app.config)


def order_flags(orders) -> dict:
    """Risk flags for these orders, as the current staff member may see them: a seller's
    are worked out from its own orders only."""
    return risk.flags_for(list(orders), risk_settings(), seller_scope())


def page_of(fetch, *args, **kwargs):
    try:
        return fetch(page_arg(), current_app.config["ADMIN_PAGE_SIZE"], *args, **kwargs)
    except PageOutOfRange:
        abort(404)


def next_url(default: str) -> str:
    """Where to go after an action: the queue it was taken from, else `default`."""
    return local_target(request.form.get("next"), prefix="/admin") or default


def expecting(order, form_class, next_url: str = "", **kwargs):
    """A form for acting on the order as it is now (and coming back to `next_url`)."""
    form = form_class(formdata=None, **kwargs)
    form.expected.data = order.status
    form.next.data = next_url
    return form
