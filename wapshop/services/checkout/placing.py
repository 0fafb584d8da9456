"""Placing a purchase: every line's stock, deal units and per-buyer limits taken in one
transaction, one order per seller. Adds and flushes; the caller commits once, so any refusal
leaves no order and no stock change behind.

Every read comes first (prices, region, fees, discounts: a refusal the reads already show,
e.g. a sold-out deal, costs no write), then the orders are inserted. Their lines, first events
and SMS (and the caller's session) go to the database in one round trip (web/pipeline.py) with
the conditional UPDATEs that take the rows every buyer of the same goods shares, after them and
in the one order every stock change keeps (services/stock.py: all variants ascending, then
their products, then the deals ascending), followed by the per-buyer count; then the members'
discounts. The shared rows are held from those UPDATEs to COMMIT only, not for the whole
transaction; two carts sharing goods never wait on each other's rows the other way round.

Nothing is locked while the prices are read: an admin's price change committed between this
read and our commit does not reach this purchase, which is placed at the price the buyer saw
and confirmed (the check against the seen price and total is against this read). A deal's
price, window and units are rechecked by its conditional UPDATE."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select, update

from wapshop.extensions import db
from wapshop.models import Deal, Order, OrderEvent, OrderItem, OrderStatus, Variant
from wapshop.payments import PaymentMethod, registry
from wapshop.payments.online import Settings
from wapshop.services import Refusal, balances, catalog, notify, payments, regions, stock
from wapshop.services.checkout import discounts
from wapshop.services.members import pricing
from wapshop.web import pipeline
from wapshop.services.checkout.quotes import (
    MAX_LINES,
    MAX_QUANTITY,
    CheckoutError,
    Line,
    Part,
    QuoteChanged,
    price_lines,
    totals,
)


class SoldOut(CheckoutError):
    field = None  # shown above the form: the message names the item


class OverLimit(CheckoutError):
    field = None  # shown above the form: the message names the item


class RegionInvalid(CheckoutError):
    field = "region"


class PaymentUnavailable(CheckoutError):
    field = "payment"


class BadLines(CheckoutError):
    field = None  # shown above the form: the message names the item


class DiscountRefused(CheckoutError):
    """A coupon or points the buyer asked for that this purchase cannot have (now): the
    pricing's refusal, on the same field; 409 when a cap or balance ran out at placing."""


class AlreadyPlaced(Exception):
    """This confirmation was submitted before; here are its orders."""

    def __init__(self, orders: list[Order]):
        super().__init__(orders[0].number)
        self.order = orders[0]
        self.orders = orders


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    receiver_name: str
    phone: str  # normalised
    region_code: str
    street: str
    payment_method: str
    form_token: str
    lines: tuple[Line, ...] = ()
    # What the buyer saw as the total to pay; None: not checked (one product's shorthand).
    seen_total_fen: int | None = None
    # Shorthand for one product (the demo's history, benches): its sole or first variant.
    product_id: int | None = None
    quantity: int = 1
    seen_price_fen: int | None = None
    seen_deal_id: int | None = None
    buyer_id: int | None = None
    buyer_phone: str | None = None  # the logged-in account's phone, for its balance
    rendition: str = "touch"
    # Members' discounts: a typed or picked coupon code, and points to spend. Only a
    # logged-in buyer's phone (buyer_phone) is proven: a typed phone gets 满减 and public codes.
    coupon_code: str = ""
    points: int = 0


# Built once (their cache keys with them): every order runs them.
_BOUGHT_IN_DEAL = (
    select(func.coalesce(func.sum(OrderItem.quantity), 0))
    .join(Order, Order.id == OrderItem.order_id)
    .where(
        OrderItem.deal_id == bindparam("deal_id"),
        Order.phone == bindparam("phone"),
        Order.status != OrderStatus.CANCELLED,
    )
)
_BY_TOKEN = select(Order.id).where(Order.form_token == bindparam("token"))
_TAKE_DEAL_UNITS = (
    update(Deal)
    .where(
        Deal.id == bindparam("deal_id"),
        Deal.stopped.is_(False),
        Deal.starts_at <= bindparam("now"),
        Deal.ends_at > bindparam("now"),
        Deal.deal_price_fen == bindparam("price"),
        Deal.sold + bindparam("wanted") <= Deal.quantity,
    )
    .values(sold=Deal.sold + bindparam("wanted"))
    .execution_options(synchronize_session=False)
)


