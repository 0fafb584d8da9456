"""The storefront: home with today's deals, categories, collections, products, search."""

from flask import Blueprint, abort, g, request
from flask_babel import gettext as _

from wapshop.clock import utcnow
from wapshop.parsing import parse_int
from wapshop.services import catalog
from wapshop.web.rendering import render_page
from wapshop.services.pagination import PageOutOfRange, Position
from wapshop.views import page_arg, per_page

bp = Blueprint("catalog", __name__)

MAX_QUERY = 200


MAX_KEY = 2**31 - 1


def _page(fetch, *args):
    try:
        return fetch(*args, page_arg(), per_page())
    except PageOutOfRange:
        abort(404, _("没有这一页了。"))


def _key_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return parse_int(value, 0, MAX_KEY)
    except ValueError:
        abort(400, _("页码不对。"))


def _keyed_page(fetch, *args):
    """A page reached by keyset (?page=N&after=K or &before=K, see services/pagination); the
    pager's links carry the keys (templating.page_url reads g.keyed_page)."""
    after, before = _key_arg("after"), _key_arg("before")
    if after is not None and before is not None:
        abort(400, _("页码不对。"))
    try:
        page = fetch(*args, Position(page_arg(), after, before), per_page())
    except PageOutOfRange:
        abort(404, _("没有这一页了。"))
    g.keyed_page = page
    return page


@bp.get("/")
def home():
    now = utcnow()
    data = catalog.home(g.rendition, now, max_deals=per_page())
    return render_page(g.rendition, "catalog/home.html", home=data, now=now)


@bp.get("/c/<int:category_id>")
def category(category_id):
    cat = catalog.category(category_id)  # NotFound: the 404 page says why
    page = _keyed_page(catalog.category_products, cat)
    return render_page(g.rendition, "catalog/category.html", category=cat, page=page)


@bp.get("/z/<slug>")
def collection(slug):
    coll = catalog.collection(slug, g.rendition)
    page = _page(catalog.collection_products, coll)
    return render_page(g.rendition, "catalog/collection.html", collection=coll, page=page)


@bp.get("/p/<int:product_id>")
def product(product_id):
    item = catalog.product(product_id)
    now = utcnow()
    deal = catalog.current_deal(item.id, now)
    return render_page(g.rendition, "catalog/product.html", product=item, deal=deal, now=now)


@bp.get("/s")
def search():
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY:
        abort(400, _("搜索词太长了，请少于 %(n)d 个字。", n=MAX_QUERY))
    page = _keyed_page(catalog.search_products, query) if query.strip() else None
    return render_page(g.rendition, "catalog/search.html", query=query, page=page)
