"""What a page, its CSV and the command show, cell for cell: text only, money through
wapshop.money."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal


from wapshop.models import Deal
from wapshop.services import deals
from wapshop.clock import to_china
from wapshop.money import yuan_text
from wapshop.services.reports.rollups import METHOD_LABELS
from wapshop.services.reports.figures import Figures, Paying, Overview


DASH = "—"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Table:
    name: str  # in the CSV's URL and file name
    title: str
    columns: list[str]
    rows: list[list[str]]
    foot: list[list[str]] = field(default_factory=list)  # 合计, 日均
    labels: int = 1  # leading text columns; the rest are figures

    def all_rows(self) -> list[list[str]]:
        return [self.columns, *self.rows, *self.foot]


def share(part: int, whole: int) -> str:
    """A percentage to two decimals, or "—" when there is nothing to divide by."""
    if not whole:
        return DASH
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(CENT, ROUND_HALF_UP)}%"


def mean_yuan(fen: int, count: int) -> str:
    return yuan_text(Decimal(fen) / count) if count else DASH


def _mean(value: int, count: int) -> str:
    return str((Decimal(value) / count).quantize(CENT, ROUND_HALF_UP))


DAILY_COLUMNS = [
    "日期", "总订单个数", "总订单金额（元）", "地址有效订单数", "订单有效率", "发货订单数", "发货率",
    "发货订单金额（元）", "拒收订单数", "拒收率", "ASP（元）",
]  # fmt: skip


def _rates(f: Figures) -> dict[str, str]:
    return {
        "valid": share(f.address_ok, f.orders),
        "shipping": share(f.shipped, f.address_ok),
        "refusal": share(f.refused, f.shipped),
        "asp": mean_yuan(f.shipped_fen, f.shipped),
    }


def _daily_cells(label: str, f: Figures) -> list[str]:
    r = _rates(f)
    return [label, str(f.orders), yuan_text(f.orders_fen), str(f.address_ok), r["valid"],
            str(f.shipped), r["shipping"], yuan_text(f.shipped_fen), str(f.refused), r["refusal"],
            r["asp"]]  # fmt: skip


def daily_table(rows: list[tuple[date, Figures]]) -> Table:
    """Section 7's daily report: a row per date, the total, and the daily average."""
    total = sum((f for _day, f in rows), Figures())
    n = len(rows)
    r = _rates(total)
    average = ["日均", _mean(total.orders, n), yuan_text(Decimal(total.orders_fen) / n),
               _mean(total.address_ok, n), r["valid"], _mean(total.shipped, n), r["shipping"],
               yuan_text(Decimal(total.shipped_fen) / n), _mean(total.refused, n), r["refusal"],
               r["asp"]]  # fmt: skip
    return Table(
        "daily",
        "每日订单",
        DAILY_COLUMNS,
        [_daily_cells(day.isoformat(), f) for day, f in rows],
        [_daily_cells("合计", total), average],
    )


SHIPPING_COLUMNS = [
    "日期", "总订单金额（元）", "其中运费（元）", "发货订单金额（元）", "发货订单运费（元）",
]  # fmt: skip


def shipping_table(rows: list[tuple[date, Figures]]) -> Table:
    """The shipping fees inside the daily report's amounts (an order's amount is goods +
    shipping − discount, what the buyer pays): a row per date and the total."""

    def cells(label: str, f: Figures) -> list[str]:
        return [label, yuan_text(f.orders_fen), yuan_text(f.orders_shipping_fen),
                yuan_text(f.shipped_fen), yuan_text(f.shipped_shipping_fen)]  # fmt: skip

    total = sum((f for _day, f in rows), Figures())
    return Table(
        "shipping",
        "运费（已含在订单金额中）",
        SHIPPING_COLUMNS,
        [cells(day.isoformat(), f) for day, f in rows],
        [cells("合计", total)],
    )


PAYING_COLUMNS = ["下单数", "下单金额（元）", "支付订单数", "支付金额（元）", "支付率"]


