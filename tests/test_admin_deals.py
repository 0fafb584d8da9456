"""Deals in the back office: created through the forms, shown on the home page in their window
to the renditions they target; validation; safe edits while buyers check out; the day's list,
copying yesterday to tomorrow, and the per-rendition preview."""

from datetime import datetime, timedelta

import pytest
from lxml import html
from sqlalchemy import func, select, update

from factories import make_deal, make_product, make_regions
from support.buyers import confirm_form
from support.pages import post_form
from support.staff import log_in_as
from wapshop.extensions import db
from wapshop.models import AuditEntry, Deal, OrderItem, Variant
from wapshop.clock import china_day, china_day_bounds, to_china, utcnow
from wapshop.renditions import RENDITIONS
from wapshop.services import deals
from wapshop.views import catalog as catalog_views
from wapshop.views.admin import deals as deal_views

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


# --- The week at a glance, and the warning when a home page has no room for every deal


def week_cells(page_text: str) -> dict[str, list[tuple[str, str, str]]]:
    """China day → (title, sold, remaining) of each deal listed in that day's column."""
    doc = html.fromstring(page_text)
    return {
        td.get("data-day"): [
            (
                li.xpath("./a")[0].text_content(),
                li.xpath(".//span[@class='sold']")[0].text_content(),
                li.xpath(".//span[@class='remaining']")[0].text_content(),
            )
            for li in td.xpath("./ul/li[@data-deal]")
        ]
        for td in doc.xpath("//table[@class='week']//td")
    }


def test_the_week_shows_each_china_day_deals_with_sold_and_remaining(
    app, client, operator, monkeypatch
):
    with app.app_context():
        # Mon 6 May 2030 23:00 → Tue 01:00 China time (15:00-17:00 UTC on Monday): both days.
        late = make_deal(make_product(title="深夜档"), starts_at=datetime(2030, 5, 6, 15), ends_at=datetime(2030, 5, 6, 17), quantity=10)  # fmt: skip
        late.sold = 3
        # Sun 12 May 07:00-09:00 China time is Saturday 23:00 UTC: Sunday's column only.
        make_deal(make_product(title="周日早场"), starts_at=datetime(2030, 5, 11, 23), ends_at=datetime(2030, 5, 12, 1), quantity=20)  # fmt: skip
        # The next Monday, 13 May 10:00 China time: next week.
        make_deal(make_product(title="下周一"), starts_at=datetime(2030, 5, 13, 2), ends_at=datetime(2030, 5, 13, 4))  # fmt: skip
        db.session.commit()
    # Wednesday 8 May 2030, 12:00 China time.
    monkeypatch.setattr(deal_views, "utcnow", lambda: datetime(2030, 5, 8, 4, 0))
    page = client.get("/admin/deals/week?day=2030-05-09")
    assert page.status_code == 200
    cells = week_cells(page.text)
    assert list(cells) == [f"2030-05-{d:02d}" for d in range(6, 13)]  # Monday to Sunday
    assert cells["2030-05-06"] == [("深夜档", "3", "7")]
    assert cells["2030-05-07"] == [("深夜档", "3", "7")]
    assert cells["2030-05-11"] == []
    assert cells["2030-05-12"] == [("周日早场", "0", "20")]
    assert all(not cells[f"2030-05-{d:02d}"] for d in (8, 9, 10, 11))
    doc = html.fromstring(page.text)
    assert [th.text_content() for th in doc.xpath("//th[@class='today']")] == ["周三 05-08 今天"]
    assert doc.xpath("//td[@class='today']/@data-day") == ["2030-05-08"]
    assert 'href="/admin/deals/week?day=2030-04-29"' in page.text  # previous week
    assert 'href="/admin/deals/week?day=2030-05-13"' in page.text  # next week
    following = week_cells(client.get("/admin/deals/week?day=2030-05-13").text)
    assert following["2030-05-13"] == [("下周一", "0", "50")]
    for bad in ("2030-13-01", "²", "9999-12-31", "x" * 5000):
        assert client.get(f"/admin/deals/week?day={bad}").status_code == 400


def shortfall_texts(page_text: str) -> list[str]:
    doc = html.fromstring(page_text)
    return [p.text_content() for p in doc.xpath("//p[contains(@class, 'shortfall')]")]


def test_a_warning_when_more_deals_run_than_a_home_page_shows(app, client, operator):
    with app.app_context():
        for n in range(5):
            make_deal(make_product(title=f"同时{n}"))
        make_deal(make_product(title="只给触屏"), renditions="touch")
        db.session.commit()
    day = client.get("/admin/deals/").text
    assert shortfall_texts(day) == [
        "WAP1.x首页只显示 4 个特价，这天最多有 5 个同时进行：其余 1 个只在“更多特价”页。"
    ]
    today = html.fromstring(client.get("/admin/deals/week").text)
    cell = today.xpath("//td[@class='today']")[0]
    assert [p.text_content() for p in cell.xpath(".//p[contains(@class, 'shortfall')]")] == [
        "WAP1.x首页只显示 4 个特价，这天最多有 5 个同时进行：其余 1 个只在“更多特价”页。"
    ]


