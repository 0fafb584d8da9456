"""今日特价 for operators: the week at a glance and the day's list with sold and remaining live,
warnings where a rendition's home shows fewer deals than run, create, edit and stop, copy
yesterday's deals to tomorrow, and the home page as each rendition shows it at a chosen time."""

from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from wtforms import SelectChoice

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin import TIME_FORMATS, ActionForm
from wapshop.forms.admin.deals import DealForm
from wapshop.clock import china_day, china_day_bounds, from_china, to_china, utcnow
from wapshop.parsing import parse_date, parse_datetime, parse_id
from wapshop.renditions import LABELS, RENDITIONS
from wapshop.services import NotFound, catalog, deal_calendar, deals
from wapshop.web.rendering import render_page
from wapshop.views.admin.access import OPERATORS, current_staff, staff_required

bp = Blueprint("deals", __name__, url_prefix="/deals")
EDIT_PAGE = "admin/deals/edit.html"


def _day_arg() -> date:
    raw = request.args.get("day", "")
    if not raw:
        return china_day(utcnow())
    try:
        return parse_date(raw)
    except ValueError:
        abort(400, "日期格式不对，例如 2013-05-01。")


def _at_arg() -> datetime:
    """?at= in China Standard Time (as a datetime-local input sends it), as naive UTC."""
    raw = request.args.get("at", "")
    if not raw:
        return utcnow()
    try:
        return from_china(parse_datetime(raw, TIME_FORMATS))
    except ValueError:
        abort(400, "时间格式不对，例如 2013-05-01 10:00。")


def home_limits() -> dict[str, int]:
    """How many deals each rendition's home page shows: its list page size (config PAGE_SIZE,
    as views/catalog.home reads it); beyond that, buyers find them on 更多特价."""
    return current_app.config["PAGE_SIZE"]


def _deal_or_404(deal_id: int):
    try:
        return deals.get(deal_id)
    except NotFound:
        abort(404)


def _day_url(when: datetime) -> str:
    return url_for("admin.deals.day", day=china_day(when).isoformat())


@bp.get("/")
@staff_required(*OPERATORS)
def day():
    now = utcnow()
    shown = _day_arg()
    listing = deals.day_deals(shown, now)
    groups = [
        (label, [d for d in listing if d.state == state])
        for state, label in deals.STATE_LABELS.items()
    ]
    lo, hi = china_day_bounds(shown)
    return render_template(
        "admin/deals/day.html",
        title=f"特价 {shown.isoformat()}",
        day=shown,
        today=china_day(now),
        one_day=timedelta(days=1),
        groups=groups,
        shortfalls=deal_calendar.shortfalls([d.deal for d in listing], lo, hi, now, home_limits()),
        action_form=ActionForm(),
    )


@bp.get("/week")
@staff_required(*OPERATORS)
def week():
    """Monday to Sunday (China time) around ?day=, each day's deals with sold and remaining."""
    now = utcnow()
    days = deal_calendar.week(_day_arg(), now, home_limits())
    monday = days[0].day
    return render_template(
        "admin/deals/week.html",
        title=f"特价周历 {monday.isoformat()} 起",
        days=days,
        today=china_day(now),
        previous=(monday - timedelta(days=7)).isoformat(),
        next=(monday + timedelta(days=7)).isoformat(),
        weekdays="一二三四五六日",
    )


def _show(form: DealForm, deal, title: str, status: int = 200, candidates=()):
    """The deal form, with the chosen product's variants to tick and any products found."""
    product = deals.product_or_none(form.product_id.data)
    if product is not None and len(product.variants) > 1:
        form.variant_ids.choices = [
            SelectChoice(v.id, f"{v.label}（库存 {v.stock}{'，已停售' if not v.active else ''}）")
            for v in product.variants
        ]
    page = render_template(
        EDIT_PAGE,
        title=title,
        form=form,
        deal=deal,
        product=product,
        candidates=candidates,
    )
    return page, status


