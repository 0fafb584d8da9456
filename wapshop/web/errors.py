"""One renderer for every error page, in the request's rendition and language."""

import logging

from flask import g
from flask.globals import request_ctx
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.exceptions import NotFound as HTTPNotFound

from wapshop.extensions import db
from wapshop import renditions
from wapshop.services import NotFound
from wapshop.web.rendering import render_page

log = logging.getLogger(__name__)


def messages() -> dict[int, str]:
    return {
        400: _("请求有误，请返回重试。"),
        403: _("没有权限查看这个页面。"),
        404: _("没有找到这个页面，可能已下架或地址有误。"),
        405: _("不支持这种操作。"),
        413: _("提交的内容太长了。"),
        429: _("尝试次数太多，请稍后再试。"),
        500: _("系统忙，请稍后再试。"),
    }


def render_error(error: HTTPException):
    code = error.code or 500
    described = error.description if error.description != type(error).description else None
    message = described or messages().get(code) or messages()[500]
    if request_ctx.url_adapter is None:
        # A Host header no URL can be built for (300 characters, not IDNA): no page links.
        return message, code, {"Content-Type": "text/plain; charset=utf-8"}
    rendition = g.get("rendition") or renditions.DEFAULT
    response = render_page(rendition, "errors/error.html", code=code, message=message)
    if error.code == 429 and getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response, code


def not_found(error: NotFound):
    """A service found nothing (or nothing the asker may see): its 404 page, with its words."""
    db.session.rollback()
    return render_error(HTTPNotFound(str(error.message)))


def handle_exception(error: Exception):
    """Anything unexpected: roll back the unit of work and answer with a short page."""
    db.session.rollback()
    log.exception("unhandled error", exc_info=error)
    return render_error(InternalServerError())


def init_app(app) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(NotFound, not_found)
    app.register_error_handler(Exception, handle_exception)
