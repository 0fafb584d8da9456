"""One-click buying: product → confirmation (region, receiver, payment) → order placed."""

import secrets

from flask import Blueprint, abort, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.checkout import OrderForm
from wapshop.models import OrderStatus
from wapshop.clock import utcnow
from wapshop.payments import online, registry
from wapshop.services import NotFound, accounts, checkout, payments, regions
from wapshop.web.rendering import render_page
from wapshop.services.phones import normalise
from wapshop.web.sessions import regenerate
from wapshop.views.orders import remember_order, viewable_order

bp = Blueprint("checkout", __name__)


def _quote(product_id: int) -> checkout.Quote:
    try:
        return checkout.quote(product_id, utcnow())
    except NotFound:
        abort(404, _("这个商品不存在或已下架。"))


def _buyer_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _buyer_phone() -> str | None:
    return current_user.phone if current_user.is_authenticated else None


def _gateway_phone() -> str | None:
    """The operator gateway's caller-id header, trusted only from configured gateways."""
    if request.remote_addr in current_app.config["TRUSTED_GATEWAYS"]:
        return normalise(request.headers.get("x-up-calling-line-id", ""))
    return None


def _settings() -> online.Settings:
    return online.Settings.from_config(current_app.config)


def _render_confirm(form: OrderForm, quote: checkout.Quote, region, status: int = 200):
    options = payments.offers(region, _buyer_phone(), _settings())
    offered = [m.code for m, offer in options if offer.offered]
    if offered and form.payment.data not in offered:
        form.payment.data = offered[0]  # e.g. no COD here: the first way that works
    return (
        render_page(
            g.rendition,
            "checkout/confirm.html",
            form=form,
            quote=quote,
            product=quote.product,
            region=region,
            region_name=regions.full_name(region),
            options=options,
            can_order=any(offer.offered for _m, offer in options) and quote.max_quantity > 0,
        ),
        status,
    )


def _render_picker(quote: checkout.Quote, region, message: str = ""):
    """One level of the province → city → district pick list, as plain links."""
    return render_page(
        g.rendition,
        "checkout/region.html",
        product=quote.product,
        path=regions.path(region) if region else [],
        choices=regions.children(region.code if region else None),
        message=message,
    )


@bp.get("/buy/<int:product_id>")
def confirm(product_id):
    quote = _quote(product_id)
    last = accounts.last_address(current_user.id) if current_user.is_authenticated else None
    region = regions.get(request.args.get("region"))
    if "n" in request.args:  # a pick list's index (WML's iname) under the region, or the top
        region = regions.nth_child(region.code if region else None, request.args["n"]) or region
    if region is None and last is not None and "pick" not in request.args:
        region = regions.get(last.region_code)
    if region is None or region.level != regions.DISTRICT:
        return _render_picker(quote, region)
    form = OrderForm(
        token=secrets.token_urlsafe(16),
        price=str(quote.unit_price_fen),
        deal=str(quote.deal_id or ""),
        region=region.code,
        name=last.receiver_name if last else "",
        phone=(last.phone if last else None) or _gateway_phone() or "",
        street=last.street if last and last.region_code == region.code else "",
    )
    return _render_confirm(form, quote, region)


@bp.post("/buy/<int:product_id>")
def place(product_id):
    quote = _quote(product_id)
    form = OrderForm()
    region = regions.get(form.region.data)
    if region is None or region.level != regions.DISTRICT:
        return _render_picker(quote, None, _("请先选择收货地区（省、市、区县）。")), 400
    if not form.validate_on_submit():
        return _render_confirm(form, quote, region, 400)
    request_ = checkout.OrderRequest(
        product_id=product_id,
        quantity=int(form.quantity.data),
        receiver_name=form.name.data,
        phone=form.phone.data,
        region_code=region.code,
        street=form.street.data,
        payment_method=form.payment.data,
        form_token=form.token.data,
        seen_price_fen=int(form.price.data) if form.price.data else None,
        seen_deal_id=int(form.deal.data) if form.deal.data else None,
        buyer_id=_buyer_id(),
        buyer_phone=_buyer_phone(),
        rendition=g.rendition,
    )
    try:
        order = checkout.place_order(request_, utcnow(), _settings())
        if request_.buyer_id:
            accounts.remember_address(
                request_.buyer_id, form.name.data, form.phone.data, region.code, form.street.data
            )
        db.session.commit()
    except checkout.AlreadyPlaced as twice:
        order = twice.order
    except IntegrityError:
        # A twin submit committed first: show its order.
        db.session.rollback()
        order = checkout.find_by_token(request_.form_token)
        if order is None:
            raise
    except checkout.CheckoutError as refused:
        db.session.rollback()
        quote = _quote(product_id)
        take_refusal(form, refused)
        if isinstance(refused, checkout.QuoteChanged):
            form.price.data = str(quote.unit_price_fen)
            form.deal.data = str(quote.deal_id or "")
        return _render_confirm(form, quote, region, refused.status)
    remember_order(order.number)
    regenerate()  # a grant of access: whoever knew the old sid (a shared link) sees nothing
    if order.status == OrderStatus.AWAITING_PAYMENT:
        return redirect(url_for("payments.show", number=order.number), 303)
    return redirect(url_for("checkout.placed", number=order.number), 303)


@bp.get("/buy/done/<number>")
def placed(number):
    order = viewable_order(number)
    return render_page(
        g.rendition,
        "checkout/placed.html",
        order=order,
        method_label=registry.by_code(order.payment_method, _settings()).label,
    )
