"""The queues that feed each step, and their counts for the queue tabs."""

from datetime import datetime

from sqlalchemy import and_, func, select

from wapshop.extensions import db
from wapshop.models import (
    CallTask,
    Order,
    Shipment,
    Staff,
)
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
