"""Collections (专场) for operators: which products, in what order, for which renditions."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin.collections import CollectionForm
from wapshop.services import NotFound, collections
from wapshop.views.admin.access import OPERATORS, current_staff, staff_required

bp = Blueprint("collections", __name__, url_prefix="/collections")


def _save(collection, form: CollectionForm, title: str):
    """The shared POST half of new and edit."""
    page = "admin/collections/edit.html"
    if not form.validate_on_submit():
        return render_template(page, title=title, form=form, collection=collection), 400
    try:
        saved = collections.save_collection(collection, form.data_for_service(), current_staff())
    except collections.CollectionError as refused:
        take_refusal(form, refused)
        return render_template(page, title=title, form=form, collection=collection), refused.status
    db.session.commit()
    flash(f"已保存专场“{saved.name}”。")
    return redirect(url_for("admin.collections.index"), 303)


@bp.get("/")
@staff_required(*OPERATORS)
def index():
    return render_template(
        "admin/collections/index.html", title="专场", collections=collections.listing()
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def new():
    form = CollectionForm()
    if request.method == "POST":
        return _save(None, form, "新建专场")
    return render_template(
        "admin/collections/edit.html", title="新建专场", form=form, collection=None
    )


@bp.route("/<int:collection_id>", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def edit(collection_id):
    try:
        collection = collections.get_collection(collection_id)
    except NotFound:
        abort(404)
    title = f"专场“{collection.name}”"
    if request.method == "POST":
        return _save(collection, CollectionForm(), title)
    form = CollectionForm.for_collection(collection, [p.id for p in collection.products])
    return render_template(
        "admin/collections/edit.html", title=title, form=form, collection=collection
    )
