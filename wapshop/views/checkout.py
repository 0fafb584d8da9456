"""Buying: product → confirmation (one address line, receiver, payment, totals) → placed.
The same confirmation serves 立即购买 (one line, /buy/<product>) and the cart (views/cart.py,
/cart/checkout): both post the lines they showed, placed in one transaction."""

import secrets
from dataclasses import dataclass, replace

from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.checkout import (
    STREET_MAX,
    OrderForm,
    read_choice,
    digest_lines,
    encode_lines,
)
from wapshop.models import OrderStatus
from wapshop.parsing import parse_id, parse_int
from wapshop.payments import online, registry
from wapshop.services import accounts, addresses, checkout, payments, regions
from wapshop.services.members import coupons, points
from wapshop.services.phones import normalise
from wapshop.views.catalog import picked_variant
from wapshop.views.orders import remember_order, viewable_order
from wapshop.web.rendering import render_page
from wapshop.web.sessions import checkpoint, regenerate, save_now

bp = Blueprint("checkout", __name__)

ADDRESS_KEY = "addr"  # the session's last address, for a returning guest
# The coupon code and points chosen for this session's next purchase (until it is placed).
CHOICE_KEY = "disc"
# The coupons held that the confirmation lists (soonest to end first): any other is typed.
HELD_SHOWN = 3


@dataclass(frozen=True)
class Here:
    """Where a confirmation page lives, so its picker and change links come back to it."""

    endpoint: str
    args: tuple = ()
    title: str = ""
    # The lines are posted with the form (立即购买); else they are the session's cart, and
    # the form carries their digest only (a 2,000-byte WML deck cannot carry ten lines).
    pinned: bool = True
    cart_lines: object = None  # () -> list[Line], when not pinned

    def __call__(self, **extra) -> str:
        return url_for(self.endpoint, **dict(self.args), **extra)


@dataclass(frozen=True)
class Prefill:
    name: str
    phone: str
    region_code: str
    street: str


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


def _prefill() -> Prefill | None:
    """A returning buyer's last address: the account's, else what this session typed last."""
    if current_user.is_authenticated and (last := accounts.last_address(current_user.id)):
        return Prefill(last.receiver_name, last.phone or "", last.region_code, last.street)
    kept = session.get(ADDRESS_KEY)
    if isinstance(kept, list) and len(kept) == 4 and all(isinstance(x, str) for x in kept):
        return Prefill(*kept)
    return None


def _priced(lines, region, method_code):
    try:
        return checkout.quote_bill(
            lines, region, method_code, _buyer_phone(), _settings(), utcnow()
        )
    except checkout.LineGone as gone:
        abort(404, str(gone.message))


def _discounts(form, bill):
    """The members' discounts the form asks for on `bill` (its parts' discount_fen set); a
    coupon or points refused is shown on its field and priced without. Returns the Priced,
    the points a checkbox / select may offer (the most this bill can take, 0: none) and the
    status of the last refusal (None: none)."""
    now, (code, wanted) = utcnow(), _chosen()
    phone = normalise(form.phone.data or "")
    member, status, kept = None, None, ""
    while member is None:
        try:
            member = checkout.price_discounts(bill, phone, _buyer_phone(), code, wanted, now)
        except checkout.DiscountRefused as refused:
            status = refused.status
            if refused.message not in form.errors.get(refused.field or "", []):
                take_refusal(form, refused)
            if code and refused.field != "points":
                # A code chosen before the phone is typed (WML's deck) waits for the phone.
                kept = code if not phone and refused.status == 400 else ""
                code = ""
            else:
                wanted, form.points.data = 0, ""
    _choose(kept or code, member.points_used)  # what a submit places (a kept code: 409)
    form.coupon.data = form.mine.data = kept or code
    held = points.balance(_buyer_phone(), now)
    if not held:
        return member, 0, status
    shares = [part.discount_fen for part in bill.parts]
    most = checkout.price_discounts(bill, phone, _buyer_phone(), code, held, now)
    for part, fen in zip(bill.parts, shares, strict=True):
        part.discount_fen = fen
    return member, most.points_used, status


