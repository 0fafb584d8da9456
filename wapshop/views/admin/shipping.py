"""Shipping fee rules for admins: the table, add, change, deactivate or reactivate a rule (each
change audited), and a preview of what a parcel costs by each carrier."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin import ActionForm
from wapshop.forms.admin.shipping import PreviewForm, RuleForm
from wapshop.services import NotFound, regions, shipping_rules
from wapshop.views.admin.access import ADMINS, current_staff, staff_required

bp = Blueprint("shipping", __name__, url_prefix="/shipping-fees")
EDIT_PAGE = "admin/shipping/edit.html"


def _rule_or_404(rule_id: int):
    try:
        return shipping_rules.get(rule_id)
    except NotFound:
        abort(404)


def _save(rule, form: RuleForm, title: str):
    """The shared POST half of new and edit: resolve the region, then save."""
    if not form.validate_on_submit():
        return render_template(EDIT_PAGE, title=title, form=form, rule=rule), 400
    try:
        code = shipping_rules.choose_region(form.region_code.data, form.region_query.data)
        data = form.data_for_service(code)
        if rule is None:
            rule = shipping_rules.create_rule(data, current_staff())
        else:
            shipping_rules.update_rule(rule, data, current_staff())
    except shipping_rules.RegionChoice as choice:
        form.region_code.choices = [SelectChoice(code, name) for code, name in choice.candidates]
        take_refusal(form, choice)
        return render_template(EDIT_PAGE, title=title, form=form, rule=rule), choice.status
    except shipping_rules.RuleError as refused:
        take_refusal(form, refused)
        return render_template(EDIT_PAGE, title=title, form=form, rule=rule), refused.status
    db.session.commit()
    flash(f"已保存运费规则 #{rule.id}。")
    return redirect(url_for("admin.shipping.index"), 303)


@bp.get("/")
@staff_required(*ADMINS)
def index():
    return render_template(
        "admin/shipping/index.html",
        title="运费规则",
        rows=shipping_rules.listing(),
        action_form=ActionForm(),
        preview_form=PreviewForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(*ADMINS)
def new():
    if request.method == "POST":
        return _save(None, RuleForm(), "新建运费规则")
    return render_template(EDIT_PAGE, title="新建运费规则", form=RuleForm(), rule=None)


@bp.route("/<int:rule_id>", methods=["GET", "POST"])
@staff_required(*ADMINS)
def edit(rule_id):
    rule = _rule_or_404(rule_id)
    title = f"运费规则 #{rule.id}"
    if request.method == "POST":
        return _save(rule, RuleForm(), title)
    return render_template(EDIT_PAGE, title=title, form=RuleForm.for_rule(rule), rule=rule)


@bp.post("/<int:rule_id>/<any(deactivate, activate):action>")
@staff_required(*ADMINS)
def switch(rule_id, action):
    rule = _rule_or_404(rule_id)
    if not ActionForm().validate_on_submit():
        abort(400, "页面已过期，请刷新后再试。")
    try:
        shipping_rules.set_active(rule, action == "activate", current_staff())
    except shipping_rules.RuleError as refused:
        flash(refused.message, "warning")
        return redirect(url_for("admin.shipping.index"), 303)
    db.session.commit()
    flash(f"运费规则 #{rule.id} 已{'启用' if rule.active else '停用'}。")
    return redirect(url_for("admin.shipping.index"), 303)


@bp.get("/preview")
@staff_required(*ADMINS)
def preview():
    """What a parcel costs by each carrier: ?place= (a region's name), ?kg=, ?goods= (yuan)."""
    form = PreviewForm(request.args)
    lines, error, place = [], None, ""
    try:
        grams, goods_fen = form.grams(), form.goods_fen()
    except ValueError:
        error = "重量请填 0.01 到 100 公斤，货值请填不小于 0 的金额，例如 1.2 和 50。"
    else:
        try:
            code = shipping_rules.choose_region(None, form.place.data)
        except shipping_rules.RuleError as refused:
            error = refused.message
        else:
            region = regions.get(code)
            place = shipping_rules.region_label(code)
            if region is None:
                error = "请填要寄到的省、市或区县。"
            else:
                lines = shipping_rules.preview(region, grams, goods_fen)
    status = 400 if error else 200
    return render_template(
        "admin/shipping/preview.html",
        title="运费预览",
        form=form,
        lines=lines,
        place=place,
        error=error,
    ), status
