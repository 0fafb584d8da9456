"""Staff log in and out (throttled, a new sid each time); admins manage staff accounts."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin.staff import NO_SELLER, LoginForm, LogoutForm, StaffForm
from wapshop.services import NotFound, products, throttle
from wapshop.services import staff as staff_service
from wapshop.web.sessions import local_target, with_current_sid
from wapshop.views import take_attempt
from wapshop.views.admin.access import (
    ADMINS,
    current_staff,
    end_session,
    keep_session,
    staff_required,
    start_session,
)

bp = Blueprint("staff", __name__)


def _next_url() -> str:
    # Only back-office paths: never bounce staff (and a sid) to another site.
    target = local_target(request.args.get("next"), prefix="/admin")
    return with_current_sid(target) if target else url_for("admin.home.index")


def _login_page(form, status: int = 200):
    return render_template("admin/staff/login.html", title="员工登录", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(_next_url())
        return _login_page(form)
    if not form.validate_on_submit():
        return _login_page(form, 400)
    # The shop's login throttle, keyed on the username (from this address) and the address.
    keys, wait = take_attempt("staff-login", form.username.data)
    if wait is not None:
        form.form_errors.append(f"登录失败次数太多，请 {wait} 分钟后再试。")
        return _login_page(form, 429)
    staff = staff_service.authenticate(form.username.data, form.password.data)
    if staff is None:
        form.password.errors.append("用户名或密码不对，或账号已停用。")
        return _login_page(form, 401)
    throttle.succeeded(keys)
    db.session.commit()
    start_session(staff)
    return redirect(_next_url(), 303)


@bp.post("/logout")
def logout():
    if LogoutForm().validate_on_submit():
        end_session()
    return redirect(url_for("admin.staff.login"), 303)


@bp.get("/staff")
@staff_required(*ADMINS)
def index():
    return render_template("admin/staff/index.html", title="员工", people=staff_service.all_staff())


@bp.route("/staff/new", methods=["GET", "POST"])
@staff_required(*ADMINS)
def new():
    form = StaffForm(sellers=products.sellers())
    page = "admin/staff/edit.html"
    if request.method == "GET":
        return render_template(page, title="添加员工", form=form)
    if not form.validate_on_submit():
        return render_template(page, title="添加员工", form=form), 400
    try:
        person = staff_service.create_staff(
            form.data_for_service(), form.password.data, current_staff()
        )
    except staff_service.StaffError as refused:
        take_refusal(form, refused)
        return render_template(page, title="添加员工", form=form), refused.status
    db.session.commit()
    flash(f"已添加员工 {person}。")
    return redirect(url_for("admin.staff.index"), 303)


@bp.route("/staff/<int:staff_id>", methods=["GET", "POST"])
@staff_required(*ADMINS)
def edit(staff_id):
    try:
        person = staff_service.get(staff_id)
    except NotFound:
        abort(404)
    form = StaffForm(obj=person, sellers=products.sellers())
    page, title = "admin/staff/edit.html", f"员工 {person}"
    if request.method == "GET":
        form.seller_id.data = person.seller_id or NO_SELLER
        return render_template(page, title=title, form=form)
    if not form.validate_on_submit():
        return render_template(page, title=title, form=form), 400
    try:
        staff_service.update_staff(
            person, form.data_for_service(), form.password.data, current_staff()
        )
    except staff_service.StaffError as refused:
        take_refusal(form, refused)
        return render_template(page, title=title, form=form), refused.status
    db.session.commit()
    if person.id == current_staff().id:
        keep_session(person)  # a new password ends one's other sessions, not this one
    flash(f"已保存员工 {person}。")
    return redirect(url_for("admin.staff.index"), 303)