def render_confirm(
    form, lines, here, post_url, region, candidates=(), message="", status=200, page="confirm"
):
    options = payments.offers(region, _buyer_phone(), _settings()) if region else []
    offered = [m.code for m, offer in options if offer.offered]
    if offered and form.payment.data not in offered:
        form.payment.data = offered[0]  # e.g. no COD here: the first way that works
    priced, bill = _priced(lines, region, form.payment.data)
    member, points_offer, refused = _discounts(form, bill)
    if refused and status == 200 and request.method == "POST":
        status = refused  # a page merely shown (after WML's deck) says why, and answers 200
    shown = [checkout.Line(q.variant.id, n, q.unit_price_fen, q.deal_id) for q, n in priced]
    form.lines.data = encode_lines(shown) if here.pinned else digest_lines(shown)
    form.total.data = str(bill.total_fen) if region else ""
    form.region.data = region.code if region else ""
    one_click = here.endpoint == "checkout.confirm"
    if one_click and not form.quantity.errors:
        form.quantity.data = str(priced[0][1])
    return (
        render_page(
            g.rendition,
            f"checkout/{page}.html",
            form=form,
            priced=priced,
            bill=bill,
            member=member,
            points_offer=points_offer,
            held=coupons.held(_buyer_phone(), utcnow())[:HELD_SHOWN] if _buyer_phone() else [],
            here=here,
            post_url=post_url,
            region=region,
            region_name=regions.full_name(region) if region else "",
            candidates=[(r, regions.full_name(r)) for r in candidates],
            message=message,
            options=options,
            can_order=region is None or bool(offered),
            one_click=one_click,
        ),
        status,
    )


def render_picker(here, region, message: str = ""):
    """One level of the province → city → district pick list, as plain links."""
    return render_page(
        g.rendition,
        "checkout/region.html",
        here=here,
        path=regions.path(region) if region else [],
        choices=regions.children(region.code if region else None),
        message=message,
    )


def _chosen() -> tuple[str, int]:
    kept = session.get(CHOICE_KEY)
    if isinstance(kept, list) and len(kept) == 2:
        return read_choice(str(kept[0]), str(kept[1]))
    return "", 0


def _choose(code: str, wanted: int) -> None:
    if (code, wanted) != _chosen():
        session[CHOICE_KEY] = [code, wanted]


def confirm_page(lines, here, post_url):
    """The confirmation for these lines: pre-filled for a returning buyer, the region from
    the pick list (?region=, ?n=) when the buyer used it. The discounts deck (?d=1: WML's)
    sends its choice here (?coupon=, ?mine=, ?points=): kept, then the confirmation."""
    if {"coupon", "mine", "points"} & request.args.keys():
        _choose(*read_choice(request.args.get("coupon") or request.args.get("mine"),
                             request.args.get("points")))  # fmt: skip
        return redirect(here(region=request.args.get("region")), 303)
    last = _prefill()
    region = regions.get(request.args.get("d") or request.args.get("region"))
    if "n" in request.args:  # a pick list's index (WML's iname) under the region, or the top
        region = regions.nth_child(region.code if region else None, request.args["n"]) or region
    if "pick" in request.args or (region is not None and region.level != regions.DISTRICT):
        return render_picker(here, region)
    if region is None and last is not None:
        region = regions.get(last.region_code)
    form = OrderForm(
        token=secrets.token_urlsafe(12),
        name=last.name if last else "",
        phone=(last.phone if last else None) or _gateway_phone() or "",
        street=last.street if last and region and last.region_code == region.code else "",
    )
    page = "discounts" if "d" in request.args and region is not None else "confirm"
    return render_confirm(form, lines, here, post_url, region, page=page)


