"""Corrections made on the confirmation call, as the buyer states them: receiver, phone,
address (its region re-checked for cash on delivery), a line's quantity or variant (stock
re-taken through services/stock.py, all or nothing), and a note. Every correction is an
OrderEvent whose note holds each change as before → after; the order keeps its status.

The order is locked at the status seen first (transitions.touch), so a correction and a
status change never interleave. A refusal is raised before the caller commits: the view
rolls back, and nothing of the attempt is kept (stock given back included)."""

import re
from datetime import datetime

from sqlalchemy import select, update

from wapshop.extensions import db
from wapshop.models import Deal, Order, OrderItem, Product, Staff, Variant
from wapshop.money import format_fen
from wapshop.services import addresses, checkout, orders, regions, shipping_fees, stock
from wapshop.services.fulfilment.rules import (
    S,
    STATUS_LABELS,
    BadInput,
    Refused,
    actor_of,
    check_may_call,
)
from wapshop.services.fulfilment.transitions import touch
from wapshop.services.fulfilment.timeline import CORRECTION

CORRECTABLE = (S.ADDRESS_OK, S.ADDRESS_INVALID)
MAX_QUANTITY = 99
PHONE = re.compile(r"1\d{10}", re.ASCII)


def variants_of(item: OrderItem) -> list[Variant]:
    """The variants a line may be changed to: its product's active ones, and its own."""
    return list(
        db.session.scalars(
            select(Variant)
            .where(
                Variant.product_id == item.product_id,
                (Variant.active.is_(True)) | (Variant.id == item.variant_id),
            )
            .order_by(Variant.position, Variant.id)
        )
    )


def _open(order: Order, expected: str, staff: Staff, now: datetime) -> None:
    if expected not in [str(s) for s in CORRECTABLE]:
        label = STATUS_LABELS.get(expected, "未知状态")
        raise Refused(f"订单「{label}」时不能更正，只有电话确认前可以。")
    check_may_call(staff, order)
    touch(order, expected, now)


def _record(order: Order, staff: Staff, changes: list[str], note: str, now: datetime) -> None:
    text = CORRECTION + "；".join(changes + ([f"备注 {note}"] if note else []))
    orders.record_event(order, actor_of(staff), order.status, order.status, text[:500], now)
    db.session.flush()


def reprice(order: Order, add_discount: int = 0) -> tuple[int, int]:
    """Goods and shipping worked out again from the lines and the region (shipping_fees.quote),
    with `add_discount` more off (merged orders' discounts); the order's amounts are
    rewritten. Returns the (total before, total after)."""
    db.session.refresh(order)
    goods = sum(i.unit_price_fen * i.quantity for i in order.items)
    region = regions.get(order.region_code)
    products = {
        p.id: p
        for p in db.session.scalars(
            select(Product).where(Product.id.in_({i.product_id for i in order.items}))
        )
    }
    lines = [(products[i.product_id], i.quantity) for i in order.items]
    cod = order.payment_method == "cod"
    shipping = shipping_fees.quote(region, order.carrier, lines, goods, cod) if region else 0
    discount = min(order.discount_fen + add_discount, goods + shipping)
    before = order.total_fen
    order.goods_fen, order.shipping_fen, order.discount_fen = goods, shipping, discount
    order.total_fen = goods + shipping - discount
    db.session.flush()
    return before, order.total_fen


def correct_contact(
    order: Order,
    expected: str,
    receiver: str,
    phone: str,
    address: str,
    note: str,
    staff: Staff,
    now: datetime,
) -> list[str]:
    """Receiver, phone and address (one line, 省市区 then street) as the buyer corrects them on
    the call, and a note. A cash-on-delivery order moved to a region no courier collects cash
    in is refused: the buyer keeps the old address or cancels and pays online. Returns the
    changes made (empty: nothing changed, and nothing is recorded)."""
    receiver, phone, address, note = (
        (receiver or "").strip(),
        (phone or "").strip(),
        (address or "").strip(),
        (note or "").strip(),
    )
    if not receiver or len(receiver) > 20:
        raise BadInput("收货人要写，最多20个字。", field="receiver")
    if not PHONE.fullmatch(phone):
        raise BadInput("手机号是以1开头的11位数字。", field="phone")
    if address == order.region_text + order.street:  # as shown: kept (no re-reading needed)
        parsed = addresses.ParsedAddress(regions.get(order.region_code), [], order.street)
    else:
        parsed = addresses.parse(address)
    if parsed.region is None:
        raise BadInput("地址要从省写到区县，例如 广东省深圳市南山区科技园路1号。", field="address")
    if not parsed.street or len(parsed.street) > 120:
        raise BadInput("请写街道门牌（最多120个字）。", field="address")
    if len(note) > 200:
        raise BadInput("备注最多200个字。", field="note")
    _open(order, expected, staff, now)
    cod = order.payment_method == "cod"
    carrier = order.carrier
    if parsed.region.code != order.region_code and cod:
        carrier = regions.cod_carrier(parsed.region)
        if carrier is None:
            raise BadInput(
                f"{regions.full_name(parsed.region)} 不能货到付款：请买家换一个能货到付款的地址，"
                "或取消这个订单，让买家在线支付重新下单。",
                field="address",
            )
    region_text = regions.full_name(parsed.region)
    changes = []
    if receiver != order.receiver_name:
        changes.append(f"收货人 {order.receiver_name} → {receiver}")
    if phone != order.phone:
        changes.append(f"电话 {order.phone} → {phone}")
    if (region_text, parsed.street) != (order.region_text, order.street):
        changes.append(f"地址 {order.region_text}{order.street} → {region_text}{parsed.street}")
    if not changes and not note:
        return []
    order.receiver_name, order.phone = receiver, phone
    order.region_code, order.region_text, order.street = (
        parsed.region.code,
        region_text,
        parsed.street,
    )
    order.carrier = carrier
    db.session.flush()
    before, after = reprice(order)
    if before != after:
        changes.append(f"应付 {format_fen(before)} → {format_fen(after)}")
    _record(order, staff, changes, note, now)
    return changes


