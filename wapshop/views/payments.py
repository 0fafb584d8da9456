"""Paying an order online: card or bank, the processors' notifications, switching to COD.

Every URL that leaves the shop (to a processor, or to the bank and back) is built from
configuration (PUBLIC_BASE_URL, see payments/online.py), never from the request's Host."""

import time

from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from wapshop.extensions import db
from wapshop.forms.payments import CardForm, PayForm
from wapshop.clock import utcnow
from wapshop.payments import NotificationRefused, bank, card, http, online
from wapshop.web.rendering import render_page
from wapshop.services import balances, orders, payments, throttle
from wapshop.views import take_attempt
from wapshop.views.orders import SESSION_KEY, viewable_order

bp = Blueprint("payments", __name__)


def _settings() -> online.Settings:
    return online.Settings.from_config(current_app.config)


def _return_tokens() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="bank-return")


def _render(order, card_form=None, status=200, message=""):
    card_form = card_form or CardForm()
    # Cards worth less than the order are refused anyway: offer only the ones that pay it.
    card_form.face.choices = [
        c for c in card_form.face.choices if int(c.value) * 100 >= order.total_fen
    ]
    payment = payments.latest(order)
    remaining = order.created_at + current_app.config["PAYMENT_TIMEOUT"] - utcnow()
    return (
        render_page(
            g.rendition,
            "payments/show.html",
            order=order,
            payment=payment,
            failure=card.FAILURES.get(payment.failure) if payment else None,
            card_form=card_form,
            form=PayForm(),
            message=message,
            minutes_left=max(0, int(remaining.total_seconds() // 60)),
            # Only the account's owner sees its balance; a guest's typed phone proves nothing.
            balance=balances.amount(current_user.phone)
            if current_user.is_authenticated and order.buyer_id == current_user.id
            else 0,
            status=orders.STATUS_TEXT,
        ),
        status,
    )


@bp.get("/pay/<number>")
def show(number):
    return _render(viewable_order(number))


@bp.post("/pay/<number>/card")
def pay_by_card(number):
    order = viewable_order(number)
    form = CardForm()
    if not form.validate_on_submit():
        return _render(order, form, 400)
    # Every card tried counts, before it is tried: guessing passwords stays slow, in parallel too.
    # Per phone from anywhere: one phone's cards tried from many addresses are one guesser.
    keys, wait = take_attempt("card", payments.payer_phone(order), pair=False)
    if wait is not None:
        return _render(order, form, 429, _("充值卡尝试太多次，请 %(m)d 分钟后再试。", m=wait))
    face_fen = int(form.face.data) * 100
    try:
        payment = payments.start(
            order,
            "card",
            _settings(),
            card_operator=form.operator.data,
            card_face_fen=face_fen,
            card_last4=form.serial.data[-4:],
        )
    except payments.PaymentError as refused:
        db.session.rollback()
        throttle.release(keys)  # refused before any card reached the processor
        db.session.commit()
        return _render(order, form, refused.status, refused.message)
    db.session.commit()  # never hold a transaction open across the processor's network call
    try:
        payments.accepted(
            payment, card.submit(payment, form.serial.data, form.password.data, _settings())
        )
    except http.Unreachable:
        payments.unreachable(payment)
    db.session.commit()
    return redirect(url_for("payments.show", number=number), 303)


@bp.post("/pay/<number>/bank")
def pay_by_bank(number):
    order = viewable_order(number)
    if not PayForm().validate_on_submit():
        return _render(order, status=400, message=_("页面已过期，请再提交一次。"))
    try:
        payment = payments.start(order, "bank", _settings())
    except payments.PaymentError as refused:
        db.session.rollback()
        return _render(order, status=refused.status, message=refused.message)
    db.session.commit()
    # The return address carries no sid (it goes to another site). Its token, short-lived,
    # shows whoever holds it this payment's state and nothing more (see bank_return).
    settings = _settings()
    back = url_for(
        "payments.bank_return",
        number=number,
        t=_return_tokens().dumps(payment.reference),
        ver=session.get("ver"),  # the buyer's chosen version survives the trip
        sid=None,
    )
    return redirect(bank.gateway_url(payment, settings, settings.public_url(back)), 303)


@bp.get("/pay/<number>/return")
def bank_return(number):
    """Back from the bank. The session that may see the order goes on to its pay page;
    anyone else holding the link sees, read-only and for BANK_RETURN_MAX_AGE only, what
    the database says of the payment: no controls, no personal details, no access granted."""
    try:
        reference = _return_tokens().loads(
            request.args.get("t", ""), max_age=current_app.config["BANK_RETURN_MAX_AGE"]
        )
    except SignatureExpired:
        abort(410, _("这个链接已过期。请用手机号和订单号查询订单。"))
    except BadSignature:
        abort(404)
    order = orders.by_number(number)
    payment = payments.by_reference(reference)
    if order is None or payment is None or payment.order_id != order.id:
        abort(404)
    buyer_id = current_user.id if current_user.is_authenticated else None
    if orders.may_view(order, buyer_id, session.get(SESSION_KEY, [])):
        return redirect(url_for("payments.show", number=number), 303)
    return render_page(
        g.rendition,
        "payments/returned.html",
        order=order,
        payment=payment,
        failure=card.FAILURES.get(payment.failure),
        status=orders.STATUS_TEXT,
    )


@bp.post("/pay/<number>/cod")
def switch_to_cod(number):
    order = viewable_order(number)
    if not PayForm().validate_on_submit():
        return _render(order, status=400, message=_("页面已过期，请再提交一次。"))
    try:
        payments.switch_to_cod(order, f"buyer:{order.buyer_id}" if order.buyer_id else "guest")
    except payments.PaymentError as refused:
        db.session.rollback()
        return _render(order, status=refused.status, message=refused.message)
    db.session.commit()
    return redirect(url_for("checkout.placed", number=number), 303)


@bp.post(online.NOTIFY_PATH)
def notify(processor):
    """Server to server. The answer is exactly 'success', or an error the processor retries."""
    fields = request.form.to_dict()
    try:
        answer = payments.take_notification(processor, fields, _settings(), time.time())
        db.session.commit()
    except NotificationRefused as refused:
        db.session.rollback()
        return f"refused: {refused}", 400, {"Content-Type": "text/plain"}
    except IntegrityError:
        db.session.rollback()
        return "refused: transaction id already used", 409, {"Content-Type": "text/plain"}
    return answer, 200, {"Content-Type": "text/plain"}
