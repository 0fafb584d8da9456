"""The numbers the business runs on (DESIGN.md section 7), per order date.

Definitions, read from the orders and their event log (each transition is an OrderEvent whose
to_status is the new OrderStatus; "reached X" means the order has such an event, whatever
happened after it):
- order date: the order's created_at in China Standard Time (Asia/Shanghai, UTC+8);
- 总订单个数 / 总订单金额: every order created that date, whatever its payment method or fate;
  count and sum of total_fen (what the buyer pays: goods + shipping − discount, so every
  amount here includes shipping; the shipping inside them is summed apart from shipping_fen);
- 地址有效订单数: those that reached address_ok (the seller confirmed the address deliverable);
- 发货订单数 / 发货订单金额: those that reached shipped (the back office ships only orders
  confirmed by phone, DESIGN.md section 6); count and sum of total_fen;
- 拒收订单数: those that reached refused;
- 订单有效率 = 地址有效 ÷ 总订单; 发货率 = 发货 ÷ 地址有效; 拒收率 = 拒收 ÷ 发货;
  ASP = 发货订单金额 ÷ 发货订单数; a zero denominator shows "—";
- payment method: the one the order was placed with (checkout writes its code as the note of
  the placing event), so an online order later switched to cash on delivery stays an unpaid
  online order; paid: an online order that reached paid, a cash-on-delivery order that reached
  delivered (cash collected); 支付率 = paid ÷ placed;
- GMV: 总订单金额; average order value = GMV ÷ 总订单个数; 复购率: of the buyers (normalised
  phone) with a shipped order of the range, the share with two or more.
Totals add the days up; the daily average divides the total by the number of days in the range,
and its rates and ASP are the total's (ratios of sums, not averages of ratios).

Reads come from the rollups in models/reports.py; `refresh` brings them up to date with the
event log first (the views and commands call it), `rebuild` recomputes them all.

Rooms, by layer: dates (CST days in Python and SQL), rollups (the tables and their refresh),
figures (the KPIs read from them), tables (rows for pages, CSV and the command)."""

from wapshop.services.reports.dates import (
    MAX_DAYS,
    DEFAULT_DAYS,
    BadRange,
    parse_range,
    days_between,
    utc_bounds,
    cst_date,
    as_date,
)
from wapshop.services.reports.rollups import (
    METHOD_LABELS,
    GAP_TTL,
    MAX_GAPS,
    RECENT_IDS,
    CHUNK_DAYS,
    RECOUNT_BATCH,
    FACT_COLUMNS,
    CUBE_KEYS,
    CUBE_SUMS,
    PRODUCT_KEYS,
    PRODUCT_SUMS,
    order_day_rows,
    recompute,
    refresh,
    rebuild,
)
from wapshop.services.reports.figures import (
    Figures,
    daily,
    totals,
    Paying,
    payments_by_method,
    payments_by_product,
    Overview,
    overview,
    by_carrier,
    deal_sell_through,
)
from wapshop.services.reports.tables import (
    DASH,
    CENT,
    Table,
    share,
    mean_yuan,
    DAILY_COLUMNS,
    daily_table,
    SHIPPING_COLUMNS,
    shipping_table,
    PAYING_COLUMNS,
    method_label,
    methods_table,
    products_table,
    overview_table,
    carriers_table,
    top_products_table,
    deals_table,
)

__all__ = [
    "MAX_DAYS",
    "DEFAULT_DAYS",
    "BadRange",
    "parse_range",
    "days_between",
    "utc_bounds",
    "cst_date",
    "as_date",
    "METHOD_LABELS",
    "GAP_TTL",
    "MAX_GAPS",
    "RECENT_IDS",
    "CHUNK_DAYS",
    "RECOUNT_BATCH",
    "FACT_COLUMNS",
    "CUBE_KEYS",
    "CUBE_SUMS",
    "PRODUCT_KEYS",
    "PRODUCT_SUMS",
    "order_day_rows",
    "recompute",
    "refresh",
    "rebuild",
    "Figures",
    "daily",
    "totals",
    "Paying",
    "payments_by_method",
    "payments_by_product",
    "Overview",
    "overview",
    "by_carrier",
    "deal_sell_through",
    "DASH",
    "CENT",
    "Table",
    "share",
    "mean_yuan",
    "DAILY_COLUMNS",
    "daily_table",
    "SHIPPING_COLUMNS",
    "shipping_table",
    "PAYING_COLUMNS",
    "method_label",
    "methods_table",
    "products_table",
    "overview_table",
    "carriers_table",
    "top_products_table",
    "deals_table",
]
