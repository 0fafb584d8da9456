"""CSV import and export of products and deals for operators: a dry run that lists every bad
row, then an all-or-nothing import."""

import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin.imports import KIND_LABELS, ImportForm
from wapshop.clock import to_china, utcnow
from wapshop.services import csvfiles, imports
from wapshop.views.admin.access import OPERATORS, current_staff, staff_required

bp = Blueprint("imports", __name__, url_prefix="/csv")
UPLOAD_OVERHEAD = 64 * 1024


def _deadline(seconds: float):
    """A progress callback that raises imports.TooSlow once `seconds` have passed."""
    give_up = time.monotonic() + seconds

    def check(_rows: int) -> None:
        if time.monotonic() > give_up:
            raise imports.TooSlow()

    return check


def _page(form, report=None, status=200):
    return render_template(
        "admin/imports/index.html",
        title="导入导出",
        form=form,
        report=report,
        kinds=KIND_LABELS,
        columns=imports.COLUMNS,
        max_mb=current_app.config["ADMIN_IMPORT_MAX_BYTES"] // 1024 // 1024,
    ), status


@bp.route("/", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def index():
    limit = current_app.config["ADMIN_IMPORT_MAX_BYTES"]
    request.max_content_length = limit + UPLOAD_OVERHEAD
    try:
        form = ImportForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        form = ImportForm(formdata=None)
        form.file.errors = [
            f"文件太大：最大 {limit // 1024 // 1024} MB，更大的文件请用命令行导入。"
        ]
        return _page(form, status=413)
    if request.method == "GET":
        return _page(form)
    if not valid:
        return _page(form, status=400)
    data = form.file.data.read(limit + 1)
    if len(data) > limit:
        form.file.errors.append(f"文件太大：最大 {limit // 1024 // 1024} MB。")
        return _page(form, status=413)
    dry_run = not form.apply.data
    seconds = current_app.config["ADMIN_IMPORT_SECONDS"]
    try:
        report = imports.import_file(
            form.kind.data, data, current_staff(), dry_run, _deadline(seconds)
        )
    except imports.FileRefused as refused:
        take_refusal(form, refused)
        return _page(form, status=refused.status)
    except imports.TooSlow:
        db.session.rollback()  # nothing of the file is kept
        form.file.errors.append(
            f"文件太大，网页上 {seconds} 秒内处理不完，没有导入任何内容："
            "请分成几个小文件，或用命令行导入（flask catalog import）。"
        )
        return _page(form, status=413)
    if not report.ok or dry_run:
        db.session.rollback()  # all or nothing: a deal row may have been written to check it
        return _page(form, report, 200 if report.ok else 422)
    db.session.commit()
    flash(f"已导入{KIND_LABELS[report.kind]}：新增 {report.created} 个，更新 {report.updated} 个。")
    return redirect(url_for("admin.imports.index"), 303)


@bp.get("/export/<kind>.csv")
@staff_required(*OPERATORS)
def export(kind):
    if kind not in imports.KINDS:
        abort(404)
    encoding = request.args.get("encoding", "utf-8")
    if encoding not in csvfiles.ENCODINGS:
        abort(400, "编码只能是 utf-8 或 gbk。")
    rows = imports.product_rows() if kind == "products" else imports.deal_rows()
    body = csvfiles.encode(rows, encoding)
    stamp = to_china(utcnow()).strftime("%Y%m%d-%H%M")
    return current_app.response_class(
        body,
        content_type=f"text/csv; charset={encoding}",
        headers={"Content-Disposition": f'attachment; filename="{kind}-{stamp}-{encoding}.csv"'},
    )