def _deal_units(
    item: OrderItem, variant: Variant, quantity: int, phone: str, now: datetime
) -> None:
    """The deal's units follow the line: more units only while the deal runs, has them left
    and the buyer stays within its limit; fewer go back to the deal."""
    deal = db.session.get(Deal, item.deal_id)
    if deal.variants and variant.id not in {v.id for v in deal.variants}:
        raise Refused("这个规格不在特价里，不能按特价换。", field="variant")
    delta = quantity - item.quantity
    if delta > 0:
        taken = db.session.execute(
            update(Deal)
            .where(
                Deal.id == deal.id,
                Deal.stopped.is_(False),
                Deal.starts_at <= now,
                Deal.ends_at > now,
                Deal.sold + delta <= Deal.quantity,
            )
            .values(sold=Deal.sold + delta)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            raise Refused("特价已结束或剩余不够，不能加量。", field="quantity")
        others = checkout.bought_in_deal(deal.id, phone) - item.quantity
        if others + quantity > deal.per_buyer_limit:
            raise Refused(
                f"特价每人限购 {deal.per_buyer_limit} 件，这个手机号最多还能要 "
                f"{max(deal.per_buyer_limit - others, 0)} 件。",
                field="quantity",
            )
    elif delta < 0:
        db.session.execute(update(Deal).where(Deal.id == deal.id).values(sold=Deal.sold + delta))


def change_line(
    order: Order,
    expected: str,
    item_id: int,
    variant_id: int | None,
    quantity: int,
    note: str,
    staff: Staff,
    now: datetime,
) -> list[str]:
    """A line's quantity or variant as the buyer corrects it: the old units go back to stock
    and the new ones are taken (services/stock.py), with the deal's units and limit; amounts
    are worked out again. Refused (nothing kept once the caller rolls back) when the stock or
    the deal has not enough."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise BadInput(f"数量是1到{MAX_QUANTITY}。", field="quantity")
    item = next((i for i in order.items if i.id == item_id), None)
    if item is None:
        raise BadInput("这个订单没有这一行商品。", field="item")
    variant = db.session.get(Variant, variant_id or item.variant_id)
    if variant is None or variant.product_id != item.product_id or not variant.active:
        raise BadInput("请选这件商品在售的规格。", field="variant")
    if (variant.id, quantity) == (item.variant_id, item.quantity):
        raise BadInput("数量和规格都没有改。", field="quantity")
    note = (note or "").strip()[:200]
    _open(order, expected, staff, now)
    # The order is ours now (a concurrent correction has committed or waits): read the line
    # again, or its quantity is what another correction already changed.
    db.session.refresh(item)
    if (variant.id, quantity) == (item.variant_id, item.quantity):
        raise BadInput("数量和规格都没有改。", field="quantity")
    stock.lock({item.variant_id, variant.id})
    if item.deal_id is not None:
        _deal_units(item, variant, quantity, order.phone, now)
    if variant.id == item.variant_id:
        delta = quantity - item.quantity
        enough = stock.take(variant.id, delta) if delta > 0 else True
        if delta < 0:
            stock.give_back(variant.id, -delta)
    else:
        stock.give_back(item.variant_id, item.quantity)
        enough = stock.take(variant.id, quantity)
    if not enough:
        left = db.session.scalar(select(Variant.stock).where(Variant.id == variant.id))
        raise Refused(f"库存不够：这个规格现在只有 {left} 件。", field="quantity")
    changes = []
    label = f"{item.title}（{item.variant_label}）" if item.variant_label else item.title
    if variant.id != item.variant_id:
        changes.append(f"{item.title} 规格 {item.variant_label or '—'} → {variant.label or '—'}")
        if variant.price_fen is not None and item.deal_id is None:
            item.unit_price_fen = variant.price_fen
    if quantity != item.quantity:
        changes.append(f"{label} 数量 {item.quantity} → {quantity}")
    item.variant_id, item.variant_label, item.quantity = variant.id, variant.label, quantity
    db.session.flush()
    before, after = reprice(order)
    if before != after:
        changes.append(f"应付 {format_fen(before)} → {format_fen(after)}")
    _record(order, staff, changes, note, now)
    return changes
