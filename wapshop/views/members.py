"""我的: a buyer's tier and what the next one needs, points and what expires next, the
coupons held, and the daily check-in (签到). For buyers logged in (a proven phone); the
phone's orders are settled first, so points earned on a delivery show at once."""

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, current_app, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.members import CheckInForm
from wapshop.models import Coupon
from wapshop.money import format_fen
from wapshop.services.members import Settings, coupons, points, settlement, tiers
from wapshop.web.rendering import render_page

bp = Blueprint("members", __name__)


@dataclass(frozen=True)
class HeldCoupon:
    name: str
    code: str
    off: str  # "减￥10.00" / "8折"
    min_fen: int
    last_day: date


def _held(coupon: Coupon) -> HeldCoupon:
    if coupon.kind == "fixed":
        off = _("减%(m)s", m=format_fen(coupon.amount_fen))
    else:
        tenths = (10_000 - coupon.percent_bp) / 1000
        off = _("%(z)s折", z=f"{tenths:g}")
    last = points.last_valid_day(coupon.ends_at)
    return HeldCoupon(coupon.name, coupon.code, off, coupon.min_goods_fen, last)


def _page(form: CheckInForm):
    phone, now = current_user.phone, utcnow()
    settings = Settings.from_config(current_app.config)
    shown = current_app.config["PAGE_SIZE"][g.rendition]
    return render_page(
        g.rendition,
        "members/home.html",
        standing=tiers.standing(phone, settings.tiers),
        points=points.balance(phone, now),
        expiring=points.next_expiring(phone, now),
        coupons=[_held(c) for c in coupons.held(phone, now)[:shown]],
        checked_in=points.checked_in_today(phone, now),
        checkin_points=settings.checkin_points,
        form=form,
    )


@bp.get("/my")
@login_required
def home():
    settlement.settle(utcnow(), current_app.config["POINTS_PER_YUAN"], current_user.phone)
    db.session.commit()
    return _page(CheckInForm())


@bp.post("/my/checkin")
@login_required
def check_in():
    form = CheckInForm()
    if not form.validate_on_submit():
        return _page(form), 400
    try:
        points.check_in(current_user.phone, current_app.config["POINTS_CHECKIN"], utcnow())
    except points.AlreadyCheckedIn as refused:
        db.session.rollback()
        take_refusal(form, refused)
        return _page(form), refused.status
    db.session.commit()
    return redirect(url_for("members.home"), 303)
