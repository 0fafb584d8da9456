"""RFM segments of the reports' generated history (plus a few buyers added here) and the
win-back campaign to its 沉睡 segment: the phones checked by hand, one SMS each, none to a
phone that answered 退订, nobody twice, and the campaign's report."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from support.history import SHIPPED, cst, make_order
from support.members import coupon
from wapshop.extensions import db
from wapshop.models import (
    CampaignRecipient,
    CouponGrant,
    Order,
    OrderStatus as S,
    OutboxMessage,
    Product,
)
from wapshop.services.members import Settings, campaigns, figures, pricing, rfm

NOW = cst(2025, 7, 1, 10)  # four months after the history


@pytest.fixture
def segmented(app, history, runner):
    """History: C (13800000003, 150.00, 03-01) and H (13800000007, 300.00, 03-02) are its only
    purchases (delivered, not returned). Added: 020 bought 50.00 on 06-20 (recent); 021 bought
    80.00 on 02-01 and 022 600.00 on 01-15 (both asleep); 023 only cancelled."""
    with app.app_context():
        p1 = db.session.get(Product, history["products"]["P1"])
        delivered = [*SHIPPED, S.DELIVERED]
        for phone, when, fen, path in (
            ("13800000020", cst(2025, 6, 20, 9), 5000, delivered),
            ("13800000021", cst(2025, 2, 1, 9), 8000, delivered),
            ("13800000022", cst(2025, 1, 15, 9), 60000, delivered),
            ("13800000023", cst(2025, 6, 25, 9), 9000, [S.CANCELLED]),
        ):
            make_order(when, path, product=p1, unit_fen=fen, phone=phone)
        rfm.recompute(NOW, Settings.from_config(app.config))
        winback = coupon("WINBACK", public=False, amount_fen=1000,
                         starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=30))  # fmt: skip
        campaign = campaigns.create_campaign("召回", rfm.SLEEPING, winback.id,
                                             "好久不见，送您10元券，30天内有效。", None)  # fmt: skip
        db.session.commit()
        ids = {"campaign": campaign.id, "coupon": winback.id, "product": p1.id}
    assert (
        "Opted out." in runner.invoke(args=["members", "inbound", "138 0000 0021", "退订"]).output
    )
    assert (
        "Not an opt-out" in runner.invoke(args=["members", "inbound", "13800000020", "好的"]).output
    )
    return ids


def test_the_segments_report_counts_phones_orders_and_spend(app, segmented):
    with app.app_context():
        rows, computed = rfm.report()
    assert computed == NOW
    assert [(r.segment, r.phones, r.orders, r.spend_fen) for r in rows] == [
        ("重要价值", 0, 0, 0),
        ("重要发展", 0, 0, 0),
        ("一般价值", 1, 1, 5000),
        ("沉睡", 4, 4, 15000 + 30000 + 8000 + 60000),
    ]


def test_the_win_back_campaign_reaches_the_sleeping_phones_once_each(app, segmented, runner):
    with app.app_context():
        campaign = campaigns.get(segmented["campaign"])
        shown = campaigns.preview(campaign, NOW, Settings.from_config(app.config))
    # 沉睡: 003, 007, 021, 022; 021 answered 退订.
    assert shown.phones == ["13800000003", "13800000007", "13800000022"]
    assert (shown.segment_size, shown.opted_out, shown.capped) == (4, 1, 0)

    result = runner.invoke(args=["members", "send-campaign", str(segmented["campaign"])])
    assert "Queued 3 SMS." in result.output
    again = runner.invoke(args=["members", "send-campaign", str(segmented["campaign"])])
    assert "Queued 0 SMS." in again.output
    with app.app_context():
        messages = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "campaign")
        ).all()
        assert sorted(m.phone for m in messages) == shown.phones
        assert all(m.body.startswith("【WapShop】好久不见") for m in messages)
        assert all(m.body.endswith("券码WINBACK，回T退订") for m in messages)
        granted = db.session.scalars(select(CouponGrant.phone).order_by(CouponGrant.phone)).all()
        assert granted == shown.phones
        assert campaigns.get(segmented["campaign"]).status == "sent"


def test_a_second_campaign_in_the_window_is_held_back_by_the_frequency_cap(app, segmented):
    settings = Settings.from_config(app.config)
    with app.app_context():
        first = campaigns.get(segmented["campaign"])
        campaigns.send_all(first, lambda: NOW, settings, db.session.commit)
        second = campaigns.create_campaign("再召回", rfm.SLEEPING, None, "新品上架。", None)
        db.session.commit()
        held_back = campaigns.preview(second, NOW + timedelta(days=6), settings)
        assert (held_back.phones, held_back.capped) == ([], 3)
        later = campaigns.preview(second, NOW + timedelta(days=8), settings)
        assert later.phones == ["13800000003", "13800000007", "13800000022"]


def test_the_campaign_report_counts_sent_used_orders_and_revenue(app, segmented, runner):
    settings = Settings.from_config(app.config)
    with app.app_context():
        campaign = campaigns.get(segmented["campaign"])
        campaigns.send_all(campaign, lambda: NOW, settings, db.session.commit)
    assert "0 failed" in runner.invoke(args=["sms", "send"]).output  # with the history's own
    with app.app_context():
        product = db.session.get(Product, segmented["product"])
        quote = pricing.discounts([pricing.line(product, 20000)], 1000, "13800000022",
                                  "WINBACK", 0, NOW)  # fmt: skip
        order = make_order(NOW, [], product=product, unit_fen=20000, phone="13800000022")
        order.shipping_fen, order.discount_fen = 1000, quote.discount_fen
        order.total_fen = quote.total_fen
        db.session.flush()
        pricing.redeem(quote, order, NOW)
        db.session.commit()
        report = campaigns.report(campaigns.get(segmented["campaign"]))
        assert report == campaigns.CampaignReport(3, 3, 1, 1, 20000 + 1000 - 1000)
        assert db.session.scalar(select(Order.total_fen).where(Order.id == order.id)) == 20000
        recipients = db.session.scalars(select(CampaignRecipient.phone)).all()
        assert len(recipients) == len(set(recipients)) == 3
        # The figures: that day's discount, one coupon use; WINBACK granted 3, used 1.
        day = figures.discounts_per_day(date(2025, 6, 30), date(2025, 7, 1))
        assert [(d.day.isoformat(), d.orders, d.discount_fen, d.coupon_uses) for d in day] == [
            ("2025-06-30", 0, 0, 0),
            ("2025-07-01", 1, 1000, 1),
        ]
        (winback,) = figures.redemptions()
        assert (winback.granted, winback.used, round(winback.rate, 4)) == (3, 1, 0.3333)
