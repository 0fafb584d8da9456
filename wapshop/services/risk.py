"""Orders that need extra care, worked out from the order history each time they are shown
(so a flag is never stale): phones that refused a parcel before or cancelled many orders,
the same phone ordering again within minutes, the same receiver and address under another
phone (fulfilment.merging merges such orders into one parcel), and regions no courier
collects cash in.

A seller's flags are worked out from that seller's orders alone: nothing of another seller's
orders (numbers, refusals, cancellations) reaches a seller, flags included."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from wapshop.extensions import db
from wapshop.config import Defaults
from wapshop.models import Order, OrderEvent, OrderStatus
from wapshop.services import regions
from wapshop.services.fulfilment import MERGEABLE as OPEN, scoped


@dataclass(frozen=True)
class Flag:
    code: str  # refused_before, cancellations, duplicate, lookalike, uncovered
    label: str


@dataclass(frozen=True)
class Settings:
    """How suspicious is suspicious: read once from configuration (defaults: config.Defaults)."""

    cancelled_orders: int = Defaults.RISK_CANCELLED_ORDERS  # cancelled orders on one phone
    duplicate_window: timedelta = Defaults.RISK_DUPLICATE_WINDOW

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(config["RISK_CANCELLED_ORDERS"], config["RISK_DUPLICATE_WINDOW"])


def flags_for(
    orders: list[Order], settings: Settings = Settings(), seller_id: int | None = None
) -> dict[int, list[Flag]]:
    """Order id → its flags, for a page of orders, in four queries whatever its length.
    With a seller_id, only that seller's orders count (see fulfilment.scoped)."""
    flags: dict[int, list[Flag]] = {o.id: [] for o in orders}
    if not orders:
        return flags
    phones = {o.phone for o in orders}
    refused = defaultdict(set)
    for order_id, phone in db.session.execute(
        scoped(
            select(Order.id, Order.phone).where(
                Order.phone.in_(phones), Order.status == OrderStatus.REFUSED
            ),
            seller_id,
        )
    ):
        refused[phone].add(order_id)
    # Cancelled by a buyer or by staff; unpaid online orders that simply expired do not count.
    cancelled = defaultdict(set)
    for order_id, phone in db.session.execute(
        scoped(
            select(Order.id, Order.phone)
            .join(OrderEvent, OrderEvent.order_id == Order.id)
            .where(
                Order.phone.in_(phones),
                Order.status == OrderStatus.CANCELLED,
                OrderEvent.to_status == OrderStatus.CANCELLED,
                OrderEvent.actor != "system",
            ),
            seller_id,
        )
    ):
        cancelled[phone].add(order_id)
    window = settings.duplicate_window
    earliest = min(o.created_at for o in orders) - window
    latest = max(o.created_at for o in orders) + window
    neighbours = defaultdict(list)
    for order_id, phone, number, created_at in db.session.execute(
        scoped(
            select(Order.id, Order.phone, Order.number, Order.created_at).where(
                Order.phone.in_(phones),
                Order.status != OrderStatus.CANCELLED,
                Order.created_at >= earliest,
                Order.created_at <= latest,
            ),
            seller_id,
        )
    ):
        neighbours[phone].append((order_id, number, created_at))
    # Same receiver and address, another phone: orders not shipped yet (they can be merged).
    same_place = defaultdict(list)
    for order_id, number, phone, name, region, street in db.session.execute(
        scoped(
            select(
                Order.id, Order.number, Order.phone, Order.receiver_name, Order.region_code,
                Order.street,
            ).where(
                Order.receiver_name.in_({o.receiver_name for o in orders}),
                Order.street.in_({o.street for o in orders}),
                Order.status.in_([str(s) for s in OPEN]),
            ),
            seller_id,
        )
    ):  # fmt: skip
        same_place[(name, region, street)].append((order_id, number, phone))
    carriers: dict[str, str | None] = {}
    for order in orders:
        mine = flags[order.id]
        if refused[order.phone] - {order.id}:
            mine.append(Flag("refused_before", "曾拒收"))
        others = len(cancelled[order.phone] - {order.id})
        if others >= settings.cancelled_orders:
            mine.append(Flag("cancellations", f"已取消{others}单"))
        twins = [
            number
            for other_id, number, at in neighbours[order.phone]
            if other_id != order.id and abs(at - order.created_at) <= window
        ]
        if twins:
            mine.append(Flag("duplicate", "疑似重复：" + "、".join(sorted(twins)[:3])))
        alike = [
            number
            for other_id, number, phone in same_place[
                (order.receiver_name, order.region_code, order.street)
            ]
            if other_id != order.id and phone != order.phone
        ]
        if alike:
            mine.append(Flag("lookalike", "疑似同一买家：" + "、".join(sorted(alike)[:3])))
        if order.region_code not in carriers:
            region = regions.get(order.region_code)
            carriers[order.region_code] = regions.cod_carrier(region) if region else None
        if carriers[order.region_code] is None:
            mine.append(Flag("uncovered", "地区无货到付款"))
    return flags