def bought_in_deal(deal_id: int, phone: str) -> int:
    """Units of this deal on the phone's orders that are not cancelled."""
    return db.session.scalar(_BOUGHT_IN_DEAL, {"deal_id": deal_id, "phone": phone})


def token_of(token: str, part: int) -> str:
    """Each order of a purchase keeps its own unique form token: the first the page's."""
    return token if part == 0 else f"{token}.{part + 1}"


def find_by_token(token: str) -> Order | None:
    """The order placed from this confirmation (its token), if any. Every submit looks: the
    id alone, then the order only when there is one."""
    order_id = db.session.scalar(_BY_TOKEN, {"token": token})
    return db.session.get(Order, order_id) if order_id is not None else None


def purchase_of(order: Order) -> list[Order]:
    """The orders placed together with this one (itself alone when it has no group)."""
    if not order.group_number:
        return [order]
    return list(
        db.session.scalars(
            select(Order).where(Order.group_number == order.group_number).order_by(Order.id)
        )
    )


def new_order_number() -> str:
    """Ten random digits, never starting with 0: readable over the phone, not sequential.
    Not checked here: the unique index refuses a number drawn twice (about once in a
    billion at a million orders), and the caller places the purchase again."""
    return str(10**9 + secrets.randbelow(9 * 10**9))


def _lines(req: OrderRequest) -> list[Line]:
    if req.lines:
        lines = list(req.lines)
    else:
        product = catalog.product(req.product_id) if req.product_id else None
        variant = catalog.default_variant(product) if product else None
        if variant is None:
            raise SoldOut(_l("库存不足，请减少数量或看看别的商品。"))
        lines = [Line(variant.id, req.quantity, req.seen_price_fen, req.seen_deal_id)]
    if not 1 <= len(lines) <= MAX_LINES or len({line.variant_id for line in lines}) < len(lines):
        raise BadLines(_l("页面已过期，请回购物车再提交一次。"))
    if any(not 1 <= line.quantity <= MAX_QUANTITY for line in lines):
        raise BadLines(_l("数量请填1到%(n)d。", n=MAX_QUANTITY))
    return sorted(lines, key=lambda line: line.variant_id)


def place(
    req: OrderRequest,
    now: datetime,
    settings: Settings,
    twin_checked: bool = False,
    written=None,
) -> list[Order]:
    """Take stock and deal units for every line atomically and write one order per seller
    (sharing a group number when there are several), each with its first event; orders
    paid from the balance are paid here. `twin_checked`: the caller looked the form token up
    in this request already (a twin committed since is refused by the unique index).
    `written(orders, batch)`: called once the orders are flushed; what the caller adds to
    `batch` (pipeline.Batch) is sent with the orders' lines, before any row other buyers share
    is taken (not held under those rows' locks).

    Raises AlreadyPlaced, RegionInvalid, PaymentUnavailable, LineGone, QuoteChanged, SoldOut,
    OverLimit or BadLines. Flushes; the caller commits (or rolls back on IntegrityError,
    which means a concurrent twin submit won: look the order up by token)."""
    if not twin_checked and (existing := find_by_token(req.form_token)) is not None:
        raise AlreadyPlaced(purchase_of(existing))
    lines = _lines(req)
    region = regions.get(req.region_code)
    if region is None or region.level != regions.DISTRICT:
        raise RegionInvalid(_l("请选择收货地区（省、市、区县）。"))
    method = registry.by_code(req.payment_method, settings)
    if method is None:
        raise PaymentUnavailable(_l("请选择付款方式。"))
    offer = method.availability(payments.situation(region, req.buyer_phone))
    if not offer.offered:
        raise PaymentUnavailable(offer.reason or _l("这种付款方式现在不能用，请换一种。"))

    priced = price_lines(lines, now, check_seen=True)
    _refuse_from_reads(priced)
    bill = totals(priced, region, offer.carrier, cash_on_delivery(method))
    member = price_discounts(bill, req.phone, req.buyer_phone, req.coupon_code, req.points, now)
    # After the lines' own refusals, which say which item and why.
    if req.seen_total_fen is not None and bill.total_fen != req.seen_total_fen:
        if bill.total_fen + bill.discount_fen == req.seen_total_fen or member.discount_fen:
            raise QuoteChanged(_l("优惠有变化，请看好新的应付金额后再提交。"))
        raise QuoteChanged(_l("应付总额有变化（运费或价格），请确认新的金额后再提交。"))
    region_text = regions.full_name(region)
    orders = [
        _write_order(req, part, i, region_text, method, offer.carrier, now)
        for i, part in enumerate(bill.parts)
    ]
    if len(orders) > 1:
        for order in orders:
            order.group_number = orders[0].number
    db.session.flush()  # the orders (their ids): no shared row locked yet
    batch = pipeline.Batch()
    for order, part in zip(orders, bill.parts):
        batch.add(_order_rows(order, part, req.buyer_id, method.code, now))
    if written is not None:
        written(orders, batch)
    _take_shared_rows(priced, req.phone, now, batch)
    try:
        pricing.redeem(member, orders, now)
    except Refusal as gone:
        raise DiscountRefused(gone.message, gone.field, status=409) from None
    if method.from_balance:
        for order in orders:
            _pay_from_balance(order, method)
    return orders


