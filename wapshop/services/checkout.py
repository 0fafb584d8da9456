"""Placing an order: quote from the server's prices, take stock atomically, write the order.

place_order adds and flushes; the caller commits once, so any refusal leaves no order and no
stock change behind."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from wapshop.extensions import db
from wapshop.models import Deal, Order, OrderEvent, OrderItem, OrderStatus, Product
from wapshop.payments import PaymentMethod, registry
from wapshop.payments.online import Settings
from wapshop.services import Refusal, balances, catalog, payments, regions, stock

MAX_QUANTITY = 99


class CheckoutError(Refusal):
    """A refusal with a message for the buyer; subclasses name the form field."""


class SoldOut(CheckoutError):
    field = "quantity"


class OverLimit(CheckoutError):
    field = "quantity"


class QuoteChanged(CheckoutError):
    """The deal ended, sold out or changed price since the buyer saw the page."""


class RegionInvalid(CheckoutError):
    field = "region"


class PaymentUnavailable(CheckoutError):
    field = "payment"


class AlreadyPlaced(Exception):
    """This confirmation was submitted before; here is its order."""

    def __init__(self, order: Order):
        super().__init__(order.number)
        self.order = order


@dataclass(frozen=True)
class Quote:
    product: Product
    deal: Deal | None
    unit_price_fen: int
    max_quantity: int  # before the per-buyer limit, which needs the phone

    @property
    def deal_id(self) -> int | None:
        return self.deal.id if self.deal else None


@dataclass(frozen=True)
class OrderRequest:
    product_id: int
    quantity: int
    receiver_name: str
    phone: str  # normalised
    region_code: str
    street: str
    payment_method: str
    form_token: str
    # What the buyer saw: if the server's quote differs now, the buyer must look again.
    seen_price_fen: int | None
    seen_deal_id: int | None
    buyer_id: int | None = None
    buyer_phone: str | None = None  # the logged-in account's phone, for its balance
    rendition: str = "touch"


def quote(product_id: int, now: datetime) -> Quote:
    """The price and most a buyer may order now. Raises catalog.NotFound."""
    product = catalog.product(product_id)
    deal = catalog.current_deal(product_id, now)
    if deal is not None and deal.remaining <= 0:
        deal = None  # a sold-out deal no longer sets the price
    price = deal.deal_price_fen if deal else product.shop_price_fen
    most = min(product.stock, MAX_QUANTITY)
    if deal:
        most = min(most, deal.remaining, deal.per_buyer_limit)
    return Quote(product, deal, price, max(most, 0))


def bought_in_deal(deal_id: int, phone: str) -> int:
    """Units of this deal on the phone's orders that are not cancelled."""
    return db.session.scalar(
        select(func.coalesce(func.sum(OrderItem.quantity), 0))
        .join(Order, Order.id == OrderItem.order_id)
        .where(
            OrderItem.deal_id == deal_id,
            Order.phone == phone,
            Order.status != OrderStatus.CANCELLED,
        )
    )


def find_by_token(token: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.form_token == token))


def new_order_number() -> str:
    """Ten random digits, never starting with 0: readable over the phone, not sequential."""
    while True:
        number = str(10**9 + secrets.randbelow(9 * 10**9))
        if db.session.scalar(select(Order.id).where(Order.number == number)) is None:
            return number


def place_order(req: OrderRequest, now: datetime, settings: Settings) -> Order:
    """Take stock (and deal units) atomically and write the order with its first event;
    an order paid from the balance is paid here. `settings`: the processors' (which ways
    to pay are switched on).

    Raises AlreadyPlaced, catalog.NotFound, RegionInvalid, PaymentUnavailable, QuoteChanged,
    SoldOut or OverLimit. Flushes; the caller commits (or rolls back on IntegrityError, which
    means a concurrent twin submit won: look the order up by token)."""
    if (existing := find_by_token(req.form_token)) is not None:
        raise AlreadyPlaced(existing)
    q = quote(req.product_id, now)
    if q.deal_id != req.seen_deal_id or q.unit_price_fen != req.seen_price_fen:
        raise QuoteChanged(_l("价格或特价有变化，请确认新的价格后再提交。"))
    region = regions.get(req.region_code)
    if region is None or region.level != regions.DISTRICT:
        raise RegionInvalid(_l("请选择收货地区（省、市、区县）。"))
    method = registry.by_code(req.payment_method, settings)
    if method is None:
        raise PaymentUnavailable(_l("请选择付款方式。"))
    offer = method.availability(payments.situation(region, req.buyer_phone))
    if not offer.offered:
        raise PaymentUnavailable(offer.reason or _l("这种付款方式现在不能用，请换一种。"))

    if q.deal is not None:
        _take_deal_units(q.deal, req, now)
    variant = stock.sole_variant(q.product.id)
    if variant is None or not stock.take(variant.id, req.quantity):
        raise SoldOut(_l("库存不足，请减少数量或看看别的商品。"))

    order = Order(
        number=new_order_number(),
        buyer_id=req.buyer_id,
        phone=req.phone,
        receiver_name=req.receiver_name,
        region_code=region.code,
        region_text=regions.full_name(region),
        street=req.street,
        payment_method=method.code,
        carrier=offer.carrier,
        status=method.initial_status(),
        goods_fen=q.unit_price_fen * req.quantity,
        total_fen=q.unit_price_fen * req.quantity,
        form_token=req.form_token,
        rendition=req.rendition,
        created_at=now,
    )
    order.items.append(
        OrderItem(
            product_id=q.product.id,
            variant_id=variant.id,
            variant_label=variant.label,
            deal_id=q.deal_id,
            seller_id=q.product.seller_id,
            title=q.product.title,
            unit_price_fen=q.unit_price_fen,
            market_price_fen=q.product.market_price_fen,
            quantity=req.quantity,
        )
    )
    order.events.append(
        OrderEvent(
            at=now,
            actor=f"buyer:{req.buyer_id}" if req.buyer_id else "guest",
            from_status=None,
            to_status=order.status,
            note=method.code,
        )
    )
    db.session.add(order)
    db.session.flush()
    if method.from_balance:
        _pay_from_balance(order, method)
    return order


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


def _take_deal_units(deal: Deal, req: OrderRequest, now: datetime) -> None:
    """Conditional UPDATE of the deal row, then the per-buyer count.

    The UPDATE locks the deal row until commit (PostgreSQL) or holds the write lock (SQLite), so
    two orders of one phone cannot both pass the limit check below."""
    taken = db.session.execute(
        update(Deal)
        .where(
            Deal.id == deal.id,
            Deal.stopped.is_(False),
            Deal.starts_at <= now,
            Deal.ends_at > now,
            Deal.deal_price_fen == req.seen_price_fen,
            Deal.sold + req.quantity <= Deal.quantity,
        )
        .values(sold=Deal.sold + req.quantity)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        db.session.expire(deal)
        if deal.remaining > 0 and deal.running_at(now):
            raise SoldOut(_l("特价只剩 %(n)d 件了，请减少数量。", n=deal.remaining))
        raise QuoteChanged(_l("特价已结束或已抢光，请确认新的价格后再提交。"))
    already = bought_in_deal(deal.id, req.phone)
    if already + req.quantity > deal.per_buyer_limit:
        left = max(deal.per_buyer_limit - already, 0)
        raise OverLimit(
            _l(
                "特价每人限购 %(limit)d 件，这个手机号还能买 %(left)d 件。",
                limit=deal.per_buyer_limit,
                left=left,
            )
        )
