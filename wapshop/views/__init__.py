"""Blueprints, one per user-facing area. Shared argument parsing lives here."""

from flask import abort, current_app, g, request
from flask_babel import gettext as _

from wapshop.parsing import parse_int
from wapshop.services import throttle
from wapshop.services.pagination import MAX_PAGE


def page_arg() -> int:
    """?page= as 1…MAX_PAGE; anything else is a 400 with a message, never a 500."""
    try:
        return parse_int(request.args.get("page", "1"), 1, MAX_PAGE)
    except ValueError:
        abort(400, _("页码不对。"))


def per_page() -> int:
    return current_app.config["PAGE_SIZE"][g.rendition]


def throttle_keys(action: str, phone: str) -> dict[str, int]:
    """Failure counters for an action, per phone and per client address, with their limits."""
    config = current_app.config
    return {
        f"{action}:phone:{phone}": config["THROTTLE_LIMIT"],
        f"{action}:addr:{request.remote_addr}": config["THROTTLE_ADDR_LIMIT"],
    }


def minutes_to_wait(keys: dict[str, int]) -> int | None:
    """None when the action may go ahead, else whole minutes until it may."""
    try:
        throttle.check(keys, current_app.config["THROTTLE_WINDOW"])
    except throttle.Throttled as slow:
        return slow.retry_after // 60 + 1
    return None