def price_discounts(bill, typed_phone, buyer_phone, code, points_to_use, now):
    """The members' discounts on `bill` (each part's discount_fen set). A logged-in buyer's
    phone is proven; else the typed phone, unproven. Raises DiscountRefused."""
    try:
        return discounts.price(
            bill, buyer_phone or typed_phone, bool(buyer_phone), code, points_to_use, now
        )
    except Refusal as refused:
        raise DiscountRefused(refused.message, refused.field, refused.status) from None


def place_order(req: OrderRequest, now: datetime, settings: Settings) -> Order:
    """place() for a purchase of one seller's goods: its order."""
    return place(req, now, settings)[0]


def cash_on_delivery(method: PaymentMethod) -> bool:
    return method.code == "cod"


def quote_bill(lines: list[Line], region, method_code: str | None, buyer_phone, settings, now):
    """Totals before members' discounts (price_discounts adds them) as the confirmation page
    shows them for a way to pay (its carrier and COD fee). Raises LineGone."""
    priced = price_lines(lines, now, check_seen=False)
    method = registry.by_code(method_code, settings) if method_code else None
    carrier, cod = None, False
    if region is not None and method is not None:
        carrier = method.availability(payments.situation(region, buyer_phone)).carrier
        cod = cash_on_delivery(method)
    return priced, totals(priced, region, carrier, cod)


def _refuse_from_reads(priced) -> None:
    """What the plain reads already show, refused before anything is written (on SQLite a
    write takes the one database lock): a line short of stock, a deal short of units. The
    conditional UPDATEs decide in the end; these only spare a refused buyer the writes."""
    units: dict[int, int] = {}
    for q, quantity in priced:
        if q.variant.stock < quantity:
            raise _short_of_stock(q, max(q.variant.stock, 0))
        if q.deal is not None:
            units[q.deal.id] = units.get(q.deal.id, 0) + quantity
            if q.deal.remaining < units[q.deal.id]:
                raise SoldOut(
                    _l(
                        "「%(item)s」特价只剩 %(n)d 件了，请减少数量。",
                        item=q.name,
                        n=q.deal.remaining,
                    )
                )


def _take_shared_rows(priced, phone: str, now: datetime, batch: pipeline.Batch) -> None:
    """Every line's stock (all variants, then their products), then per deal (ascending id) a
    conditional UPDATE for the units of all its lines and the per-buyer count across them and
    the phone's earlier orders: sent after what `batch` holds, together, in that order, in one
    round trip (web/pipeline.py), so the rows every buyer shares are held for that round trip
    and the COMMIT only. Each statement still sees what committed before it ran: a twin purchase
    of the same phone waits for the deal's row, then counts the other's lines. Raises SoldOut,
    QuoteChanged or OverLimit for the first thing short, in that order; the caller rolls back
    what the others took."""
    taking = stock.Taking({q.variant.id: (q.product.id, n) for q, n in priced})
    units: dict[int, int] = {}
    deals: dict[int, tuple] = {}
    for q, quantity in priced:
        if q.deal is not None:
            units[q.deal.id] = units.get(q.deal.id, 0) + quantity
            deals[q.deal.id] = (q.deal, q.unit_price_fen, q.name)
    deal_steps = []
    for deal_id in sorted(units):
        price, wanted = deals[deal_id][1], units[deal_id]
        deal_steps += [
            (_TAKE_DEAL_UNITS, {"deal_id": deal_id, "now": now, "price": price, "wanted": wanted}),
            (_BOUGHT_IN_DEAL, {"deal_id": deal_id, "phone": phone}),
        ]
    shared = batch.add(taking.steps + deal_steps)
    done = batch.send()[shared]
    if (short := taking.short(done)) is not None:
        q = next(q for q, _quantity in priced if q.variant.id == short)
        raise _short_of_stock(q, _stock_left(q.variant))
    deal_done = done[len(taking.steps) :]
    for deal_id, taken, counted in zip(sorted(units), deal_done[::2], deal_done[1::2]):
        deal, _price, name = deals[deal_id]
        wanted = units[deal_id]
        if taken.rowcount != 1:
            db.session.expire(deal)
            if deal.remaining > 0 and deal.running_at(now):
                raise SoldOut(
                    _l("「%(item)s」特价只剩 %(n)d 件了，请减少数量。", item=name, n=deal.remaining)
                )
            raise QuoteChanged(
                _l("「%(item)s」特价已结束或已抢光，请确认新的价格后再提交。", item=name)
            )
        # This purchase's own lines are flushed: the count includes them.
        already = counted.scalar() - wanted
        if already + wanted > deal.per_buyer_limit:
            raise OverLimit(
                _l(
                    "「%(item)s」特价每人限购 %(limit)d 件，这个手机号还能买 %(left)d 件。",
                    item=name,
                    limit=deal.per_buyer_limit,
                    left=max(deal.per_buyer_limit - already, 0),
                )
            )


