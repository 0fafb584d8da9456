"""Deals in the back office: created through the forms, shown on the home page in their window
to the renditions they target; validation; safe edits while buyers check out; the day's list,
copying yesterday to tomorrow, and the per-rendition preview."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from factories import make_deal, make_product, make_regions
from support.buyers import confirm_form
from support.pages import post_form
from support.staff import log_in_as
from wapshop.extensions import db
from wapshop.models import AuditEntry, Deal, OrderItem
from wapshop.clock import china_day, china_day_bounds, to_china, utcnow
from wapshop.renditions import RENDITIONS
from wapshop.services import deals
from wapshop.views import catalog as catalog_views

TITLE = "大字大声老人手机"
# 10:00-22:00 China Standard Time on 1 May 2030 is 02:00-14:00 UTC.
START_UTC, END_UTC = datetime(2030, 5, 1, 2, 0), datetime(2030, 5, 1, 14, 0)
SECOND = timedelta(seconds=1)


def deal_fields(product_id, **overrides) -> dict:
    return {
        "product_id": str(product_id),
        "deal_price": "99.00",
        "starts_at": "2030-05-01T10:00",
        "ends_at": "2030-05-01T22:00",
        "quantity": "100",
        "per_buyer_limit": "2",
        "renditions": ["wml", "basic"],
        "position": "0",
        **overrides,
    }


@pytest.fixture
def operator(app, client):
    return log_in_as(app, client, "operator")


@pytest.fixture
def phone_product(app):
    with app.app_context():
        product = make_product(title=TITLE, shop_price_fen=12900, market_price_fen=19900, stock=500)
        db.session.commit()
        return product.id


def deal_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Deal.id)))


def test_a_deal_made_in_the_forms_runs_in_its_window_for_its_renditions_only(
    app, client, operator, phone_product, monkeypatch
):
    response = post_form(client, "/admin/deals/new", deal_fields(phone_product))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/deals/?day=2030-05-01")
    with app.app_context():
        deal = db.session.scalar(select(Deal))
        assert (deal.starts_at, deal.ends_at) == (START_UTC, END_UTC)
        assert (deal.deal_price_fen, deal.renditions, deal.sold) == (9900, "wml,basic", 0)

    buyer = app.test_client()
    moments = [
        (START_UTC - SECOND, ()),
        (START_UTC, ("wml", "basic")),
        (END_UTC - SECOND, ("wml", "basic")),
        (END_UTC, ()),
    ]
    for moment, shown_to in moments:
        monkeypatch.setattr(catalog_views, "utcnow", lambda moment=moment: moment)
        for ver in RENDITIONS:
            page = buyer.get(f"/?ver={ver}")
            assert page.status_code == 200
            assert (TITLE in page.text) == (ver in shown_to), (moment, ver)


@pytest.mark.parametrize(
    "overrides,status,message",
    [
        ({"deal_price": "129.00"}, 409, "特价必须低于商城价 ￥129.00"),
        ({"deal_price": "abc"}, 400, "请填金额"),
        ({"deal_price": "0"}, 400, "金额必须大于 0"),
        ({"ends_at": "2030-05-01T09:00"}, 409, "结束时间必须晚于开始时间"),
        ({"ends_at": "2030-05-01T10:00"}, 409, "结束时间必须晚于开始时间"),
        ({"starts_at": "明天"}, 400, "不是有效的日期与时间值"),
        ({"quantity": "0"}, 400, "数量 1 到 1000000"),
        ({"quantity": "501"}, 409, "库存只有 500 件"),
        ({"per_buyer_limit": "0"}, 400, "每人限购 1 到 99 件"),
        ({"renditions": []}, 400, "请至少选择一个版本"),
        ({"renditions": ["wml", "iphone"]}, 400, "没有这个版本：iphone"),
        ({"product_id": "999999"}, 409, "没有 ID 为 999999 的商品"),
    ],
)
def test_deal_form_refuses_bad_deals(
    app, client, operator, phone_product, overrides, status, message
):
    response = post_form(client, "/admin/deals/new", {**deal_fields(phone_product), **overrides})
    assert response.status_code == status and message in response.text
    assert deal_count(app) == 0


def test_a_product_cannot_have_two_deals_at_once(app, client, operator, phone_product):
    assert post_form(client, "/admin/deals/new", deal_fields(phone_product)).status_code == 303
    overlapping = deal_fields(
        phone_product, starts_at="2030-05-01T21:00", ends_at="2030-05-02T09:00"
    )
    response = post_form(client, "/admin/deals/new", overlapping)
    assert response.status_code == 409 and "这段时间已有特价" in response.text
    later = deal_fields(phone_product, starts_at="2030-05-01T22:00", ends_at="2030-05-02T09:00")
    assert post_form(client, "/admin/deals/new", later).status_code == 303
    assert deal_count(app) == 2


@pytest.fixture
def running_deal(app):
    with app.app_context():
        make_regions()
        deal = make_deal(
            make_product(title=TITLE, shop_price_fen=12900, stock=100),
            deal_price_fen=9900,
            quantity=20,
            sold=10,
        )
        db.session.commit()
        return {"id": deal.id, "product_id": deal.product_id}


def edit_fields(app, deal_id, **overrides) -> dict:
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        fields = deal_fields(
            deal.product_id,
            starts_at=to_china(deal.starts_at).strftime("%Y-%m-%dT%H:%M"),
            ends_at=to_china(deal.ends_at).strftime("%Y-%m-%dT%H:%M"),
            quantity=str(deal.quantity),
            renditions=deal.renditions.split(","),
        )
    return {**fields, **overrides}


def test_editing_a_running_deal_cannot_set_quantity_below_sold(app, client, operator, running_deal):
    url = f"/admin/deals/{running_deal['id']}"
    response = post_form(client, url, edit_fields(app, running_deal["id"], quantity="9"))
    assert response.status_code == 409 and "数量至少 10 件（已售 10 件）" in response.text
    response = post_form(client, url, edit_fields(app, running_deal["id"], quantity="12"))
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Deal, running_deal["id"]).quantity == 12


def test_a_sale_between_reading_and_saving_a_deal_is_never_overwritten(app, running_deal):
    """The edit's conditional UPDATE sees the sale the form did not: no sold > quantity."""
    with app.app_context():
        deal = db.session.get(Deal, running_deal["id"])  # sold 10, as the operator saw it
        with db.engine.begin() as other:  # a buyer's checkout commits 5 more meanwhile
            other.execute(update(Deal).where(Deal.id == deal.id).values(sold=Deal.sold + 5))
        data = deals.DealInput(
            product_id=deal.product_id,
            deal_price_fen=deal.deal_price_fen,
            starts_at=deal.starts_at,
            ends_at=deal.ends_at,
            quantity=12,
            per_buyer_limit=deal.per_buyer_limit,
            renditions=tuple(deal.renditions.split(",")),
        )
        with pytest.raises(deals.DealError, match="已售 15 件"):
            deals.update_deal(deal, data, actor=None)
        db.session.rollback()
    with app.app_context():
        deal = db.session.get(Deal, running_deal["id"])
        assert (deal.quantity, deal.sold) == (20, 15)


