"""Shipping: carriers and their waybill numbers, shipping one order or a CSV of them, the pick list."""

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from wapshop.extensions import db
from wapshop.models import (
    CodCoverage,
    Order,
    Shipment,
    Staff,
)
from wapshop.services import csvfiles, notify, regions
from wapshop.services.fulfilment.rules import (
    S,
    STATUS_LABELS,
    OpsError,
    BadInput,
    Refused,
    actor_of,
    scoped,
)
from wapshop.services.fulfilment.transitions import move


# --- Shipping.


@dataclass(frozen=True)
class Carrier:
    name: str
    pattern: str
    hint: str
    check_digit: bool = False  # the UPU S10 check digit of EMS numbers

    def valid(self, number: str) -> bool:
        if not re.fullmatch(self.pattern, number):
            return False
        return not self.check_digit or _s10_ok(number)


CARRIERS = {
    c.name: c
    for c in (
        Carrier("顺丰", r"\d{12}", "12位数字"),
        Carrier("宅急送", r"\d{10}", "10位数字"),
        Carrier("EMS", r"[A-Z]{2}\d{9}[A-Z]{2}", "13位，如 EA123456785CN", check_digit=True),
    )
}


def _s10_ok(number: str) -> bool:
    digits = [int(d) for d in number[2:10]]
    check = 11 - sum(w * d for w, d in zip((8, 6, 4, 2, 3, 5, 9, 7), digits)) % 11
    return int(number[10]) == {10: 0, 11: 5}.get(check, check)


def normalise_tracking(text: str) -> str:
    return re.sub(r"[\s\-]", "", text or "").upper()


def carriers_for(order: Order) -> list[str]:
    """Carriers this order may ship with: for cash on delivery only those collecting cash in
    its region (preferred first), otherwise any carrier we know."""
    if order.payment_method != "cod":
        return list(CARRIERS)
    region = regions.get(order.region_code)
    codes = [r.code for r in regions.path(region)] if region else []
    names = db.session.scalars(
        select(CodCoverage.carrier)
        .where(CodCoverage.region_code.in_(codes))
        .group_by(CodCoverage.carrier)
        .order_by(func.min(CodCoverage.priority), CodCoverage.carrier)
    ).all()
    return list(names)


def check_waybill(order: Order, carrier: str, tracking: str, collects_cash: bool) -> str:
    """The normalised tracking number, or BadInput naming the field that is wrong. A parcel
    that collects cash needs a carrier collecting cash in the order's region."""
    if carrier not in (carriers_for(order) if collects_cash else CARRIERS):
        if collects_cash:
            raise BadInput(f"{carrier or '这家快递'}不能在这个地区代收货款。", field="carrier")
        raise BadInput("请选择快递公司。", field="carrier")
    number = normalise_tracking(tracking)
    known = CARRIERS.get(carrier, Carrier(carrier, r"[A-Z0-9]{6,30}", "6到30位字母或数字"))
    if not known.valid(number):
        raise BadInput(
            f"{carrier}运单号应为{known.hint}：{tracking.strip()[:30]} 不对。", "tracking"
        )
    used = db.session.scalar(
        select(Order.number)
        .join(Shipment, Shipment.order_id == Order.id)
        .where(Shipment.carrier == carrier, Shipment.tracking_number == number)
    )
    if used is not None:
        raise BadInput(f"运单号 {number} 已用于订单 {used}。", field="tracking")
    return number


def ship(
    order: Order, expected: str, carrier: str, tracking: str, staff: Staff, now: datetime
) -> Shipment:
    """A confirmed order leaves with a carrier and a tracking number valid for that carrier.
    Everything is checked before anything is written, so a refused row of a bulk upload
    leaves nothing behind. Raises BadInput, Refused, StatusChanged."""
    if expected != S.CONFIRMED:
        label = STATUS_LABELS.get(expected, expected)
        raise Refused(f"订单「{label}」，只有电话确认过的订单才能发货。")
    cod = order.payment_method == "cod"
    number = check_waybill(order, carrier, tracking, collects_cash=cod)
    note = f"{carrier} {number}"
    move(order, expected, S.SHIPPED, (S.CONFIRMED,), actor_of(staff), note, now, carrier=carrier)
    shipment = Shipment(
        order_id=order.id,
        carrier=carrier,
        tracking_number=number,
        cod_fen=order.total_fen if cod else 0,
        shipped_at=now,
        staff_id=staff.id,
        actor=actor_of(staff),
    )
    db.session.add(shipment)
    db.session.flush()
    notify.enqueue(order, "shipped", carrier=carrier, tracking=number)
    return shipment


@dataclass
class CsvReport:
    shipped: list[tuple[int, str, str]] = field(default_factory=list)  # line, order, waybill
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # line, order, why


HEADER_WORDS = {"订单号", "order", "number", "order_number"}
MAX_CSV_ROWS = 2000


def ship_csv(
    text: str, staff: Staff, seller_id: int | None, now: datetime, default_carrier: str = ""
) -> CsvReport:
    """Ship many orders from CSV rows `订单号,快递公司,运单号` (header optional; a row with
    two columns uses `default_carrier`). Each row stands alone: a bad row is reported and
    changes nothing. Another seller's order reads as unknown."""
    rows = list(csvfiles.reader(text))
    if rows and rows[0] and rows[0][0].strip().lower() in HEADER_WORDS:
        rows = rows[1:]
    if len(rows) > MAX_CSV_ROWS:
        raise BadInput(f"一次最多 {MAX_CSV_ROWS} 行，这个文件有 {len(rows)} 行。", field="file")
    report = CsvReport()
    for line, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) == 2:
            cells = [cells[0], default_carrier, cells[1]]
        if len(cells) < 3:
            report.refused.append((line, cells[0], "应有三列：订单号,快递公司,运单号"))
            continue
        number, carrier, tracking = cells[:3]
        order = db.session.scalar(scoped(select(Order).where(Order.number == number), seller_id))
        if order is None:
            report.refused.append((line, number, "没有这个订单"))
            continue
        try:
            shipment = ship(order, order.status, carrier, tracking, staff, now)
        except OpsError as refused:
            report.refused.append((line, number, refused.message))
            continue
        report.shipped.append((line, number, f"{carrier} {shipment.tracking_number}"))
    return report


@dataclass(frozen=True)
class PickLine:
    product_id: int
    title: str
    quantity: int
    orders: int
    variant_label: str = ""  # e.g. "尺码 42": a size or colour is a shelf of its own


def pick_list(seller_id: int | None, carrier: str = "") -> tuple[list[PickLine], list[Order]]:
    """What to take from the shelves for every order waiting to ship: each product's variants
    (the size or colour ordered) with their total quantities, and the orders with their
    addresses, oldest first."""
    stmt = select(Order).where(Order.status == S.CONFIRMED)
    if carrier:
        stmt = stmt.where(Order.carrier == carrier)
    orders_ = db.session.scalars(scoped(stmt, seller_id).order_by(Order.created_at, Order.id)).all()
    totals: dict[tuple, list] = {}
    for order in orders_:
        for item in order.items:
            if seller_id is not None and item.seller_id != seller_id:
                continue
            key = (item.product_id, item.variant_id, item.variant_label or "")
            entry = totals.setdefault(key, [item.title, 0, 0])
            entry[1] += item.quantity
            entry[2] += 1
    lines = [PickLine(pid, t, q, n, label) for (pid, _v, label), (t, q, n) in totals.items()]
    return sorted(lines, key=lambda p: (-p.quantity, p.product_id, p.variant_label)), list(orders_)
