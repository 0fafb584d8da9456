"""What every template may use: the money filter, countdowns, URLs for assets and switches."""

import hashlib
from datetime import datetime
from functools import cache
from pathlib import Path

from flask import current_app, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from jinja2 import pass_context
from markupsafe import Markup

from wapshop import renditions
from wapshop.clock import china_text, utcnow
from wapshop.money import format_fen
from wapshop.web.sessions import sid_fields


def countdown(ends_at: datetime, now: datetime | None = None) -> str:
    """Server-computed time left, e.g. '还剩 3小时12分'."""
    seconds = int(((ends_at - (now or utcnow())).total_seconds()))
    if seconds <= 0:
        return _("已结束")
    hours, minutes = divmod(seconds // 60, 60)
    if hours >= 24:
        return _("还剩 %(d)d天%(h)d小时", d=hours // 24, h=hours % 24)
    if hours:
        return _("还剩 %(h)d小时%(m)d分", h=hours, m=minutes)
    return _("还剩 %(m)d分", m=max(minutes, 1))


def deal_state(deal, now: datetime) -> str:
    """'剩12件 还剩 3小时12分', or '已抢光' once the units are gone."""
    if deal.remaining <= 0:
        return _("已抢光")
    return _("剩%(n)d件", n=deal.remaining) + " " + countdown(deal.ends_at, now)


def wml_text(value) -> Markup:
    """Escape for WML, where '$' starts a variable reference and must be doubled."""
    return Markup(str(Markup.escape(value)).replace("$", "$$"))


@cache
def _fingerprint(path: str) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:10]


def static_url(filename: str) -> str:
    """A fingerprinted static URL, cached for a year by the browser (see config)."""
    digest = _fingerprint(str(Path(current_app.static_folder) / filename))
    return url_for("static", filename=filename, v=digest)


def _query_args(*dropped: str) -> dict:
    """The request's query string for rebuilding its URL: without the sid, names in `dropped`
    or in the path (?product_id= on /p/1), or url_for's own (?_external=, ?_scheme=)."""
    path_args = request.view_args or {}
    return {
        k: v
        for k, v in request.args.items()
        if k not in ("sid", *dropped) and k not in path_args and not k.startswith("_")
    }


def _this_page_with(**override) -> str:
    """The current GET page's URL with some parameters replaced (home after a POST)."""
    args = _query_args(*override)
    endpoint = request.endpoint or "catalog.home"
    view_args = request.view_args or {}
    if request.method != "GET" or endpoint.startswith("static"):
        endpoint, view_args, args = "catalog.home", {}, {}
    return url_for(endpoint, **view_args, **args, **override)


@pass_context
def rendition_switch(context) -> list[tuple[str, str | None]]:
    """The footer's 简版 | 彩版 | 触屏版 links: (label, url or None for the page's own)."""
    current = context.get("rendition")
    return [
        (renditions.LABELS[r], None if r == current else _this_page_with(ver=r))
        for r in renditions.RENDITIONS
    ]


LANGUAGE_LABELS = {"zh_CN": "中文", "en": "English"}


def language_switch() -> list[tuple[str, str, str | None]]:
    """(code, label, url or None for the current language), for the touch footer."""
    current = str(get_locale())
    return [
        (code, label, None if code == current else _this_page_with(lang=code))
        for code, label in LANGUAGE_LABELS.items()
    ]


def page_url(page: int) -> str:
    """The current page's URL with another ?page=. On a keyset page (g.keyed_page) the next
    page's link carries ?after=<last key shown>, the previous one's ?before=<first key>."""
    args = _query_args("page", "after", "before")
    shown = g.get("keyed_page")
    if shown is not None and shown.items:
        if page == shown.number + 1:
            args["after"] = shown.last_key
        elif page == shown.number - 1 and page > 1:
            args["before"] = shown.first_key
    return url_for(request.endpoint, **(request.view_args or {}), **args, page=page)


def media_url(image: str, size: str) -> str:
    """URL of a product image variant; the name is fingerprinted, so it is cached for good."""
    return url_for("media.file", path=f"products/{image}-{size}.jpg")


@pass_context
def tpl(context, name: str) -> str:
    """The page's rendition's own template, else the one it falls back to (color → basic)."""
    names = current_app.jinja_env.list_templates() if current_app.debug else _templates()
    for candidate in renditions.template_names(context["rendition"], name):
        if candidate in names:
            return candidate
    raise LookupError(name)


@cache
def _templates() -> frozenset[str]:
    return frozenset(current_app.jinja_env.list_templates())


def hidden_pairs(form) -> list[tuple[str, str]]:
    """(name, value) of a form's hidden fields and CSRF token, for WML postfields."""
    return [(f.name, f._value()) for f in form if f.type in ("HiddenField", "CSRFTokenField")]


def init_app(app) -> None:
    app.jinja_env.filters["money"] = format_fen
    app.jinja_env.filters["wml"] = wml_text
    app.jinja_env.filters["localtime"] = china_text
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(
        static_url=static_url,
        rendition_switch=rendition_switch,
        language_switch=language_switch,
        page_url=page_url,
        sid_fields=sid_fields,
        media_url=media_url,
        tpl=tpl,
        deal_state=deal_state,
        hidden_pairs=hidden_pairs,
    )

    @app.context_processor
    def shop_context():
        return {"shop_name": app.config["SHOP_NAME"]}
