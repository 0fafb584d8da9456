"""Blueprints, one per user-facing area. Shared argument parsing lives here."""

from flask import abort, current_app, g, request
from flask_babel import gettext as _

from wapshop.extensions import db
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


def take_attempt(
    action: str,
    subject: str,
    limit: int | None = None,
    addr_limit: int | None = None,
    pair: bool = True,
) -> tuple[dict[str, int], int | None]:
    """Count one attempt at `action` on `subject` (a phone, a username) from this client
    before it is tried, and commit the count: parallel tries never pass the limit. Returns
    the counters (for throttle.succeeded) and None, or whole minutes to wait."""
    config = current_app.config
    limits = throttle.limits_for(
        action,
        subject,
        request.remote_addr,
        limit or config["THROTTLE_LIMIT"],
        addr_limit or config["THROTTLE_ADDR_LIMIT"],
        pair,
    )
    try:
        throttle.take(limits, config["THROTTLE_WINDOW"])
    except throttle.Throttled as slow:
        db.session.rollback()
        return limits, slow.retry_after // 60 + 1
    db.session.commit()
    return limits, None
