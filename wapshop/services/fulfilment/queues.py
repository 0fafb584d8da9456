"""The queues that feed each step, their counts and oldest items; finding orders by any of
their facts, and the found orders as rows for courier label software."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from wapshop.extensions import db
from wapshop.models import (
    CallTask,
    Order,
    OrderEvent,
    Shipment,
    Staff,
)
from wapshop.clock import china_day_bounds
from wapshop.money import yuan_text
from wapshop.services.pagination import Page, paginate
from wapshop.services.fulfilment.rules import S, ADDRESS_FROM, scoped
from wapshop.services.fulfilment.calls import callers_filter


# --- Other queues.


def address_queue(number: int, per_page: int, seller_id: int | None) -> Page:
    stmt = select(Order).where(Order.status.in_([str(s) for s in ADDRESS_FROM]))
    return paginate(scoped(stmt, seller_id).order_by(Order.created_at, Order.id), number, per_page)


def invalid_addresses(number: int, per_page: int, seller_id: int | None) -> Page:
    stmt = select(Order).where(Order.status == S.ADDRESS_INVALID)
    return paginate(scoped(stmt, seller_id).order_by(Order.updated_at, Order.id), number, per_page)


def ship_queue(number: int, per_page: int, seller_id: int | None, carrier: str = "") -> Page:
    stmt = select(Order).where(Order.status == S.CONFIRMED)
    if carrier:
        stmt = stmt.where(Order.carrier == carrier)
    return paginate(scoped(stmt, seller_id).order_by(Order.created_at, Order.id), number, per_page)


def delivery_queue(number: int, per_page: int, seller_id: int | None) -> Page:
    stmt = (
        select(Order)
        .join(Shipment, and_(Shipment.order_id == Order.id, Shipment.kind == "delivery"))
        .where(Order.status == S.SHIPPED)
        .order_by(Shipment.shipped_at, Order.id)
    )
    return paginate(scoped(stmt, seller_id), number, per_page)


def shipment_of(order: Order) -> Shipment | None:
    return db.session.scalar(
        select(Shipment)
        .where(Shipment.order_id == order.id, Shipment.kind == "delivery")
        .order_by(Shipment.id.desc())
        .limit(1)
    )


def shipments_of(orders_: list[Order]) -> dict[int, Shipment]:
    """Each order's own delivery parcel, for a page of orders in one query."""
    if not orders_:
        return {}
    rows = db.session.scalars(
        select(Shipment).where(
            Shipment.order_id.in_([o.id for o in orders_]), Shipment.kind == "delivery"
        )
    )
    return {s.order_id: s for s in rows}


def oldest_ages(staff: Staff, seller_id: int | None, now: datetime) -> dict[str, datetime | None]:
    """Since when the oldest item of each queue has waited (None: the queue is empty), in the
    order each queue lists them: placed, call due, placed, shipped."""

    def first(column, stmt) -> datetime | None:
        return db.session.scalar(scoped(stmt.with_only_columns(func.min(column)), seller_id))

    def in_status(*statuses):
        return select(Order.id).where(Order.status.in_([str(s) for s in statuses]))

    calls = (
        select(Order.id)
        .join(CallTask, CallTask.order_id == Order.id)
        .where(Order.status == S.ADDRESS_OK, CallTask.parked_at.is_(None), callers_filter(staff))
        .where(CallTask.next_call_at <= now)
    )
    delivery = select(Order.id).join(
        Shipment, and_(Shipment.order_id == Order.id, Shipment.kind == "delivery")
    )
    return {
        "address": first(Order.created_at, in_status(*ADDRESS_FROM)),
        "calls": first(CallTask.next_call_at, calls),
        "ship": first(Order.created_at, in_status(S.CONFIRMED)),
        "delivery": first(Shipment.shipped_at, delivery.where(Order.status == S.SHIPPED)),
    }


def day_counts(seller_id: int | None, day: date) -> dict[str, int]:
    """Orders placed, parcels shipped and deliveries refused on a China day, within the scope."""
    start, end = china_day_bounds(day)

    def count(stmt) -> int:
        stmt = scoped(stmt.with_only_columns(func.count(func.distinct(Order.id))), seller_id)
        return db.session.scalar(stmt)

    shipped = select(Order.id).join(
        Shipment, and_(Shipment.order_id == Order.id, Shipment.kind == "delivery")
    )
    refused = select(Order.id).join(OrderEvent, OrderEvent.order_id == Order.id)
    return {
        "placed": count(select(Order.id).where(Order.created_at >= start, Order.created_at < end)),
        "shipped": count(shipped.where(Shipment.shipped_at >= start, Shipment.shipped_at < end)),
        "refused": count(
            refused.where(
                OrderEvent.to_status == S.REFUSED, OrderEvent.at >= start, OrderEvent.at < end
            )
        ),
    }


