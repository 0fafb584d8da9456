"""Work done many orders at a time: passing a selection of addresses, and a carrier's return
file (which parcels were delivered, which refused and why).

Each row stands alone, as in the bulk shipping upload: a bad row is reported with its reason
and changes nothing, the others go through. Everything about a row is checked before anything
is written, so a refused row leaves nothing half-done."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select

from wapshop.extensions import db
from wapshop.models import Order, Shipment, Staff
from wapshop.services import csvfiles
from wapshop.services.fulfilment.rules import (
    S,
    STATUS_LABELS,
    OpsError,
    BadInput,
    Settings,
    scoped,
)
from wapshop.services.fulfilment.shipping import normalise_tracking
from wapshop.services.fulfilment.settlement import close_delivery
from wapshop.services.fulfilment.transitions import check_address

MAX_ROWS = 2000


@dataclass(frozen=True)
class RowResult:
    line: int  # the file's line, or the position in the selection
    number: str  # the order number ("" when the row names no order we know)
    ok: bool
    text: str  # what was (or, in a dry run, would be) done, or why not


def check_addresses(
    picks: list[tuple[int, str]],
    staff: Staff,
    seller_id: int | None,
    now: datetime,
    settings: Settings = Settings(),
) -> list[RowResult]:
    """Pass the address of each (order id, status seen) picked in the queue: each order goes
    on to its confirmation call, or is reported with the reason it did not."""
    if len(picks) > MAX_ROWS:
        raise BadInput(f"一次最多 {MAX_ROWS} 单。", field="picks")
    results = []
    for line, (order_id, seen) in enumerate(picks, start=1):
        order = db.session.scalar(scoped(select(Order).where(Order.id == order_id), seller_id))
        if order is None:
            results.append(RowResult(line, "", False, "没有这个订单"))
            continue
        try:
            check_address(order, seen, True, "", staff, now, settings)
        except OpsError as refused:
            results.append(RowResult(line, order.number, False, refused.message))
            continue
        results.append(RowResult(line, order.number, True, "地址可以送达，待电话确认"))
    return results


# --- A carrier's return file: 运单号,结果,原因.

DELIVERED_WORDS = {"签收", "已签收", "妥投", "已妥投", "delivered", "signed"}
REFUSED_WORDS = {"拒收", "已拒收", "退回", "refused", "rejected"}
HEADER_WORDS = {"运单号", "waybill", "tracking", "tracking_number"}


@dataclass
class ReturnReport:
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    delivered: int = 0
    refused: int = 0
    unchanged: int = 0

    @property
    def bad(self) -> list[RowResult]:
        return [r for r in self.rows if not r.ok]


@dataclass(frozen=True)
class _Step:
    order: Order
    delivered: bool
    reason: str


def _parcel_orders(number: str, seller_id: int | None) -> list[Order]:
    stmt = (
        select(Order)
        .join(Shipment, and_(Shipment.order_id == Order.id, Shipment.kind == "delivery"))
        .where(Shipment.tracking_number == number)
    )
    return list(db.session.scalars(scoped(stmt, seller_id)))


def _plan_row(cells: list[str], seller_id: int | None) -> tuple[_Step | None, str, str]:
    """(the step to take or None, the order number, the reason when nothing is to be done:
    "" for a row to apply)."""
    waybill = normalise_tracking(cells[0])
    word = cells[1].strip().lower() if len(cells) > 1 else ""
    reason = cells[2].strip()[:200] if len(cells) > 2 else ""
    if not waybill:
        return None, "", "没有运单号"
    found = _parcel_orders(waybill, seller_id)
    if not found:
        return None, "", f"没有运单号为 {waybill[:30]} 的包裹"
    if len(found) > 1:
        return None, "", f"运单号 {waybill} 对应多个包裹，请在订单页逐个处理"
    order = found[0]
    if word in DELIVERED_WORDS:
        delivered, target = True, S.DELIVERED
    elif word in REFUSED_WORDS:
        delivered, target = False, S.REFUSED
        if not reason:
            return None, order.number, "拒收要写明原因（第三列）"
    else:
        return None, order.number, f"结果只能是“签收”或“拒收”：{cells[1].strip()[:20]} 不对"
    if order.status == target or (delivered and order.status == S.SETTLED):
        return None, order.number, "unchanged"
    if order.status != S.SHIPPED:
        now_label = STATUS_LABELS.get(order.status, "未知状态")
        return None, order.number, f"订单「{now_label}」，不能改为「{STATUS_LABELS[target]}」"
    return _Step(order, delivered, reason), order.number, ""


def apply_returns(
    text: str, staff: Staff, seller_id: int | None, now: datetime, dry_run: bool
) -> ReturnReport:
    """Read a carrier's return file (`运单号,结果,原因`; 结果 签收 or 拒收, a refusal needs its
    reason; header optional) and, unless a dry run, record each parcel's outcome as the order
    page would. A row already recorded is left alone, so the same file twice changes nothing
    the second time; unknown waybills and moves the order cannot make are reported per row."""
    rows = list(csvfiles.reader(text))
    if rows and rows[0] and rows[0][0].strip().lower() in HEADER_WORDS:
        rows = rows[1:]
    if len(rows) > MAX_ROWS:
        raise BadInput(f"一次最多 {MAX_ROWS} 行，这个文件有 {len(rows)} 行。", field="file")
    report = ReturnReport(dry_run=dry_run)
    seen: set[int] = set()
    for line, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        step, number, why = _plan_row(cells, seller_id)
        if step is not None and step.order.id in seen:
            step, why = None, "同一个包裹在文件里出现了两次，只按第一次处理"
        if step is None:
            if why == "unchanged":
                report.unchanged += 1
                report.rows.append(RowResult(line, number, True, "已记录过，未改动"))
            else:
                report.rows.append(RowResult(line, number, False, why))
            continue
        seen.add(step.order.id)
        done = "签收" if step.delivered else f"拒收：{step.reason}"
        if not dry_run:
            try:
                close_delivery(step.order, S.SHIPPED, step.delivered, step.reason, staff, now)
            except OpsError as refused:
                report.rows.append(RowResult(line, number, False, refused.message))
                continue
        report.rows.append(
            RowResult(line, number, True, ("将记录为" if dry_run else "已记录为") + done)
        )
        if step.delivered:
            report.delivered += 1
        else:
            report.refused += 1
    return report