def place_from(here, post_url, placed_hook=None):
    """Submit of a confirmation page. Without a confirmed region, the address line is parsed
    and the page shown again with the region to confirm (or candidates, or the pick list);
    with one, the shown lines and total are placed, all or nothing."""
    form = OrderForm()
    first = checkout.find_by_token(form.token.data or "")
    if first is not None and form.is_submitted():
        form.validate()
        if not form.csrf_token.errors:
            return _placed(_summary(checkout.purchase_of(first)), placed_hook)  # a twin
    if here.pinned:
        try:
            lines = form.seen_lines if form.lines.data else here.cart_lines()
        except ValueError:
            abort(400, _("页面已过期，请再提交一次。"))
    else:
        lines = here.cart_lines()
        if not lines:
            return redirect(url_for("cart.show"), 303)
        priced, _bill = _priced(lines, None, None)
        lines = [checkout.Line(q.variant.id, n, q.unit_price_fen, q.deal_id) for q, n in priced]
        if digest_lines(lines) != form.lines.data:
            region = regions.get(form.region.data)
            message = _("购物车里的商品或价格有变化，请确认后再提交。")
            return render_confirm(form, lines, here, post_url, region, message=message, status=409)
    region = regions.get(form.region.data)
    if region is None or region.level != regions.DISTRICT:
        return _confirm_region(form, lines, here, post_url)
    if not form.validate_on_submit():
        return render_confirm(form, lines, here, post_url, region, status=400)
    if (chosen := form.posted_choice()) is not None and chosen != _chosen():
        # Another coupon or points chosen: the buyer sees what it saves before placing.
        _choose(*chosen)
        message = _("已按所选优惠重新计算，请确认应付金额后提交。")
        return render_confirm(form, lines, here, post_url, region, message=message)
    if form.quantity.data and len(lines) == 1 and int(form.quantity.data) != lines[0].quantity:
        # 立即购买's quantity changed on the page: the buyer has not seen this total yet.
        lines = [replace(lines[0], quantity=int(form.quantity.data))]
        message = _("数量已改为 %(n)d 件，请确认新的应付金额后提交。", n=lines[0].quantity)
        return render_confirm(form, lines, here, post_url, region, message=message)
    req = checkout.OrderRequest(
        lines=tuple(lines),
        seen_total_fen=form.seen_total,
        receiver_name=form.name.data,
        phone=form.phone.data,
        region_code=region.code,
        street=form.street.data,
        payment_method=form.payment.data,
        form_token=form.token.data,
        buyer_id=_buyer_id(),
        buyer_phone=_buyer_phone(),
        rendition=g.rendition,
        coupon_code=_chosen()[0],
        points=_chosen()[1],
    )

    def granted(placed):
        """What the session keeps of this purchase (the address, its orders; a new sid)."""
        session[ADDRESS_KEY] = [req.receiver_name, req.phone, req.region_code, req.street]
        session.pop(CHOICE_KEY, None)
        return _placed(placed, placed_hook)

    try:
        # The session is written in the purchase's own transaction: one COMMIT.
        return _place(req, granted)
    except checkout.AlreadyPlaced as twice:
        return granted(_summary(twice.orders))
    except checkout.CheckoutError as refused:
        db.session.rollback()
        if (twin := checkout.find_by_token(req.form_token)) is not None:
            # A twin submit committed while this one waited (on PostgreSQL, for its row
            # locks), and what it took (a coupon's use, points, the last units) refused
            # this one: show the twin's orders.
            return _placed(_summary(checkout.purchase_of(twin)), placed_hook)
        take_refusal(form, refused)
        return render_confirm(form, lines, here, post_url, region, status=refused.status)


NUMBER_DRAWS = 3  # placings of one purchase when its random order number was drawn before


def _place(req, granted):
    """Place and commit the purchase, and return `granted(its orders' (number, status))`,
    the response. The session it changes is written in the purchase's own transaction
    (save_now), in the round trip that writes the orders' lines, before the rows other buyers
    share are taken: one COMMIT for both, and no session write while those rows are held. A refusal
    after that puts the session back (checkpoint) as the rollback puts its rows. A twin
    submit that committed first (IntegrityError on the form token): the twin's, its session
    saved after the view as usual. An order number drawn twice (IntegrityError, no twin):
    placed again with new numbers."""
    for draw in range(NUMBER_DRAWS):
        restore = checkpoint()
        answered = []

        def written(orders, batch):
            answered.append(granted(_summary(orders)))  # numbers and statuses: no reload
            save_now(batch)

        try:
            checkout.place(req, utcnow(), _settings(), twin_checked=draw == 0, written=written)
            if req.buyer_id:
                accounts.remember_address(
                    req.buyer_id, req.receiver_name, req.phone, req.region_code, req.street
                )
            db.session.flush()  # the last of the purchase: nothing left to refuse it
        except IntegrityError:
            restore()
            db.session.rollback()
            first = checkout.find_by_token(req.form_token)
            if first is not None:
                return granted(_summary(checkout.purchase_of(first)))
            if draw == NUMBER_DRAWS - 1:
                raise
            continue
        except BaseException:
            restore()  # the caller rolls back (a refusal) or answers 500
            raise
        db.session.commit()
        return answered[0]
    raise AssertionError("unreachable")