def queue_counts(staff: Staff, seller_id: int | None, now: datetime) -> dict[str, int]:
    """How much waits in each queue this staff member works, for the queue tabs."""

    def count(stmt) -> int:
        return db.session.scalar(
            select(func.count()).select_from(scoped(stmt, seller_id).subquery())
        )

    def in_status(*statuses):
        return select(Order.id).where(Order.status.in_([str(s) for s in statuses]))

    calls = (
        select(Order.id)
        .join(CallTask, CallTask.order_id == Order.id)
        .where(Order.status == S.ADDRESS_OK, CallTask.parked_at.is_(None), callers_filter(staff))
    )
    return {
        "address": count(in_status(*ADDRESS_FROM)),
        "invalid": count(in_status(S.ADDRESS_INVALID)),
        "calls": count(calls.where(CallTask.next_call_at <= now)),
        "ship": count(in_status(S.CONFIRMED)),
        "delivery": count(in_status(S.SHIPPED)),
    }


# --- Finding orders, within the seller's scope.

FRAGMENT_MAX_DAYS = 92  # a name or address fragment is looked for within this many days
FRAGMENT_DEFAULT_DAYS = 31  # ... the last 31 China days when no range is given
MAX_EXPORT_ROWS = 5000


@dataclass(frozen=True)
class OrderFilter:
    """What staff look for; every field is optional and they combine (AND). Number and phone
    are exact (unique index, ix_orders_phone_created); status uses ix_orders_status_created;
    name and address are fragments, looked for only within a bounded range of China days."""

    number: str = ""
    phone: str = ""
    name: str = ""
    address: str = ""
    day_from: date | None = None
    day_to: date | None = None
    status: str = ""
    carrier: str = ""
    seller_id: int | None = None

    def bounded(self, today: date) -> "OrderFilter":
        """The filter with a range of days a fragment search stays within."""
        if not (self.name or self.address) or self.number:
            return self
        day_to = self.day_to or today
        day_from = self.day_from or date.fromordinal(day_to.toordinal() - FRAGMENT_DEFAULT_DAYS + 1)
        if (day_to - day_from).days >= FRAGMENT_MAX_DAYS:
            day_from = date.fromordinal(day_to.toordinal() - FRAGMENT_MAX_DAYS + 1)
        return OrderFilter(**{**self.__dict__, "day_from": day_from, "day_to": day_to})


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(seller_id: int | None, f: OrderFilter):
    stmt = scoped(select(Order), seller_id)
    if f.seller_id is not None:
        stmt = scoped(stmt, f.seller_id)
    if f.number:
        stmt = stmt.where(Order.number == f.number)
    if f.phone:
        stmt = stmt.where(Order.phone == f.phone)
    if f.name:
        stmt = stmt.where(Order.receiver_name.like(_like(f.name), escape="\\"))
    if f.address:
        pattern = _like(f.address)
        stmt = stmt.where(
            or_(
                Order.region_text.like(pattern, escape="\\"),
                Order.street.like(pattern, escape="\\"),
            )
        )
    if f.day_from:
        stmt = stmt.where(Order.created_at >= china_day_bounds(f.day_from)[0])
    if f.day_to:
        stmt = stmt.where(Order.created_at < china_day_bounds(f.day_to)[1])
    if f.status:
        stmt = stmt.where(Order.status == f.status)
    if f.carrier:
        stmt = stmt.where(Order.carrier == f.carrier)
    return stmt.order_by(Order.id.desc())


def search(number: int, per_page: int, seller_id: int | None, f: OrderFilter) -> Page:
    """Orders matching the filter, newest first, within the scope. PageOutOfRange."""
    return paginate(_filtered(seller_id, f), number, per_page)


def export_rows(seller_id: int | None, f: OrderFilter) -> list[list[str]]:
    """The matching orders (newest first, at most MAX_EXPORT_ROWS) as rows for courier label
    software: number, receiver, phone, full address, items, amount to collect in yuan (0 when
    paid), carrier."""
    found = db.session.scalars(
        _filtered(seller_id, f).options(selectinload(Order.items)).limit(MAX_EXPORT_ROWS)
    )
    rows = [["订单号", "收货人", "电话", "地址", "商品", "代收金额", "快递"]]
    for o in found:
        items = "；".join(
            f"{i.title}{f'（{i.variant_label}）' if i.variant_label else ''} × {i.quantity}"
            for i in o.items
        )
        collect = o.total_fen if o.payment_method == "cod" else 0
        rows.append(
            [
                o.number,
                o.receiver_name,
                o.phone,
                f"{o.region_text} {o.street}",
                items,
                yuan_text(collect),
                o.carrier or "",
            ]
        )
    return rows
