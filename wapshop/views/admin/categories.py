"""Two-level categories for operators: products sit in the second level."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin import ActionForm
from wapshop.forms.admin.categories import CategoryForm
from wapshop.services import catalog, categories
from wapshop.views.admin.access import OPERATORS, current_staff, staff_required

bp = Blueprint("categories", __name__, url_prefix="/categories")


def _save(category, form: CategoryForm, title: str):
    """The shared POST half of new and edit."""
    page = "admin/categories/edit.html"
    if not form.validate_on_submit():
        return render_template(page, title=title, form=form, category=category), 400
    try:
        saved = categories.save_category(
            category, form.name.data, form.parent(), form.position.data or 0, current_staff()
        )
    except categories.CategoryError as refused:
        take_refusal(form, refused)
        return render_template(page, title=title, form=form, category=category), refused.status
    db.session.commit()
    flash(f"已保存分类“{saved.name}”。")
    return redirect(url_for("admin.categories.index"), 303)


@bp.get("/")
@staff_required(*OPERATORS)
def index():
    return render_template(
        "admin/categories/index.html",
        title="分类",
        tree=catalog.top_categories(),
        action_form=ActionForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def new():
    form = CategoryForm(tops=catalog.top_categories())
    if request.method == "POST":
        return _save(None, form, "新建分类")
    return render_template("admin/categories/edit.html", title="新建分类", form=form, category=None)


@bp.route("/<int:category_id>", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def edit(category_id):
    category = catalog.category(category_id)
    tops = [c for c in catalog.top_categories() if c.id != category.id]
    title = f"分类“{category.name}”"
    if request.method == "POST":
        return _save(category, CategoryForm(tops=tops), title)
    form = CategoryForm(
        name=category.name, parent_id=category.parent_id or 0, position=category.position, tops=tops
    )
    return render_template("admin/categories/edit.html", title=title, form=form, category=category)


@bp.post("/<int:category_id>/delete")
@staff_required(*OPERATORS)
def delete(category_id):
    category = catalog.category(category_id)
    if not ActionForm().validate_on_submit():
        abort(400, "页面已过期，请刷新后再试。")
    try:
        categories.delete_category(category, current_staff())
    except categories.CategoryError as refused:
        flash(refused.message, "warning")
        return redirect(url_for("admin.categories.index"), 303)
    db.session.commit()
    flash(f"已删除分类“{category.name}”。")
    return redirect(url_for("admin.categories.index"), 303)