def test_no_warning_when_the_deals_take_turns(app, client, operator):
    now = utcnow()
    with app.app_context():
        for n in range(3):
            make_deal(make_product(title=f"整天{n}"), starts_at=now, ends_at=now + timedelta(hours=4))  # fmt: skip
        # Two more, one after the other: at most four run at once.
        make_deal(make_product(), starts_at=now, ends_at=now + timedelta(hours=1))
        make_deal(make_product(), starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))  # fmt: skip
        db.session.commit()
    assert shortfall_texts(client.get("/admin/deals/").text) == []


# --- The deal form finds the product by title, code or id, and covers all variants or some


@pytest.fixture
def shoe(app):
    """A running shoe in three sizes with codes, and a insole whose title shares a word."""
    with app.app_context():
        product = make_product(
            title="男士透气跑步鞋", shop_price_fen=15900, stock=35,
            options_json='[["尺码", ["39", "40", "41"]]]',
        )  # fmt: skip
        first = product.variants[0]
        first.values_json, first.label, first.code, first.stock = '["39"]', "39", "XZ-39", 10
        for position, (size, stock) in enumerate((("40", 20), ("41", 5)), start=1):
            product.variants.append(
                Variant(
                    values_json=f'["{size}"]',
                    label=size,
                    code=f"XZ-{size}",
                    stock=stock,
                    position=position,
                )  # fmt: skip
            )
        make_product(title="跑步鞋垫", shop_price_fen=1990)
        db.session.commit()
        return {"id": product.id, **{v.label: v.id for v in product.variants}}


def shoe_fields(**overrides) -> dict:
    fields = deal_fields(0, deal_price="99", quantity="5")
    del fields["product_id"]
    return {**fields, **overrides}


def saved_deal(app) -> tuple[int, list[int]]:
    with app.app_context():
        deal = db.session.scalar(select(Deal).order_by(Deal.id.desc()))
        return deal.product_id, sorted(v.id for v in deal.variants)


def test_the_deal_form_finds_the_product_by_title_and_saves_chosen_variants(
    app, client, operator, shoe
):
    found = client.get("/admin/deals/new?q=跑步鞋")
    assert found.status_code == 200
    assert f'name="product_id" value="{shoe["id"]}"' in found.text and "跑步鞋垫" in found.text
    several = post_form(client, "/admin/deals/new", shoe_fields(product_query="跑步鞋"))
    assert several.status_code == 422 and "请选择一个" in several.text
    assert deal_count(app) == 0
    picked = client.get(f"/admin/deals/new?product_id={shoe['id']}").text
    assert "39（库存 10）" in picked and "41（库存 5）" in picked
    chosen = post_form(
        client,
        "/admin/deals/new",
        shoe_fields(
            product_query="跑步鞋",
            product_id=str(shoe["id"]),
            variant_ids=[str(shoe["39"]), str(shoe["40"])],
        ),  # fmt: skip
    )
    assert chosen.status_code == 303, chosen.text
    assert saved_deal(app) == (shoe["id"], sorted([shoe["39"], shoe["40"]]))
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "deal"))
        assert entry.after["variant_ids"] == sorted([shoe["39"], shoe["40"]])
        deal_id = db.session.scalar(select(Deal.id))
    edit = client.get(f"/admin/deals/{deal_id}").text
    assert edit.count("checked") >= 2 and "男士透气跑步鞋" in edit
    only_41 = post_form(client, f"/admin/deals/{deal_id}", shoe_fields(product_query="男士透气跑步鞋", product_id=str(shoe["id"]), variant_ids=[str(shoe["41"])]))  # fmt: skip
    assert only_41.status_code == 303
    assert saved_deal(app)[1] == [shoe["41"]]
    with app.app_context():
        last = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
        assert last.before["variant_ids"] == sorted([shoe["39"], shoe["40"]])
        assert last.after["variant_ids"] == [shoe["41"]]


@pytest.mark.parametrize("typed", ["XZ-41", "xz-41", " XZ-41 ", "透气跑步鞋", "{id}"])
def test_the_deal_form_finds_one_product_by_code_title_or_id_and_covers_all_variants(
    app, client, operator, shoe, typed
):
    response = post_form(client, "/admin/deals/new", shoe_fields(product_query=typed.format(id=shoe["id"])))  # fmt: skip
    assert response.status_code == 303, response.text
    assert saved_deal(app) == (shoe["id"], [])


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"product_query": "火星探测器"}, 422, "没有找到"),
        ({"product_query": "", "product_id": ""}, 422, "请填商品标题、货号或商品ID"),
        ({"product_query": "x" * 61}, 400, "最多 60 个字"),
        ({"product_query": "\x00"}, 400, ""),
        ({"variant_ids": ["999999"]}, 409, "不属于这个商品"),
        ({"variant_ids": ["abc"]}, 400, ""),
        ({"variant_ids": ["9" * 40]}, 409, "不属于这个商品"),
        ({"quantity": "6", "variant_ids": ["{41}"]}, 409, "库存只有 5 件"),
    ],
)
def test_the_deal_form_refuses_what_it_cannot_find(
    app, client, operator, shoe, overrides, status, message
):
    fields = shoe_fields(product_query="男士透气跑步鞋", product_id=str(shoe["id"]))
    fields.update(overrides)
    if fields.get("variant_ids") == ["{41}"]:
        fields["variant_ids"] = [str(shoe["41"])]
    response = post_form(client, "/admin/deals/new", fields)
    assert response.status_code == status and message in response.text
    assert deal_count(app) == 0
