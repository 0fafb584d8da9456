"""The delivery outcome and the courier's cash-on-delivery remittance."""

from datetime import datetime

from sqlalchemy import and_, select, update

from wapshop.extensions import db
from wapshop.models import (
    Order,
    Remittance,
    Shipment,
    Staff,
)
from wapshop.money import format_fen
from wapshop.services import notify, orders
from wapshop.services.pagination import Page, paginate
from wapshop.services.fulfilment.rules import (
    S,
    COLLECTED,
    BadInput,
    Refused,
    StatusChanged,
    Settings,
    actor_of,
)
from wapshop.services.fulfilment.transitions import move, refund_if_paid
from wapshop.services.fulfilment.queues import shipment_of


# --- Delivery and settlement.


def close_delivery(
    order: Order, expected: str, delivered: bool, reason: str, staff: Staff, now: datetime
) -> None:
    """Delivered (and the cash collected), or refused at the door with a reason: the goods
    come back to stock, and an online payment goes back to the payer's balance."""
    reason = reason.strip()
    if delivered:
        shipment = shipment_of(order)
        cash = shipment.cod_fen if shipment else 0
        note = f"已签收，代收货款 {format_fen(cash)}" if cash else "已签收"
        note += f"；{reason}" if reason else ""
        move(order, expected, S.DELIVERED, (S.SHIPPED,), actor_of(staff), note, now)
        notify.enqueue(order, "delivered")
        return
    if not reason:
        raise BadInput("请写明拒收原因。", field="reason")
    move(order, expected, S.REFUSED, (S.SHIPPED,), actor_of(staff), reason, now)
    orders.restock(order, deal_units=False)
    db.session.flush()
    refund_if_paid(order, actor_of(staff), now, "拒收")


def cod_fee(cash_fen: int, settings: Settings) -> int:
    """The courier's fee for collecting `cash_fen`: a rate with a minimum; nothing for none."""
    if cash_fen <= 0:
        return 0
    return max(settings.cod_fee_min_fen, (cash_fen * settings.cod_fee_bp + 5000) // 10000)


def to_settle(carrier: str = "") -> list[tuple[Order, Shipment]]:
    """Delivered parcels the courier has not remitted for yet, oldest first."""
    stmt = (
        select(Order, Shipment)
        .join(Shipment, and_(Shipment.order_id == Order.id, Shipment.kind == "delivery"))
        .where(Shipment.remittance_id.is_(None), Order.status.in_([str(s) for s in COLLECTED]))
        .order_by(Shipment.carrier, Shipment.shipped_at, Order.id)
        .limit(1000)
    )
    if carrier:
        stmt = stmt.where(Shipment.carrier == carrier)
    return [tuple(row) for row in db.session.execute(stmt)]


def settle(
    carrier: str,
    reference: str,
    order_ids: list[int],
    fee_fen: int | None,
    staff: Staff,
    now: datetime,
    settings: Settings = Settings(),
) -> Remittance:
    """Record a courier's remittance for delivered parcels: their cash, less the COD fee
    (computed from the rate unless the courier's statement says otherwise). Delivered
    orders become settled. Raises BadInput, Refused, StatusChanged."""
    reference = reference.strip()
    if not reference:
        raise BadInput("请填写快递公司的汇款单号。", field="reference")
    if not order_ids:
        raise BadInput("请至少选择一个订单。", field="order_ids")
    taken = db.session.scalar(
        select(Remittance.id).where(
            Remittance.carrier == carrier, Remittance.reference == reference
        )
    )
    if taken is not None:
        raise BadInput(f"{carrier}汇款单 {reference} 已经登记过了。", field="reference")
    rows = db.session.execute(
        select(Order, Shipment)
        .join(Shipment, and_(Shipment.order_id == Order.id, Shipment.kind == "delivery"))
        .where(Order.id.in_(order_ids))
    ).all()
    found = {order.id: (order, shipment) for order, shipment in rows}
    wrong = [
        str(oid)
        for oid in order_ids
        if oid not in found
        or found[oid][1].carrier != carrier
        or found[oid][1].remittance_id is not None
        or found[oid][0].status not in COLLECTED
    ]
    if wrong:
        raise Refused(f"这些订单不是{carrier}待结算的已签收订单：{', '.join(wrong[:10])}。")
    collected = sum(found[oid][1].cod_fen for oid in order_ids)
    fee = (
        fee_fen
        if fee_fen is not None
        else sum(cod_fee(found[o][1].cod_fen, settings) for o in order_ids)
    )
    if fee > collected:
        raise BadInput("手续费不能超过代收货款。", field="fee")
    remittance = Remittance(
        carrier=carrier,
        reference=reference,
        parcels=len(order_ids),
        collected_fen=collected,
        fee_fen=fee,
        at=now,
        staff_id=staff.id,
        actor=actor_of(staff),
    )
    db.session.add(remittance)
    db.session.flush()
    for oid in order_ids:
        order, shipment = found[oid]
        marked = db.session.execute(
            update(Shipment)
            .where(Shipment.id == shipment.id, Shipment.remittance_id.is_(None))
            .values(remittance_id=remittance.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if marked != 1:
            raise StatusChanged(f"订单 {order.number} 刚被别人结算了，请刷新后再试。")
        if order.status == S.DELIVERED:
            note = f"{carrier}汇款 {reference}，代收 {format_fen(shipment.cod_fen)}"
            move(order, S.DELIVERED, S.SETTLED, (S.DELIVERED,), actor_of(staff), note, now)
    db.session.flush()
    return remittance


def remittances(number: int, per_page: int) -> Page:
    return paginate(select(Remittance).order_by(Remittance.id.desc()), number, per_page)
