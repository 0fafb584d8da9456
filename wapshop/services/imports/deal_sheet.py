"""Deals in CSV: created and changed by the deal rules, in file order."""

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select

from wapshop.clock import from_china, to_china
from wapshop.extensions import db
from wapshop.models import Deal, Staff
from wapshop.money import yuan_text
from wapshop.parsing import parse_datetime
from wapshop.renditions import RENDITIONS
from wapshop.services import NotFound, csvfiles, deals
from wapshop.services.imports.sheets import (
    TIME_FORMATS,
    BadCell,
    Cells,
    Column,
    Report,
    Sheet,
    fen_cell,
    int_cell,
)

DEAL_COLUMNS = (
    Column("id", "特价ID", ("id",), required=False),
    Column("product_id", "商品ID", ("product_id",)),
    Column("deal_price", "特价", ("deal_price",)),
    Column("starts_at", "开始时间", ("starts_at",)),
    Column("ends_at", "结束时间", ("ends_at",)),
    Column("quantity", "数量", ("quantity",)),
    Column("per_buyer_limit", "每人限购", ("per_buyer_limit",)),
    Column("renditions", "版本", ("renditions",)),
    Column("position", "排序", ("position",), required=False),
)


def _time(text: str) -> datetime:
    try:
        return from_china(parse_datetime(text, TIME_FORMATS))
    except ValueError:
        raise BadCell("请填北京时间，例如 2013-05-01 10:00。") from None


def _renditions(text: str) -> tuple[str, ...]:
    """'wml,basic' (also with ，、; between)."""
    for separator in ("，", "、", ";"):
        text = text.replace(separator, ",")
    chosen = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    if not chosen or not set(chosen) <= set(RENDITIONS):
        raise BadCell("请填版本，用逗号分开：wml,basic,color,touch。")
    return chosen


def import_deals(
    data: bytes,
    actor: Staff | None,
    dry_run: bool,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Create deals (no id) and change existing ones (id), each by the deal rules, in file
    order, so a row that clashes with an earlier row is reported. Raises FileRefused."""
    sheet = Sheet(csvfiles.decode(data), DEAL_COLUMNS)
    report = Report("deals")
    for row in sheet.rows():
        report.rows += 1
        cells = Cells(sheet, row)
        deal_id = cells.get("id", lambda t: int_cell(t, 1), default=0)
        values = deals.DealInput(
            product_id=cells.get("product_id", lambda t: int_cell(t, 1)),
            deal_price_fen=cells.get("deal_price", fen_cell),
            starts_at=cells.get("starts_at", _time),
            ends_at=cells.get("ends_at", _time),
            quantity=cells.get("quantity", lambda t: int_cell(t, 1)),
            per_buyer_limit=cells.get("per_buyer_limit", lambda t: int_cell(t, 1)),
            renditions=cells.get("renditions", _renditions),
            position=cells.get("position", int_cell, default=0),
        )
        if not cells.errors:
            try:
                if deal_id:
                    deals.update_deal(deals.get(deal_id), values, actor)
                    report.updated += 1
                else:
                    deals.create_deal(values, actor, action="import")
                    report.created += 1
            except NotFound:
                cells.errors.append(sheet.error(row, "id", f"没有 ID 为 {deal_id} 的特价。"))
            except deals.DealError as refused:
                cells.errors.append(sheet.error(row, refused.field, refused.message))
        report.errors.extend(cells.errors)
        if progress:
            progress(1)
    return report


def deal_rows() -> Iterable[list[str]]:
    """The header, then every deal, times in China Standard Time."""
    yield [c.header for c in DEAL_COLUMNS]
    for d in db.session.scalars(select(Deal).order_by(Deal.starts_at, Deal.position, Deal.id)):
        yield [
            str(d.id),
            str(d.product_id),
            yuan_text(d.deal_price_fen),
            to_china(d.starts_at).strftime(TIME_FORMATS[0]),
            to_china(d.ends_at).strftime(TIME_FORMATS[0]),
            str(d.quantity),
            str(d.per_buyer_limit),
            d.renditions,
            str(d.position),
        ]
