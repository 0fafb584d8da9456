"""优惠券 and 满减 for operators: lists with their state, create (a coupon optionally granted
to the phones listed), stop."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin import ActionForm
from wapshop.forms.admin.marketing import CouponForm, PromotionForm
from wapshop.services.members import coupons, promotions
from wapshop.views.admin.access import OPERATORS, current_staff, staff_required

bp = Blueprint("marketing_coupons", __name__, url_prefix="/marketing")


def _checked_action() -> None:
    if not ActionForm().validate_on_submit():
        abort(400, "页面已过期，请刷新后再试。")


@bp.get("/coupons")
@staff_required(*OPERATORS)
def coupon_list():
    return render_template(
        "admin/marketing/coupons.html",
        title="优惠券",
        coupons=coupons.listing(),
        kinds=coupons.KIND_LABELS,
        now=utcnow(),
        action_form=ActionForm(),
    )


@bp.route("/coupons/new", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def new_coupon():
    form, page = CouponForm(), "admin/marketing/coupon_edit.html"
    if request.method == "GET":
        return render_template(page, title="新建优惠券", form=form)
    if not form.validate_on_submit():
        return render_template(page, title="新建优惠券", form=form), 400
    try:
        coupon = coupons.create_coupon(form.data_for_service(), current_staff())
    except coupons.CouponRefused as refused:
        take_refusal(form, refused)
        return render_template(page, title="新建优惠券", form=form), refused.status
    granted = coupons.grant(coupon.id, form.phone_list())
    db.session.commit()
    flash(f"已创建优惠券 {coupon.code}，发给 {granted} 个手机号。")
    return redirect(url_for("admin.marketing_coupons.coupon_list"), 303)


@bp.post("/coupons/<int:coupon_id>/stop")
@staff_required(*OPERATORS)
def stop_coupon(coupon_id):
    _checked_action()
    coupon = coupons.get(coupon_id)
    if coupon is None:
        abort(404)
    coupons.stop_coupon(coupon, current_staff())
    db.session.commit()
    flash(f"优惠券 {coupon.code} 已停用。")
    return redirect(url_for("admin.marketing_coupons.coupon_list"), 303)


@bp.get("/promotions")
@staff_required(*OPERATORS)
def promotion_list():
    now = utcnow()
    listing = [(p, promotions.STATE_LABELS[promotions.state(p, now)]) for p in promotions.listing()]
    return render_template(
        "admin/marketing/promotions.html",
        title="满减",
        promotions=listing,
        action_form=ActionForm(),
    )


@bp.route("/promotions/new", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def new_promotion():
    form, page = PromotionForm(), "admin/marketing/promotion_edit.html"
    if request.method == "GET":
        return render_template(page, title="新建满减", form=form)
    if not form.validate_on_submit():
        return render_template(page, title="新建满减", form=form), 400
    try:
        promotion = promotions.create_promotion(form.data_for_service(), current_staff())
    except promotions.PromotionRefused as refused:
        take_refusal(form, refused)
        return render_template(page, title="新建满减", form=form), refused.status
    db.session.commit()
    flash(f"已创建满减 #{promotion.id}。")
    return redirect(url_for("admin.marketing_coupons.promotion_list"), 303)


@bp.post("/promotions/<int:promotion_id>/stop")
@staff_required(*OPERATORS)
def stop_promotion(promotion_id):
    _checked_action()
    promotion = promotions.get(promotion_id)
    if promotion is None:
        abort(404)
    promotions.stop_promotion(promotion, current_staff())
    db.session.commit()
    flash(f"满减 #{promotion.id} 已停止。")
    return redirect(url_for("admin.marketing_coupons.promotion_list"), 303)