def _summary(orders) -> list[tuple[str, str]]:
    return [(order.number, order.status) for order in orders]


def _placed(placed: list[tuple[str, str]], placed_hook=None):
    """The redirect after a purchase, given its orders' (number, status)."""
    for number, _status in reversed(placed):
        remember_order(number)
    if placed_hook:
        placed_hook()
    regenerate()  # a grant of access: whoever knew the old sid (a shared link) sees nothing
    number, status = placed[0]
    if len(placed) == 1 and status == OrderStatus.AWAITING_PAYMENT:
        return redirect(url_for("payments.show", number=number), 303)
    return redirect(url_for("checkout.placed", number=number), 303)


def _confirm_region(form, lines, here, post_url):
    """The address line (or a candidate chosen) → the region, shown for the buyer to confirm."""
    chosen = regions.get(form.area.data)
    region, candidates, message = None, [], ""
    if chosen is not None and chosen.level == regions.DISTRICT:
        region = chosen
    elif form.address.data:
        parsed = addresses.parse(form.address.data[: STREET_MAX + 20])
        region, candidates = parsed.region, parsed.candidates
        if region is not None or candidates:
            form.street.data = parsed.street
        else:
            message = _("没认出省市区，请写全（如：广东省深圳市南山区科技园路1号），或选择地区。")
    form.validate_on_submit()
    form.payment.errors = []  # chosen once the region is known
    if region is None and not candidates:
        form.street.errors = []  # the address line says what is missing
        if not form.address.data:
            message = _("请先选择收货地区，或写上完整的收货地址。")
    ok = region is not None or bool(candidates)
    return render_confirm(
        form, lines, here, post_url, region, candidates, message, status=200 if ok else 400
    )


def _one_line(product_id: int):
    """?v= (the chosen variant, or WML's o1, o2… picks) and ?q= (how many) of 立即购买."""
    try:
        variant_id = (
            parse_id(request.args["v"])
            if request.args.get("v")
            else picked_variant(product_id, request.args)
        )
        quantity = parse_int(request.args.get("q") or "1", 1, checkout.MAX_QUANTITY)
    except ValueError:
        abort(400, _("数量请填1到%(n)d。", n=checkout.MAX_QUANTITY))
    return variant_id, quantity


def _one_click(product_id: int, variant_id: int | None, quantity: int):
    quote = checkout.quote(product_id, utcnow(), variant_id)  # NotFound: the 404 page
    if variant_id is None and quote.variant.values_json != "[]":
        abort(400, _("请先在商品页选择款式（尺码、颜色）。"))
    if request.method == "GET" and variant_id is not None and quote.variant.stock <= 0:
        abort(409, _("「%(item)s」已售完，请选择别的款式。", item=quote.name))
    here = Here(
        "checkout.confirm",
        (("product_id", product_id), ("v", variant_id), ("q", quantity if quantity > 1 else None)),
        quote.product.title,
    )
    lines = [checkout.Line(quote.variant.id, quantity)]
    return here, lines, url_for("checkout.place", product_id=product_id)


@bp.get("/buy/<int:product_id>")
def confirm(product_id):
    here, lines, post_url = _one_click(product_id, *_one_line(product_id))
    return confirm_page(lines, here, post_url)


@bp.post("/buy/<int:product_id>")
def place(product_id):
    try:  # the one line's variant, for the links back (place_from checks the lines)
        variant_id = parse_id(request.form.get("lines", "").split(".", 1)[0])
    except ValueError:
        variant_id = None
    here, lines, post_url = _one_click(product_id, variant_id, 1)

    def shown_before_lines():
        """A page from before carts (price and deal fields, no lines): its one line."""
        price = parse_int(request.form.get("price") or "0")
        deal = parse_int(request.form.get("deal") or "0")
        return [checkout.Line(lines[0].variant_id, 1, price or None, deal or None)]

    return place_from(replace(here, cart_lines=shown_before_lines), post_url)


@bp.get("/buy/done/<number>")
def placed(number):
    order = viewable_order(number)
    parts = [viewable_order(o.number) for o in checkout.purchase_of(order)]
    return render_page(
        g.rendition,
        "checkout/placed.html",
        order=order,
        parts=parts,
        total_fen=sum(p.total_fen for p in parts),
        method_label=registry.by_code(order.payment_method, _settings()).label,
        awaiting=OrderStatus.AWAITING_PAYMENT,
    )
