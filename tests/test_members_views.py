"""The buyer's 我的 page on every rendition: tier, points and what expires next, coupons
held, the check-in once a day; guests are sent to log in."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from support.buyers import PHONE, register
from support.members import coupon
from support.pages import csrf
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import PointsAccount, PointsEntry
from wapshop.services.members import coupons, points


@pytest.fixture
def member(app, client):
    assert register(client).status_code == 303
    with app.app_context():
        now = utcnow()
        points.credit(PHONE, 120, "adjust", now - timedelta(days=3))
        db.session.add(PointsAccount(phone="13900000000", points=0, spend_fen=0))
        db.session.get(PointsAccount, PHONE).spend_fen = 60_000  # 银卡
        window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=5)}
        held = coupon("HELD10", public=False, min_goods_fen=10000, **window)
        pct = coupon("PCT15", public=False, kind="percent", amount_fen=0, percent_bp=1500,
                     **window)  # fmt: skip
        coupon("OTHERS", public=False, **window)  # granted to nobody here
        coupons.grant(held.id, [PHONE])
        coupons.grant(pct.id, [PHONE])
        db.session.commit()
    return client


@pytest.mark.parametrize("ver", ["wml", "basic", "color", "touch"])
def test_my_page_shows_tier_points_expiry_and_coupons(member, ver):
    page = member.get(f"/my?ver={ver}")
    assert page.status_code == 200
    text = page.text
    assert "银卡" in text and "再消费￥1400.00升级金卡" in text
    assert "120" in text and "积分将于" in text
    assert "HELD10" in text and "减￥10.00" in text and "满￥100.00可用" in text
    assert "PCT15" in text and "8.5折" in text
    assert "OTHERS" not in text
    assert "签到领5积分" in text


def test_check_in_once_a_day_and_the_page_says_so(app, member):
    url = "/my/checkin?ver=basic"
    token = csrf(member, "/my?ver=basic")  # the page as a second window still shows it
    first = member.post(url, data={"csrf_token": token})
    assert first.status_code == 303
    assert "今天已签到" in member.get("/my?ver=basic").text
    again = member.post(url, data={"csrf_token": token})
    assert again.status_code == 409 and "今天已经签到过了" in again.text
    with app.app_context():
        kinds = db.session.scalars(
            select(PointsEntry.kind).where(
                PointsEntry.phone == PHONE, PointsEntry.kind == "checkin"
            )
        ).all()
        assert kinds == ["checkin"]
        assert points.balance(PHONE, utcnow()) == 125


def test_check_in_without_the_page_token_is_refused(member):
    assert member.post("/my/checkin?ver=basic", data={}).status_code == 400


def test_guests_are_sent_to_log_in(client):
    for response in (client.get("/my"), client.post("/my/checkin")):
        assert response.status_code in (302, 303)
        assert "/u/login" in response.headers["Location"]
