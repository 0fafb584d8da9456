"""Products for operators and sellers (a seller's staff see only that seller's products: any
other id is a 404), their images, and the stock warnings list."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin.products import ImageForm, ProductForm, VariantsForm
from wapshop.parsing import parse_int
from wapshop.services import NotFound, catalog, product_variants, products
from wapshop.services.pagination import PageOutOfRange
from wapshop.views import page_arg
from wapshop.views.admin.access import CATALOG_EDITORS, current_staff, seller_scope, staff_required

bp = Blueprint("products", __name__, url_prefix="/products")
# Room for the form's other fields and the multipart framing around the image.
UPLOAD_OVERHEAD = 64 * 1024


def _product_or_404(product_id: int):
    try:
        return products.get_product(product_id, seller_scope())
    except NotFound:
        abort(404)


def _choices() -> dict:
    """The form's categories, and the sellers this staff member may assign."""
    scope = seller_scope()
    sellers = [s for s in products.sellers() if scope is None or s.id == scope]
    return {"categories": catalog.top_categories(), "sellers": sellers}


def _page(fetch, *args, **kwargs):
    try:
        return fetch(page_arg(), current_app.config["ADMIN_PAGE_SIZE"], *args, **kwargs)
    except PageOutOfRange:
        abort(404)


def _image_limits() -> products.ImageLimits:
    return products.ImageLimits.from_config(current_app.config)


@bp.get("/")
@staff_required(*CATALOG_EDITORS)
def index():
    query = request.args.get("q", "")[:60]
    page = _page(products.listing, seller_id=seller_scope(), query=query)
    return render_template("admin/products/index.html", title="商品", page=page, query=query)


@bp.route("/new", methods=["GET", "POST"])
@staff_required(*CATALOG_EDITORS)
def new():
    form = ProductForm(**_choices())
    page = "admin/products/edit.html"
    if request.method == "GET":
        return render_template(page, title="新建商品", form=form, product=None)
    if not form.validate_on_submit():
        return render_template(page, title="新建商品", form=form, product=None), 400
    try:
        product = products.create_product(form.data_for_service(), current_staff())
    except products.ProductError as refused:
        take_refusal(form, refused)
        return render_template(page, title="新建商品", form=form, product=None), refused.status
    db.session.commit()
    flash(f"已创建商品 #{product.id}，可以上传图片了。")
    return redirect(url_for("admin.products.edit", product_id=product.id), 303)


def _edit_page(product, form, image_form, status=200, variants_form=None):
    form = form or ProductForm.for_product(product, **_choices())
    return render_template(
        "admin/products/edit.html",
        title=f"商品 #{product.id}",
        form=form,
        image_form=image_form,
        variants_form=variants_form or VariantsForm.for_product(product),
        variants_by_id={str(v.id): v for v in product.variants},
        product=product,
        limits=_image_limits(),
    ), status


@bp.route("/<int:product_id>", methods=["GET", "POST"])
@staff_required(*CATALOG_EDITORS)
def edit(product_id):
    product = _product_or_404(product_id)
    if request.method == "GET":
        return _edit_page(
            product, ProductForm.for_product(product, **_choices()), ImageForm(formdata=None)
        )
    form = ProductForm(**_choices())
    if not form.validate_on_submit():
        return _edit_page(product, form, ImageForm(formdata=None), 400)
    try:
        products.update_product(
            product, form.data_for_service(), form.seen_stock_value(), current_staff()
        )
    except (products.ProductError, product_variants.VariantError) as refused:
        db.session.rollback()
        product = _product_or_404(product_id)
        take_refusal(form, refused)
        form.seen_stock.data = str(product.stock)  # as it is now: the editor decides again
        return _edit_page(product, form, ImageForm(formdata=None), refused.status)
    db.session.commit()
    flash(f"已保存商品 #{product.id}。")
    return redirect(url_for("admin.products.edit", product_id=product.id), 303)


@bp.post("/<int:product_id>/variants")
@staff_required(*CATALOG_EDITORS)
def variants(product_id):
    """Each variant's stock (never over a sale since the page was opened), price, code, and
    whether it is on sale: all rows or none."""
    product = _product_or_404(product_id)
    form = VariantsForm()
    if not form.validate_on_submit():
        return _edit_page(product, None, ImageForm(formdata=None), 400, form)
    try:
        edits = form.edits()
    except ValueError:
        abort(400, "款式表格不完整，请刷新后再改。")
    try:
        changed = product_variants.update_variants(product, edits, current_staff())
    except product_variants.VariantError as refused:
        db.session.rollback()
        product = _product_or_404(product_id)
        form.see_again(product)  # the figures as they are now: the editor decides again
        take_refusal(form, refused)
        return _edit_page(product, None, ImageForm(formdata=None), refused.status, form)
    db.session.commit()
    flash(f"已保存 {changed} 个款式。" if changed else "款式没有变化。")
    return redirect(url_for("admin.products.edit", product_id=product.id), 303)


@bp.post("/<int:product_id>/image")
@staff_required(*CATALOG_EDITORS)
def upload_image(product_id):
    product = _product_or_404(product_id)
    limits = _image_limits()
    request.max_content_length = limits.max_bytes + UPLOAD_OVERHEAD
    try:
        form = ImageForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        form = ImageForm(formdata=None)
        form.image.errors = [f"图片文件太大：最大 {limits.max_bytes // 1024 // 1024} MB。"]
        return _edit_page(product, None, form, 413)
    if not valid:
        return _edit_page(product, None, form, 400)
    try:
        sizes = products.store_image(product, form.image.data.stream, limits, current_staff())
    except products.ImageRefused as refused:
        take_refusal(form, refused)
        return _edit_page(product, None, form, refused.status)
    db.session.commit()
    flash("图片已上传，各版本的缩略图已生成。")
    for size, (written, within) in sizes.items():
        if not within:
            budget = products.VARIANT_BUDGETS[size]
            flash(f"{size} 缩略图 {written} 字节，超过预算 {budget} 字节。", "warning")
    return redirect(url_for("admin.products.edit", product_id=product.id), 303)


@bp.get("/stock")
@staff_required(*CATALOG_EDITORS)
def stock():
    default = current_app.config["STOCK_WARNING_THRESHOLD"]
    threshold = request.args.get("threshold", default, type=parse_int)
    page = _page(products.low_stock, threshold, seller_id=seller_scope())
    return render_template(
        "admin/products/stock.html", title="库存预警", page=page, threshold=threshold
    )
