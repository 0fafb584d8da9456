"""The cart beside 立即购买: add (or buy now) from the product page, change quantities,
remove lines, check the whole cart out through the same confirmation as one-click buying."""

from flask import Blueprint, abort, g, redirect, request, session, url_for
from flask_babel import gettext as _

from wapshop.clock import utcnow
from wapshop.forms.checkout import CartChangeForm, CartForm
from wapshop.parsing import parse_id, parse_int
from wapshop.services import NotFound, cart, checkout
from wapshop.services.cart import SESSION_KEY
from wapshop.views.catalog import picked_variant, render_product
from wapshop.views.checkout import Here, confirm_page, place_from
from wapshop.web.rendering import render_page

bp = Blueprint("cart", __name__)


def _items() -> cart.Items:
    return cart.clean(session.get(SESSION_KEY))


def _store(items: cart.Items) -> None:
    if items:
        session[SESSION_KEY] = items
    else:
        session.pop(SESSION_KEY, None)


def _render(form, message: str = "", status: int = 200):
    lines = cart.lines(_items(), utcnow())
    return (
        render_page(
            g.rendition,
            "cart/show.html",
            form=form,
            lines=lines,
            goods_fen=sum(line.amount_fen for line in lines),
            message=message,
            max_quantity=checkout.MAX_QUANTITY,
        ),
        status,
    )


@bp.get("/cart")
def show():
    return _render(CartChangeForm())


@bp.post("/cart")
def change():
    """New quantities (q<variant id>, 0 removes) and removals (rm<variant id>)."""
    form = CartChangeForm()
    if not form.validate_on_submit():
        return _render(form, status=400)
    wanted: dict[int, int] = {}
    try:
        for key, value in request.form.items():
            if key.startswith("q") and key[1:].isascii() and key[1:].isdigit():
                wanted[parse_id(key[1:])] = parse_int(value, 0, checkout.MAX_QUANTITY)
            elif key.startswith("rm") and key[2:].isascii() and key[2:].isdigit():
                wanted[parse_id(key[2:])] = 0
    except ValueError:
        message = _("数量请填0到%(n)d（0 即删除）。", n=checkout.MAX_QUANTITY)
        return _render(form, message, 400)
    _store(cart.change(_items(), wanted))
    return redirect(url_for("cart.show"), 303)


@bp.post("/cart/add")
def add():
    """加入购物车, or 立即购买 (a `buy` button) with the chosen variant and quantity."""
    form = CartForm()
    try:  # the product page to show refusals on
        product_id = parse_id(request.args.get("p"))
    except ValueError:
        product_id = 0
    if not form.v.data and product_id and "o1" in request.form:
        form.v.data = str(picked_variant(product_id, request.form))
    if not form.validate_on_submit():
        if product_id:
            return render_product(product_id, form, status=400)
        abort(400, next(iter(form.errors.values()), [_("页面已过期，请再提交一次。")])[0])
    variant_id, quantity = int(form.v.data), int(form.q.data)
    if "buy" in request.form:
        quote = checkout.quote_variant(variant_id, utcnow())  # NotFound: the 404 page
        return redirect(
            url_for(
                "checkout.confirm",
                product_id=quote.product.id,
                v=variant_id,
                q=quantity if quantity > 1 else None,
            ),
            303,
        )
    try:
        _store(cart.add(_items(), variant_id, quantity, utcnow()))
    except cart.CartRefusal as refused:
        form.q.errors = [refused.message]
        if product_id:
            return render_product(product_id, form, status=refused.status)
        return _render(CartChangeForm(), str(refused.message), refused.status)
    except NotFound:
        abort(404, _("这个商品不存在或已下架。"))
    return redirect(url_for("cart.show"), 303)


def _cart_lines() -> list[checkout.Line]:
    return [checkout.Line(v, n) for v, n in _items()]


HERE = Here("cart.checkout_page", pinned=False, cart_lines=_cart_lines)


@bp.get("/cart/checkout")
def checkout_page():
    lines = _cart_lines()
    if not lines:
        return redirect(url_for("cart.show"), 303)
    return confirm_page(lines, HERE, url_for("cart.place"))


@bp.post("/cart/checkout")
def place():
    return place_from(HERE, url_for("cart.place"), placed_hook=lambda: _store([]))