def _paying_cells(p: Paying) -> list[str]:
    return [str(p.orders), yuan_text(p.orders_fen), str(p.paid), yuan_text(p.paid_fen),
            share(p.paid, p.orders)]  # fmt: skip


def method_label(code: str) -> str:
    return METHOD_LABELS.get(code, code)


def methods_table(rows: list[tuple[str, Paying]]) -> Table:
    total = sum((p for _m, p in rows), Paying())
    return Table(
        "methods",
        "按付款方式",
        ["付款方式", *PAYING_COLUMNS],
        [[method_label(m), *_paying_cells(p)] for m, p in rows],
        [["合计", *_paying_cells(total)]],
    )


def products_table(rows: list[tuple[int, str, Paying]], method: str | None) -> Table:
    total = sum((p for _i, _t, p in rows), Paying())
    return Table(
        "products",
        f"按商品（{method_label(method) if method else '全部付款方式'}）",
        ["商品ID", "商品", *PAYING_COLUMNS],
        [[str(i), title, *_paying_cells(p)] for i, title, p in rows],
        [["合计", "", *_paying_cells(total)]],
        labels=2,
    )


def overview_table(o: Overview) -> Table:
    f = o.figures
    rows = [
        ["总订单个数", str(f.orders)],
        ["GMV（总订单金额，元）", yuan_text(f.orders_fen)],
        ["GMV 中的运费（元）", yuan_text(f.orders_shipping_fen)],
        ["平均订单金额（元）", mean_yuan(f.orders_fen, f.orders)],
        ["发货订单数", str(f.shipped)],
        ["发货订单金额（元）", yuan_text(f.shipped_fen)],
        ["发货订单金额中的运费（元）", yuan_text(f.shipped_shipping_fen)],
        ["拒收率", share(f.refused, f.shipped)],
        ["有发货订单的买家数", str(o.buyers)],
        ["其中有 2 个及以上发货订单的买家数", str(o.repeat_buyers)],
        ["复购率", share(o.repeat_buyers, o.buyers)],
    ]
    return Table("summary", "概况", ["指标", "数值"], rows)


def carriers_table(rows: list[tuple[str, Figures]]) -> Table:
    total = sum((f for _c, f in rows), Figures())

    def cells(label, f):
        return [label, str(f.shipped), str(f.refused), share(f.refused, f.shipped)]

    return Table(
        "carriers",
        "各承运商拒收率",
        ["承运商", "发货订单数", "拒收订单数", "拒收率"],
        [cells(c or "未指定", f) for c, f in rows],
        [cells("合计", total)],
    )


def top_products_table(rows: list[tuple[int, str, Paying]], limit: int = 10) -> Table:
    return Table(
        "top",
        f"下单最多的 {limit} 个商品",
        ["名次", "商品ID", "商品", "下单数", "下单金额（元）"],
        [
            [str(n), str(i), title, str(p.orders), yuan_text(p.orders_fen)]
            for n, (i, title, p) in enumerate(rows[:limit], 1)
        ],  # fmt: skip
        labels=3,
    )


def deals_table(found: list[Deal], now: datetime) -> Table:
    def when(value: datetime) -> str:
        return to_china(value).strftime("%Y-%m-%d %H:%M")

    rows = [
        [str(d.id), d.product.title, when(d.starts_at), when(d.ends_at),
         deals.STATE_LABELS[deals.state(d, now)], str(d.quantity), str(d.sold),
         share(d.sold, d.quantity)]
        for d in found
    ]  # fmt: skip
    quantity, sold = sum(d.quantity for d in found), sum(d.sold for d in found)
    return Table(
        "deals",
        "特价售出率",
        ["特价ID", "商品", "开始", "结束", "状态", "数量", "已售", "售出率"],
        rows,
        [["合计", "", "", "", "", str(quantity), str(sold), share(sold, quantity)]],
        labels=5,
    )
