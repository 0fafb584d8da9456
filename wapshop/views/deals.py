"""更多特价: every deal running now for the rendition, a page at a time, for the deals the home
page has no room for (it shows the first PAGE_SIZE of them)."""

from flask import Blueprint, abort, g
from flask_babel import gettext as _

from wapshop.clock import utcnow
from wapshop.services import deal_calendar
from wapshop.services.pagination import PageOutOfRange
from wapshop.views import page_arg, per_page
from wapshop.web.rendering import render_page

bp = Blueprint("deals", __name__)


@bp.get("/deals")
def index():
    now = utcnow()
    try:
        page = deal_calendar.running_page(g.rendition, now, page_arg(), per_page())
    except PageOutOfRange:
        abort(404, _("没有这一页了。"))
    return render_page(g.rendition, "deals/index.html", page=page, now=now)
