"""The storefront: home with today's deals, categories, collections, products, search."""

from flask import Blueprint, abort, g, request
from flask_babel import gettext as _

from wapshop.clock import utcnow
from wapshop.parsing import parse_int
from wapshop.forms.checkout import CartForm
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


def render_product(product_id: int, form: CartForm | None = None, status: int = 200):
    """A product with its variants to choose from (and the add-to-cart form, with errors when
    it comes back refused)."""
    item = catalog.product(product_id)
    now = utcnow()
    offers = catalog.variant_offers(item, now)
    deal = catalog.current_deal(item.id, now)
    if offers:  # the deal shown is the one on the variants it covers
        deal = next((o.deal for o in offers if o.deal), None) or deal
    page = render_page(
        g.rendition,
        "catalog/product.html",
        product=item,
        deal=deal,
        now=now,
        offers=offers,
        buyable=[o for o in offers if o.available],
        form=form or CartForm(),
        sole=None if offers else catalog.default_variant(item),
        # WML: one pick list per option when there are several (their indexes are posted).
        picks=[f"o{i}" for i in range(1, len(item.options) + 1)]
        if len(item.options) > 1
        else ["v"],
    )
    return page, status


def picked_variant(product_id: int, fields) -> int | None:
    """The variant a WML deck picked with one pick list per option (o1, o2…: each value's
    1-based position), or None when the request picked that way nothing."""
    if "o1" not in fields:
        return None
    item = catalog.product(product_id)
    try:
        picks = [parse_int(fields.get(f"o{i}"), 1, 99) for i in range(1, len(item.options) + 1)]
    except ValueError:
        picks = []
    found = catalog.variant_by_choice(item, picks)
    if found is None:
        abort(400, _("请先选择款式（尺码、颜色）。"))
    return found.id


@bp.get("/p/<int:product_id>")
def product(product_id):
    return render_product(product_id)


@bp.get("/s")
def search():
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY:
        abort(400, _("搜索词太长了，请少于 %(n)d 个字。", n=MAX_QUERY))
    page = _keyed_page(catalog.search_products, query) if query.strip() else None
    return render_page(g.rendition, "catalog/search.html", query=query, page=page)
