"""Reports for operations and management: the overview, the daily order report (DESIGN.md
section 7), payments and the buying funnel, for a range of China Standard Time order dates.
Every table has a CSV export made from the same cells; charts are server-rendered SVG (pygal),
no script. Admins and operators read them; customer service and sellers do not (the figures
are the whole shop's money, across sellers).

Every page first brings the rollups up to date with the order log (services/reports.refresh)."""

import sys
from datetime import date, timedelta

import pygal
from flask import Blueprint, abort, current_app, render_template, request, url_for
from markupsafe import Markup
from pygal.style import Style

from wapshop.extensions import db
from wapshop.models import StaffRole
from wapshop.clock import china_day, utcnow
from wapshop.services import csvfiles, reports
from wapshop.services import funnel as funnel_service
from wapshop.views.admin.access import staff_required

# pygal appends a legacy import hook for its map plugins (pygal.maps.*, unused here) to
# sys.meta_path. Having no find_spec(), it turns every failed import elsewhere into an
# ImportWarning (an error under the test suite's filterwarnings): take it out again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__module__ != "pygal"]

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = (StaffRole.OPERATOR,)  # admins always may
PAGES = {
    "overview": "概览",
    "daily": "订单日报",
    "payments": "支付",
    "funnel": "转化漏斗",
}


# --- Charts: pygal's SVG inline in the page, its script stripped ---------------------------

CHART_STYLE = Style(
    font_family='"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif',
    background="#fff",
    plot_background="#fff",
    colors=("#0b5cad", "#2e7d32", "#f9a825", "#c62828", "#6a1b9a"),
)


