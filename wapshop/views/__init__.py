"""Blueprints, one per user-facing area. Shared argument parsing lives here."""

from flask import abort, current_app, g, request
from flask_babel import gettext as _

from wapshop.services.pagination import MAX_PAGE


def page_arg() -> int:
    """?page= as 1…MAX_PAGE; anything else is a 400 with a message, never a 500."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        abort(400, _("页码不对。"))
    return int(raw)


def per_page() -> int:
    return current_app.config["PAGE_SIZE"][g.rendition]
