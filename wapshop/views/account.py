"""Buyer accounts: register, log in and out (a new sid each time), addresses."""

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from wapshop.extensions import db, login
from wapshop.forms.account import LoginForm, LogoutForm, RegisterForm
from wapshop.models import Buyer
from wapshop.rendering import render_page
from wapshop.services import accounts, throttle
from wapshop.views import minutes_to_wait, throttle_keys

bp = Blueprint("account", __name__)


@login.user_loader
def load_buyer(buyer_id: str):
    return db.session.get(Buyer, int(buyer_id)) if buyer_id.isdigit() else None


def _start_session(buyer: Buyer) -> None:
    session.regenerate()  # the sid seen before login is worth nothing after it
    login_user(buyer)


def _next_url() -> str:
    target = request.args.get("next", "")
    # Only our own paths: never bounce a buyer (and a sid) to another site.
    return (
        target
        if target.startswith("/") and not target.startswith("//")
        else url_for("account.home")
    )


@bp.route("/u/login", methods=["GET", "POST"])
def login_page():
    form = LoginForm()
    if request.method == "GET":
        return render_page("account/login.html", form=form)
    if not form.validate_on_submit():
        return render_page("account/login.html", form=form), 400
    keys = throttle_keys("login", form.phone.data)
    if (wait := minutes_to_wait(keys)) is not None:
        form.form_errors.append(_("登录失败次数太多，请 %(m)d 分钟后再试。", m=wait))
        return render_page("account/login.html", form=form), 429
    buyer = accounts.authenticate(form.phone.data, form.password.data)
    if buyer is None:
        throttle.record_failure(keys)
        db.session.commit()
        form.password.errors.append(_("手机号或密码不对。"))
        return render_page("account/login.html", form=form), 401
    throttle.forget(list(keys)[:1])  # this phone's count; the address keeps its own
    db.session.commit()
    _start_session(buyer)
    return redirect(_next_url(), 303)


@bp.route("/u/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if request.method == "GET":
        return render_page("account/register.html", form=form)
    if not form.validate_on_submit():
        return render_page("account/register.html", form=form), 400
    try:
        buyer = accounts.register(form.phone.data, form.password.data)
    except accounts.PhoneTaken:
        db.session.rollback()
        form.phone.errors.append(_("这个手机号已经注册过了，请直接登录。"))
        return render_page("account/register.html", form=form), 409
    db.session.commit()
    _start_session(buyer)
    return redirect(_next_url(), 303)


@bp.post("/u/logout")
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        session.regenerate()
    return redirect(url_for("catalog.home"), 303)


@bp.get("/u")
@login_required
def home():
    return render_page(
        "account/home.html",
        buyer=current_user,
        address=accounts.last_address(current_user.id),
        form=LogoutForm(),
    )