def test_a_price_change_leaves_placed_orders_at_their_price(app, client, operator, running_deal):
    buyer = app.test_client()
    form = confirm_form(buyer, running_deal["product_id"])
    assert buyer.post(f"/buy/{running_deal['product_id']}", data=form).status_code == 303
    stale = confirm_form(buyer, running_deal["product_id"])

    url = f"/admin/deals/{running_deal['id']}"
    assert (
        post_form(client, url, edit_fields(app, running_deal["id"], deal_price="79.00")).status_code
        == 303
    )

    with app.app_context():
        assert db.session.scalars(select(OrderItem.unit_price_fen)).all() == [9900]
        assert db.session.get(Deal, running_deal["id"]).deal_price_fen == 7900
    # A buyer still looking at the old price is asked to confirm the new one.
    refused = buyer.post(
        f"/buy/{running_deal['product_id']}", data={**stale, "phone": "13900139000"}
    )
    assert refused.status_code != 303
    with app.app_context():
        assert db.session.scalar(select(func.count(OrderItem.id))) == 1


def test_stopping_a_deal_takes_it_off_the_home_page_and_is_audited(
    app, client, operator, running_deal
):
    assert TITLE in app.test_client().get("/?ver=touch").text
    response = post_form(
        client, f"/admin/deals/{running_deal['id']}/stop", {}, form_page="/admin/deals/"
    )
    assert response.status_code == 303
    assert TITLE not in app.test_client().get("/?ver=touch").text
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "stop"))
        assert entry.staff_id == operator["id"] and entry.entity_id == str(running_deal["id"])
        assert (entry.before, entry.after) == ({"stopped": False}, {"stopped": True})
    again = post_form(
        client, f"/admin/deals/{running_deal['id']}", edit_fields(app, running_deal["id"])
    )
    assert again.status_code == 409 and "已停止" in again.text