def _no_scripts(root):
    """pygal's xml_filter: drop its <script> elements (tooltips), so the SVG is static."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


NO_DATA = "这段时间没有数据"


def chart(kind, title: str, labels: list[str], series, percent: bool = False) -> Markup:
    """An SVG chart as markup for the page: kind is pygal.Line, pygal.Bar... A chart with
    nothing but zeros and blanks is a sentence saying so, not an empty frame."""
    series = [(name, list(values)) for name, values in series]
    if not any(value for _name, values in series for value in values):
        return Markup('<p class="no-data"><b>{}</b>：{}</p>').format(title, NO_DATA)
    graph = kind(
        style=CHART_STYLE,
        width=900,
        height=300,
        js=[],
        disable_xml_declaration=True,
        x_label_rotation=45 if len(labels) > 10 else 0,
        show_minor_x_labels=len(labels) <= 31,
        x_labels_major_every=max(1, len(labels) // 15),
        truncate_legend=-1,
        legend_at_bottom=True,
        no_data_text=NO_DATA,
        value_formatter=(lambda v: f"{v:.2f}%") if percent else (lambda v: f"{v:g}"),
        # A line's dots only carry tooltips, which need the script we drop: a third the time.
        # A single day is no line at all, though: then its dots are the chart.
        **({"show_dots": False} if kind is pygal.Line and len(labels) > 1 else {}),
    )
    graph.add_xml_filter(_no_scripts)
    graph.title = title
    graph.x_labels = labels
    for name, values in series:
        graph.add(name, values)
    return Markup(graph.render(is_unicode=True))


def _rate(part: int, whole: int):
    return round(part * 100 / whole, 2) if whole else None


# --- What each page shows ------------------------------------------------------------------


def _method_arg() -> str:
    method = request.args.get("method", "")
    if method and method not in reports.METHOD_LABELS:
        abort(400, "没有这种付款方式。")
    return method


def _overview(first: date, last: date, charts: bool):
    now = utcnow()
    summary = reports.overview(first, last)
    tables = [
        reports.overview_table(summary),
        reports.carriers_table(reports.by_carrier(first, last)),
        reports.top_products_table(reports.payments_by_product(first, last)),
        reports.deals_table(reports.deal_sell_through(first, last), now),
    ]
    drawn = []
    if charts:
        rows = reports.daily(first, last)
        drawn.append(
            chart(
                pygal.Bar,
                "每日 GMV（元）",
                [d.strftime("%m-%d") for d, _f in rows],
                [
                    ("总订单金额", [f.orders_fen / 100 for _d, f in rows]),
                    ("发货订单金额", [f.shipped_fen / 100 for _d, f in rows]),
                ],
            )
        )
    return tables, drawn


def _daily(first: date, last: date, charts: bool):
    rows = reports.daily(first, last)
    drawn = []
    if charts:
        labels = [d.strftime("%m-%d") for d, _f in rows]
        drawn.append(
            chart(
                pygal.Line,
                "每日订单数",
                labels,
                [
                    ("总订单", [f.orders for _d, f in rows]),
                    ("地址有效", [f.address_ok for _d, f in rows]),
                    ("发货", [f.shipped for _d, f in rows]),
                    ("拒收", [f.refused for _d, f in rows]),
                ],
            )
        )
        drawn.append(
            chart(
                pygal.Line,
                "订单有效率、发货率、拒收率（%）",
                labels,
                [
                    ("订单有效率", [_rate(f.address_ok, f.orders) for _d, f in rows]),
                    ("发货率", [_rate(f.shipped, f.address_ok) for _d, f in rows]),
                    ("拒收率", [_rate(f.refused, f.shipped) for _d, f in rows]),
                ],
                percent=True,
            )
        )
    return [reports.daily_table(rows), reports.shipping_table(rows)], drawn


def _payments(first: date, last: date, charts: bool):
    method = _method_arg()
    by_method = reports.payments_by_method(first, last)
    tables = [
        reports.methods_table(by_method),
        reports.products_table(reports.payments_by_product(first, last, method or None), method),
    ]
    drawn = []
    if charts:
        drawn.append(
            chart(
                pygal.Bar,
                "各付款方式支付率（%）",
                [reports.method_label(m) for m, _p in by_method],
                [("支付率", [_rate(p.paid, p.orders) for _m, p in by_method])],
                percent=True,
            )
        )
    return tables, drawn


def _funnel(first: date, last: date, charts: bool):
    rows = funnel_service.funnel(first, last)
    totals = funnel_service.by_rendition(rows)
    tables = [funnel_service.renditions_table(totals), funnel_service.days_table(rows)]
    drawn = []
    if charts:
        steps = ("home", "product", "confirm", "orders")
        names = ("首页", "商品页", "确认页", "下单")
        drawn.append(
            chart(
                pygal.Bar,
                "各版本转化漏斗",
                list(names),
                [
                    (funnel_service.label(r), [getattr(s, step) for step in steps])
                    for r, s in totals
                ],
            )
        )
    return tables, drawn


BUILDERS = {"overview": _overview, "daily": _daily, "payments": _payments, "funnel": _funnel}


# --- Pages and their CSV -------------------------------------------------------------------


def _range() -> tuple[date, date]:
    try:
        return reports.parse_range(
            request.args.get("start"), request.args.get("end"), china_day(utcnow())
        )
    except reports.BadRange as bad:
        abort(400, bad.message)


def _refresh() -> None:
    """Bring the rollups up to date with the order log before reading them."""
    reports.refresh(utcnow())
    db.session.commit()


def _shortcuts(today: date) -> list[tuple[str, date, date]]:
    month = today.replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    return [
        ("今天", today, today),
        ("昨天", today - timedelta(days=1), today - timedelta(days=1)),
        ("最近 7 天", today - timedelta(days=6), today),
        ("最近 30 天", today - timedelta(days=29), today),
        ("本月", month, today),
        ("上月", previous, month - timedelta(days=1)),
    ]


def _page(report: str):
    first, last = _range()
    _refresh()
    tables, charts = BUILDERS[report](first, last, True)
    args = {"start": first.isoformat(), "end": last.isoformat()}
    if report == "payments" and request.args.get("method"):
        args["method"] = request.args["method"]
    return render_template(
        f"admin/reports/{report}.html",
        title=PAGES[report],
        report=report,
        pages=PAGES,
        first=first,
        last=last,
        shortcuts=_shortcuts(china_day(utcnow())),
        tables=tables,
        charts=charts,
        csv_urls={
            t.name: url_for("admin.reports.export", report=report, table=t.name, **args)
            for t in tables
        },
        methods=reports.METHOD_LABELS,
        method=request.args.get("method", ""),
    )


@bp.get("/")
@staff_required(*READERS)
def overview():
    return _page("overview")


@bp.get("/daily")
@staff_required(*READERS)
def daily():
    return _page("daily")


@bp.get("/payments")
@staff_required(*READERS)
def payments():
    return _page("payments")


@bp.get("/funnel")
@staff_required(*READERS)
def funnel():
    return _page("funnel")


@bp.get("/<report>/<table>.csv")
@staff_required(*READERS)
def export(report, table):
    """One table of a page as CSV, the same cells as the page (UTF-8 with BOM, or ?encoding=gbk)."""
    if report not in BUILDERS:
        abort(404)
    encoding = request.args.get("encoding", "utf-8")
    if encoding not in csvfiles.ENCODINGS:
        abort(400, "编码只能是 utf-8 或 gbk。")
    first, last = _range()
    _refresh()
    tables, _charts = BUILDERS[report](first, last, False)
    found = next((t for t in tables if t.name == table), None)
    if found is None:
        abort(404)
    name = f"{report}-{table}-{first.isoformat()}-{last.isoformat()}.csv"
    return current_app.response_class(
        csvfiles.encode(found.all_rows(), encoding),
        headers={
            "Content-Type": f"text/csv; charset={'gbk' if encoding == 'gbk' else 'utf-8'}",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
