"""The back office's marketing screens: coupons (granted to listed phones), 满减, points
adjustments with a reason in the audit log, tiers, the RFM report, a campaign from draft to
outbox, and the figures page."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from support.pages import post_form
from support.staff import staff_client
from wapshop.clock import to_china, utcnow
from wapshop.extensions import db
from wapshop.models import (
    AuditEntry,
    Campaign,
    Coupon,
    CouponGrant,
    MemberTier,
    OutboxMessage,
    PointsEntry,
    Promotion,
)
from wapshop.services.members import points

M = "/admin/marketing"


def window():
    start = to_china(utcnow()) - timedelta(hours=1)
    fmt = "%Y-%m-%d %H:%M"
    return {"starts_at": start.strftime(fmt), "ends_at": (start + timedelta(days=7)).strftime(fmt)}


@pytest.fixture
def operator(app):
    return staff_client(app, "operator")


@pytest.mark.parametrize(
    "path",
    ["/", "/coupons", "/coupons/new", "/promotions", "/promotions/new", "/points",
     "/points?phone=13800000003", "/tiers", "/rfm", "/campaigns/", "/campaigns/new"],
)  # fmt: skip
def test_every_marketing_screen_opens(operator, path):
    assert operator.get(M + path).status_code == 200


def test_service_staff_may_not_run_marketing(app):
    assert staff_client(app, "service").get(M + "/").status_code == 403


def test_a_coupon_is_created_and_granted_to_the_phones_listed(app, operator):
    data = {"name": "新人券", "code": "new10", "kind": "fixed", "amount": "10", "min_goods": "99",
            "per_phone_cap": "1", "phones": "13800000001\n138 0000 0002\n13800000001",
            **window()}  # fmt: skip
    response = post_form(operator, M + "/coupons/new", data)
    assert response.status_code == 303, response.text
    with app.app_context():
        coupon = db.session.scalar(select(Coupon))
        assert (coupon.code, coupon.amount_fen, coupon.min_goods_fen) == ("NEW10", 1000, 9900)
        granted = db.session.scalars(select(CouponGrant.phone).order_by(CouponGrant.phone)).all()
        assert granted == ["13800000001", "13800000002"]
    again = post_form(operator, M + "/coupons/new", data)
    assert again.status_code == 409 and "这个券码已经有了" in again.text


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"kind": "fixed", "amount": ""}, "立减券请填金额"),
        ({"kind": "percent", "percent": "100"}, "1 到 99"),
        ({"kind": "percent", "percent": "²"}, "请填数字"),
        ({"phones": "12345"}, "有的手机号不对"),
        ({"code": "x\x00y"}, "控制字符"),
        ({"name": "券" * 10_000}, "最多 40 个字"),
        ({"category_ids": "1,a"}, "请填数字ID"),
        ({"min_goods": "-5"}, "请填金额"),
    ],
)
def test_bad_coupon_input_is_refused_with_a_message(app, operator, changes, message):
    data = {"name": "券", "kind": "fixed", "amount": "10", "per_phone_cap": "1", **window(),
            **changes}  # fmt: skip
    response = post_form(operator, M + "/coupons/new", data)
    assert response.status_code == 400 and message in response.text
    with app.app_context():
        assert db.session.scalar(select(Coupon)) is None


def test_a_threshold_discount_is_scheduled_and_stopped(app, operator):
    data = {"name": "满300减50", "threshold": "300", "off": "50", **window()}
    assert post_form(operator, M + "/promotions/new", data).status_code == 303
    bad = post_form(operator, M + "/promotions/new", {**data, "off": "300"})
    assert bad.status_code == 400 and "减的金额必须小于门槛" in bad.text
    with app.app_context():
        promotion = db.session.scalar(select(Promotion))
        assert (promotion.threshold_fen, promotion.off_fen) == (30000, 5000)
    stop = post_form(
        operator, f"{M}/promotions/{promotion.id}/stop", {}, form_page=M + "/promotions"
    )
    assert stop.status_code == 303
    with app.app_context():
        assert db.session.get(Promotion, promotion.id).stopped


def test_points_adjustments_need_a_reason_and_are_audited(app, operator):
    url = M + "/points"
    assert post_form(operator, url, {"phone": "13800000005", "points": "200", "reason": ""}
                     ).status_code == 400  # fmt: skip
    added = post_form(operator, url, {"phone": "13800000005", "points": "200", "reason": "补偿"})
    assert added.status_code == 303
    too_many = post_form(operator, url, {"phone": "13800000005", "points": "-201", "reason": "x"})
    assert too_many.status_code == 409 and "积分不够" in too_many.text
    taken = post_form(operator, url, {"phone": "13800000005", "points": "-50", "reason": "误加"})
    assert taken.status_code == 303
    assert "补偿" in operator.get(url + "?phone=13800000005").text
    with app.app_context():
        assert points.balance("13800000005", utcnow()) == 150
        entries = db.session.scalars(select(PointsEntry.points).order_by(PointsEntry.id)).all()
        assert entries == [200, -50]
        audit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "points").order_by(AuditEntry.id)
        ).all()
        assert [a.action for a in audit] == ["adjust", "adjust"]
        assert '"reason": "误加"' in audit[1].after_json or "误加" in str(audit[1].after_json)


def test_tiers_are_saved_with_their_perks(app, operator):
    data = {
        "normal_discount": "0", "normal_birthday": "0",
        "silver_threshold": "600", "silver_discount": "1.5", "silver_birthday": "5",
        "gold_threshold": "2000", "gold_discount": "2", "gold_free_shipping": "y",
        "gold_birthday": "10",
        "diamond_threshold": "5000", "diamond_discount": "5", "diamond_free_shipping": "y",
        "diamond_priority": "y", "diamond_birthday": "20",
    }  # fmt: skip
    assert post_form(operator, M + "/tiers", data).status_code == 303
    with app.app_context():
        silver = db.session.get(MemberTier, "silver")
        assert (silver.threshold_fen, silver.discount_bp, silver.birthday_coupon_fen) == (
            60000, 150, 500)  # fmt: skip
        assert db.session.get(MemberTier, "diamond").priority
    bad = post_form(operator, M + "/tiers", {**data, "gold_discount": "80"})
    assert bad.status_code == 400 and "0 到 50" in bad.text
    same = post_form(operator, M + "/tiers", {**data, "gold_threshold": "600"})
    assert same.status_code == 400 and "各级门槛不能相同" in same.text


def test_a_campaign_goes_from_preview_to_the_outbox(app, operator, history, runner):
    response = post_form(operator, M + "/rfm", {})
    assert response.status_code == 303
    text = operator.get(M + "/rfm").text
    assert "沉睡" in text
    created = post_form(operator, M + "/campaigns/new",
                        {"name": "召回", "segment": "沉睡", "coupon_id": "0",
                         "message": "好久不见，回来看看。"})  # fmt: skip
    assert created.status_code == 303
    page = operator.get(created.headers["Location"])
    assert "将发给 <b>2</b> 个手机号" in page.text  # 13800000003 and 13800000007
    assert "138****0003" in page.text and "回T退订" in page.text
    sent = post_form(operator, created.headers["Location"] + "/send", {},
                     form_page=created.headers["Location"])  # fmt: skip
    assert sent.status_code == 303
    with app.app_context():
        phones = db.session.scalars(
            select(OutboxMessage.phone).where(OutboxMessage.kind == "campaign")
        ).all()
        assert sorted(phones) == ["13800000003", "13800000007"]
        assert db.session.scalar(select(Campaign.status)) == "sent"
    assert "营销" in operator.get("/admin/outbox/").text


def test_the_figures_page_shows_the_points_liability(app, operator):
    with app.app_context():
        points.credit("13800000009", 250, "adjust", utcnow())
        db.session.commit()
    text = operator.get(M + "/").text
    assert "未过期积分 <b>250</b>（可抵 ￥2.50）" in text
