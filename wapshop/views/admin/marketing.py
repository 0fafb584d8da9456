"""营销 for operators: the figures (discounts per day, coupon redemption, points liability),
RFM segments, member tiers and their perks, and points adjustments with a reason. Coupons
and 满减 are in marketing_coupons.py, campaigns in marketing_campaigns.py."""

from dataclasses import astuple
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from wapshop.clock import china_day, utcnow
from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin import ActionForm
from wapshop.forms.admin.marketing import PhoneLookupForm, PointsAdjustForm, tiers_form
from wapshop.services import admin_audit
from wapshop.services.members import Settings, figures, points, rfm, tiers
from wapshop.views.admin.access import OPERATORS, current_staff, staff_required

bp = Blueprint("marketing", __name__, url_prefix="/marketing")
REPORT_DAYS = 14


def settings() -> Settings:
    return Settings.from_config(current_app.config)


@bp.get("/")
@staff_required(*OPERATORS)
def index():
    now = utcnow()
    today = china_day(now)
    return render_template(
        "admin/marketing/index.html",
        title="营销",
        days=figures.discounts_per_day(today - timedelta(days=REPORT_DAYS - 1), today),
        redemptions=figures.redemptions(),
        liability=figures.liability(now),
    )


@bp.route("/rfm", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def segments():
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, "页面已过期，请刷新后再试。")
        count = rfm.recompute(utcnow(), settings())
        db.session.commit()
        flash(f"已重新计算 {count} 个手机号的分组。")
        return redirect(url_for("admin.marketing.segments"), 303)
    rows, computed = rfm.report()
    return render_template(
        "admin/marketing/rfm.html",
        title="会员分组（RFM）",
        rows=rows,
        computed=computed,
        settings=settings(),
        form=form,
    )


@bp.route("/tiers", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def tier_settings():
    current = tiers.tiers(settings().tiers)
    form = tiers_form(current)()
    page = "admin/marketing/tiers.html"
    if request.method == "GET":
        return render_template(page, title="会员等级", form=form)
    if not form.validate_on_submit():
        return render_template(page, title="会员等级", form=form), 400
    try:
        before = {t.code: list(astuple(t)) for t in current}
        new = form.data_for_service()
        tiers.save_tiers(new)
    except tiers.BadTiers as refused:
        take_refusal(form, refused)
        return render_template(page, title="会员等级", form=form), refused.status
    _audit_tiers(before, {t.code: list(astuple(t)) for t in new})
    db.session.commit()
    flash("会员等级已保存。")
    return redirect(url_for("admin.marketing.tier_settings"), 303)


def _audit_tiers(before: dict, after: dict) -> None:
    admin_audit.record(current_staff(), "update", "member_tiers", "all", before, after)


@bp.route("/points", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def points_page():
    now = utcnow()
    lookup = PhoneLookupForm(request.args)
    form = PointsAdjustForm()
    phone = lookup.phone.data if request.args.get("phone") and lookup.validate() else None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                points.adjust(form.phone.data, form.points.data, form.reason.data.strip(),
                              current_staff(), now)  # fmt: skip
            except points.NotEnoughPoints as refused:
                db.session.rollback()
                take_refusal(form, refused)
                status = refused.status
            else:
                db.session.commit()
                flash(f"已为 {form.phone.data} 调整 {form.points.data:+d} 积分。")
                return redirect(url_for("admin.marketing.points_page", phone=form.phone.data), 303)
        else:
            status = 400
        phone = phone or (form.phone.data if not form.phone.errors else None)
    elif phone:
        form.phone.data = phone
    return render_template(
        "admin/marketing/points.html",
        title="积分",
        lookup=lookup,
        form=form,
        phone=phone,
        balance=points.balance(phone, now) if phone else 0,
        expiring=points.next_expiring(phone, now) if phone else None,
        standing=tiers.standing(phone, settings().tiers) if phone else None,
        entries=points.entries(phone, 50) if phone else [],
        kinds=points.KIND_LABELS,
    ), status