def test_the_day_list_shows_running_scheduled_and_ended_with_sold_and_remaining(
    app, client, operator
):
    now = utcnow()
    with app.app_context():
        start, _end = china_day_bounds(china_day(now))
        running = make_deal(quantity=40, sold=15)
        scheduled = make_deal(
            starts_at=now + timedelta(minutes=1), ends_at=now + timedelta(minutes=2)
        )
        ended = make_deal(starts_at=start, ends_at=now - timedelta(seconds=1))
        titles = {
            k: d.product.title
            for k, d in {"running": running, "scheduled": scheduled, "ended": ended}.items()
        }
        db.session.commit()
    page = client.get("/admin/deals/").text
    sections = {h: page.index(h) for h in ("进行中", "未开始", "已结束", "已停止")}
    assert sections["进行中"] < page.index(titles["running"]) < sections["未开始"]
    assert page.index(titles["ended"]) > sections["已结束"]
    if china_day(now + timedelta(minutes=2)) == china_day(now):
        assert sections["未开始"] < page.index(titles["scheduled"]) < sections["已结束"]
    row = page[page.index(titles["running"]) :]
    assert '<td class="n">15</td>' in row and '<td class="n">25</td>' in row
    assert 'http-equiv="refresh"' in page


def test_copy_yesterday_schedules_the_same_deals_tomorrow_once(app, client, operator):
    now = utcnow()
    today = china_day(now)
    with app.app_context():
        y_start, _ = china_day_bounds(today - timedelta(days=1))
        copied = make_deal(
            starts_at=y_start + timedelta(hours=10),
            ends_at=y_start + timedelta(hours=22),
            renditions="touch",
            sold=30,
            position=3,
        )
        stopped = make_deal(
            starts_at=y_start + timedelta(hours=9),
            ends_at=y_start + timedelta(hours=10),
            stopped=True,
        )
        pricey = make_deal(
            starts_at=y_start + timedelta(hours=8), ends_at=y_start + timedelta(hours=9)
        )
        pricey.product.shop_price_fen = pricey.deal_price_fen  # no longer a deal
        db.session.commit()
        ids = (copied.id, stopped.id, pricey.id)

    response = post_form(client, "/admin/deals/copy-yesterday", {}, form_page="/admin/deals/")
    assert response.status_code == 303
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert response.headers["Location"].endswith(f"?day={tomorrow}")
    page = client.get(response.headers["Location"]).text
    assert "已把昨天的 1 个特价复制到明天" in page and f"跳过 #{ids[2]}" in page
    with app.app_context():
        new = db.session.scalar(select(Deal).where(Deal.id.not_in(ids)))
        original = db.session.get(Deal, ids[0])
        assert new.starts_at == original.starts_at + timedelta(days=2)
        assert new.ends_at == original.ends_at + timedelta(days=2)
        assert (new.renditions, new.position, new.quantity, new.sold) == ("touch", 3, 50, 0)
        assert new.deal_price_fen == original.deal_price_fen

    # Copying again finds tomorrow already scheduled: nothing doubles.
    post_form(client, "/admin/deals/copy-yesterday", {}, form_page="/admin/deals/")
    assert deal_count(app) == 4


def test_copy_yesterday_command(app, runner):
    today = china_day(utcnow())
    with app.app_context():
        y_start, _ = china_day_bounds(today - timedelta(days=1))
        make_deal(starts_at=y_start + timedelta(hours=10), ends_at=y_start + timedelta(hours=22))
        db.session.commit()
    result = runner.invoke(args=["deals", "copy-yesterday"])
    assert result.exit_code == 0 and "Copied 1 deals" in result.output
    with app.app_context():
        t_start, t_end = china_day_bounds(today + timedelta(days=1))
        tomorrow = db.session.scalars(select(Deal).where(Deal.starts_at >= t_start)).all()
        assert len(tomorrow) == 1 and tomorrow[0].ends_at <= t_end
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "copy"))
        assert (entry.actor, entry.staff_id) == ("cli", None)


def test_preview_shows_each_renditions_home_at_the_chosen_time(app, client, operator):
    with app.app_context():
        cheap = make_deal(starts_at=START_UTC, ends_at=END_UTC, renditions="wml,basic")
        premium = make_deal(starts_at=START_UTC, ends_at=END_UTC, renditions="touch")
        titles = (cheap.product.title, premium.product.title)
        db.session.commit()
    before = client.get("/admin/deals/preview?at=2030-05-01T09:59").text
    assert not any(t in before for t in titles)
    page = client.get("/admin/deals/preview?at=2030-05-01T10:00").text
    for rendition in RENDITIONS:
        assert f'src="/admin/deals/preview/{rendition}?at=2030-05-01T10:00"' in page
    sections = page.split("<section>")[1:]
    assert titles[0] in sections[0] and titles[1] not in sections[0]  # wml
    assert titles[1] in sections[3] and titles[0] not in sections[3]  # touch

    wml = client.get("/admin/deals/preview/wml?at=2030-05-01T10:00")
    assert wml.headers["Content-Type"].startswith("text/plain") and "<wml>" in wml.text
    assert titles[0] in wml.text
    touch = client.get("/admin/deals/preview/touch?at=2030-05-01T10:00")
    assert (
        "<!DOCTYPE html>" in touch.text and titles[1] in touch.text and titles[0] not in touch.text
    )
    assert client.get("/admin/deals/preview?at=soon").status_code == 400