def _stock_left(variant: Variant) -> int:
    return db.session.scalar(select(Variant.stock).where(Variant.id == variant.id)) or 0


def _short_of_stock(q, left: int) -> SoldOut:
    return SoldOut(_l("「%(item)s」库存不足，只剩 %(n)d 件。", item=q.name, n=left))


def _write_order(req, part: Part, i: int, region_text: str, method, carrier, now) -> Order:
    order = Order(
        number=new_order_number(),
        buyer_id=req.buyer_id,
        phone=req.phone,
        receiver_name=req.receiver_name,
        region_code=req.region_code,
        region_text=region_text,
        street=req.street,
        payment_method=method.code,
        carrier=carrier,
        status=method.initial_status(),
        goods_fen=part.goods_fen,
        shipping_fen=part.shipping_fen,
        discount_fen=part.discount_fen,
        total_fen=part.total_fen,
        form_token=token_of(req.form_token, i),
        rendition=req.rendition,
        created_at=now,
    )
    db.session.add(order)
    return order


# Built once (their cache keys with them): every order placed runs them.
_ADD_LINE = insert(OrderItem).values(
    {
        column: bindparam(column)
        for column in (
            "order_id",
            "product_id",
            "variant_id",
            "variant_label",
            "deal_id",
            "seller_id",
            "title",
            "unit_price_fen",
            "market_price_fen",
            "quantity",
        )
    }
)
_ADD_EVENT = insert(OrderEvent).values(
    {column: bindparam(column) for column in ("order_id", "at", "actor", "to_status", "note")}
)


def _order_rows(order: Order, part: Part, buyer_id, method_code: str, now) -> list:
    """A flushed order's lines (in the part's order: their ids ascending), its first event
    and, when that places it, its "placed" SMS, as statements for a pipeline.Batch."""
    steps = [
        (
            _ADD_LINE,
            {
                "order_id": order.id,
                "product_id": q.product.id,
                "variant_id": q.variant.id,
                "variant_label": q.variant.label,
                "deal_id": q.deal_id,
                "seller_id": q.product.seller_id,
                "title": q.product.title,
                "unit_price_fen": q.unit_price_fen,
                "market_price_fen": q.product.market_price_fen,
                "quantity": quantity,
            },
        )
        for q, quantity in part.lines
    ]
    event = {
        "order_id": order.id,
        "at": now,
        "actor": f"buyer:{buyer_id}" if buyer_id else "guest",
        "to_status": order.status,
        "note": method_code,
    }
    steps.append((_ADD_EVENT, event))
    if notify.sends_placed(None, order.status):
        labels = [q.variant.label for q, _quantity in part.lines]
        steps.append(notify.placed_message(order, labels, now))
    return steps


def _pay_from_balance(order: Order, method: PaymentMethod) -> None:
    """Debit the payer's balance by the order's total, in the order's transaction.
    Raises PaymentUnavailable when the balance no longer covers it."""
    payment = payments.new_payment(order, method.code, "balance", status="succeeded")
    try:
        balances.debit(
            payments.payer_phone(order), order.total_fen, "order_payment", payment.id, order.id
        )
    except balances.InsufficientBalance as exc:
        raise PaymentUnavailable(_l("余额不足，请选择其他付款方式。")) from exc