def _save(deal, form: DealForm, title: str):
    """The shared POST half of new and edit: find the product, then create or update."""
    if not form.validate_on_submit():
        return _show(form, deal, title, 400)
    try:
        product_id = deals.choose_product(form.product_id.data, form.product_query.data)
        if product_id != form.product_id.data:
            form.product_id.data, form.variant_ids.data = product_id, []  # ticked for another
        data = form.data_for_service(product_id)
        if deal is None:
            deal = deals.create_deal(data, current_staff())
            done = f"已创建特价 #{deal.id}。"
        else:
            deals.update_deal(deal, data, current_staff())
            done = f"已保存特价 #{deal.id}。"
    except deals.ProductChoice as choice:
        take_refusal(form, choice)
        return _show(form, deal, title, choice.status, choice.candidates)
    except deals.DealError as refused:
        take_refusal(form, refused)
        return _show(form, deal, title, refused.status)
    db.session.commit()
    flash(done)
    return redirect(_day_url(deal.starts_at), 303)


@bp.route("/new", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def new():
    """GET ?product_id= starts from that product; ?q= lists the products found to pick."""
    if request.method == "POST":
        return _save(None, DealForm(), "新建特价")
    chosen = deals.product_or_none(request.args.get("product_id", type=parse_id))
    query = request.args.get("q", "")[:60]
    form = DealForm(
        formdata=None,
        product_id=chosen.id if chosen else None,
        product_query=chosen.title if chosen else query,
    )
    found = deals.find_products(query) if query and not chosen else []
    return _show(form, None, "新建特价", candidates=found)


@bp.route("/<int:deal_id>", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def edit(deal_id):
    deal = _deal_or_404(deal_id)
    title = f"特价 #{deal.id}"
    if request.method == "POST":
        return _save(deal, DealForm(), title)
    return _show(DealForm.for_deal(deal), deal, title)


@bp.post("/<int:deal_id>/stop")
@staff_required(*OPERATORS)
def stop(deal_id):
    deal = _deal_or_404(deal_id)
    if not ActionForm().validate_on_submit():
        abort(400, "页面已过期，请刷新后再试。")
    deals.stop_deal(deal, current_staff())
    db.session.commit()
    flash(f"特价 #{deal.id} 已停止。")
    return redirect(_day_url(deal.starts_at), 303)


@bp.post("/copy-yesterday")
@staff_required(*OPERATORS)
def copy_yesterday():
    if not ActionForm().validate_on_submit():
        abort(400, "页面已过期，请刷新后再试。")
    now = utcnow()
    result = deals.copy_yesterday_to_tomorrow(now, current_staff())
    db.session.commit()
    flash(f"已把昨天的 {len(result.copied)} 个特价复制到明天。")
    for deal, reason in result.skipped:
        flash(f"跳过 #{deal.id}（{deal.product.title}）：{reason}", "warning")
    return redirect(_day_url(now + timedelta(days=1)), 303)


@bp.get("/preview")
@staff_required(*OPERATORS)
def preview():
    at = _at_arg()
    sizes = home_limits()
    homes = [(r, LABELS[r], catalog.home(r, at, sizes[r])) for r in RENDITIONS]
    return render_template(
        "admin/deals/preview.html",
        title="首页预览",
        at=at,
        at_text=to_china(at).strftime(TIME_FORMATS[0]),
        homes=homes,
    )


@bp.get("/preview/<rendition>")
@staff_required(*OPERATORS)
def preview_frame(rendition):
    """The buyer home page itself, rendered as that rendition at ?at=, for the preview's frames."""
    if rendition not in RENDITIONS:
        abort(404)
    at = _at_arg()
    home = catalog.home(rendition, at, home_limits()[rendition])
    response = render_page(rendition, "catalog/home.html", home=home, now=at)
    # A desktop browser shows XHTML-MP as HTML and cannot show WML: that one as its source.
    kind = "text/plain" if rendition == "wml" else "text/html"
    response.headers["Content-Type"] = f"{kind}; charset=utf-8"
    return response
