"""Buyer accounts: register (proving the phone with an SMS code), log in and out (a new sid
each time), addresses."""

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from wapshop.extensions import db, login
from wapshop.forms import take_refusal
from wapshop.forms.accounts import CodeForm, LoginForm, LogoutForm, RegisterForm
from wapshop.models import Buyer
from wapshop.clock import utcnow
from wapshop.web.rendering import render_page
from wapshop.services import accounts, phones, throttle
from wapshop.web.sessions import local_target, regenerate, with_current_sid
from wapshop.views import take_attempt

bp = Blueprint("accounts", __name__)

PENDING_KEY = "register"  # the registration waiting for its SMS code: phone, hash, code id


@login.user_loader
def load_buyer(buyer_id: str):
    return db.session.get(Buyer, int(buyer_id)) if buyer_id.isdigit() else None


def _start_session(buyer: Buyer) -> None:
    regenerate()  # the sid seen before login is worth nothing after it
    login_user(buyer)


def _next_url() -> str:
    # Only our own paths: never bounce a buyer (and a sid) to another site.
    target = local_target(request.args.get("next"))
    return with_current_sid(target) if target else url_for("accounts.home")


def _next_arg() -> str | None:
    return local_target(request.args.get("next"))


@bp.route("/u/login", methods=["GET", "POST"])
def login_page():
    form = LoginForm()
    if request.method == "GET":
        return render_page(g.rendition, "accounts/login.html", form=form)
    if not form.validate_on_submit():
        return render_page(g.rendition, "accounts/login.html", form=form), 400
    keys, wait = take_attempt("login", form.phone.data)
    if wait is not None:
        form.form_errors.append(_("登录失败次数太多，请 %(m)d 分钟后再试。", m=wait))
        return render_page(g.rendition, "accounts/login.html", form=form), 429
    buyer = accounts.authenticate(form.phone.data, form.password.data)
    if buyer is None:
        form.password.errors.append(_("手机号或密码不对。"))
        return render_page(g.rendition, "accounts/login.html", form=form), 401
    throttle.succeeded(keys)
    db.session.commit()
    _start_session(buyer)
    return redirect(_next_url(), 303)


@bp.route("/u/register", methods=["GET", "POST"])
def register():
    """Step one: phone and password. The account waits (in this session) for the SMS code."""
    form = RegisterForm()
    if request.method == "GET":
        return render_page(g.rendition, "accounts/register.html", form=form)
    if not form.validate_on_submit():
        return render_page(g.rendition, "accounts/register.html", form=form), 400
    config = current_app.config
    phone = form.phone.data
    # Whether a phone has an account shows here: asking is throttled like guessing a password.
    _keys, wait = take_attempt("register", phone)
    if wait is None:
        try:
            accounts.check_phone_free(phone)
        except accounts.PhoneTaken:
            form.phone.errors.append(_("这个手机号已经注册过了，请直接登录。"))
            return render_page(g.rendition, "accounts/register.html", form=form), 409
        # Texts to one phone, and from one address, are limited: no SMS bombing through us.
        _keys, wait = take_attempt(
            "code",
            phone,
            config["PHONE_CODE_PER_PHONE"],
            config["PHONE_CODE_PER_ADDR"],
            pair=False,
        )
    if wait is not None:
        form.form_errors.append(_("操作太频繁，请 %(m)d 分钟后再试。", m=wait))
        return render_page(g.rendition, "accounts/register.html", form=form), 429
    code_id = phones.send_code(
        phone, accounts.REGISTER, config["SECRET_KEY"], utcnow(), config["PHONE_CODE_LIFETIME"]
    )
    db.session.commit()
    session[PENDING_KEY] = {
        "phone": phone,
        "hash": accounts.hash_password(form.password.data),
        "code": code_id,
    }
    return redirect(url_for("accounts.register_code", next=_next_arg()), 303)


@bp.route("/u/register/code", methods=["GET", "POST"])
def register_code():
    """Step two: the code from the SMS proves the phone; the account is made and logged in."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return redirect(url_for("accounts.register", next=_next_arg()), 303)
    form = CodeForm()
    page = {"form": form, "phone": phones.mask(pending["phone"])}
    if request.method == "GET":
        return render_page(g.rendition, "accounts/code.html", **page)
    if not form.validate_on_submit():
        return render_page(g.rendition, "accounts/code.html", **page), 400
    config = current_app.config
    try:
        proven = phones.prove(
            pending["code"],
            pending["phone"],
            accounts.REGISTER,
            form.code.data,
            config["SECRET_KEY"],
            utcnow(),
            config["PHONE_CODE_ATTEMPTS"],
        )
        buyer = accounts.register(proven, pending["hash"])
        db.session.commit()
    except phones.CodeRefused as refused:
        db.session.commit()  # the try stays counted
        take_refusal(form, refused)
        return render_page(g.rendition, "accounts/code.html", **page), refused.status
    except (accounts.PhoneTaken, IntegrityError):
        db.session.rollback()
        session.pop(PENDING_KEY, None)
        form.form_errors.append(_("这个手机号已经注册过了，请直接登录。"))
        return render_page(g.rendition, "accounts/code.html", **page), 409
    session.pop(PENDING_KEY, None)
    _start_session(buyer)
    return redirect(_next_url(), 303)


@bp.post("/u/logout")
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        regenerate()
    return redirect(url_for("catalog.home"), 303)


@bp.get("/u")
@login_required
def home():
    return render_page(
        g.rendition,
        "accounts/home.html",
        buyer=current_user,
        address=accounts.last_address(current_user.id),
        form=LogoutForm(),
    )
