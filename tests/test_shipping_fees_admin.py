"""Shipping fee rules in the back office: admins only; add (region found by name), change,
deactivate, every change audited; hostile amounts refused with a message and a 4xx, nothing
written; the per-carrier preview; the demo's table."""

import pytest
from sqlalchemy import func, select

from lxml import html

from factories import make_product, make_regions
from support.pages import post_form
from support.staff import log_in_as, staff_client
from wapshop.extensions import db
from wapshop.models import AuditEntry, Region, ShippingRule
from wapshop.services import reference, shipping_rules
from wapshop.services.shipping_fees import quote

NEW = "/admin/shipping-fees/new"


def fields(**overrides) -> dict:
    return {
        "carrier": "",
        "region_query": "",
        "first_weight_g": "1000",
        "first_fee": "10",
        "extra_weight_g": "1000",
        "extra_fee": "5",
        "free_above": "99",
        "cod_fee": "0",
        **overrides,
    }


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_regions()
        db.session.commit()
    return log_in_as(app, client, "admin")


def rules(app) -> list[tuple]:
    with app.app_context():
        return [
            (r.carrier, r.region_code, r.first_fee_fen, r.extra_fee_fen, r.free_above_fen,
             r.cod_fee_fen, r.active)
            for r in db.session.scalars(select(ShippingRule).order_by(ShippingRule.id))
        ]  # fmt: skip


def audits(app) -> list[tuple]:
    with app.app_context():
        return [
            (a.action, a.entity_id, a.before, a.after)
            for a in db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "shipping_rule")
                .order_by(AuditEntry.id)
            )
        ]


def test_only_admins_see_the_rules(app, client):
    for role in ("operator", "service", "seller"):
        other = staff_client(app, role)
        assert other.get("/admin/shipping-fees/").status_code == 403
        assert other.post(NEW, data=fields()).status_code in (400, 403)
    assert client.get("/admin/shipping-fees/").status_code in (302, 303)
    assert rules(app) == []


def test_admin_adds_changes_and_deactivates_a_rule_each_audited(app, client, admin):
    page = client.get("/admin/shipping-fees/")
    assert "还没有运费规则" in page.text and "运费" in client.get("/admin/").text
    created = post_form(client, NEW, fields(carrier="顺丰", region_query="深圳市", cod_fee="2.5"))
    assert created.status_code == 303, created.text
    assert rules(app) == [("顺丰", "440300", 1000, 500, 9900, 250, True)]
    rule_id = db_id(app)
    listing = client.get("/admin/shipping-fees/").text
    assert "广东省深圳市" in listing and "顺丰" in listing and "￥10.00" in listing
    edit_url = f"/admin/shipping-fees/{rule_id}"
    assert "广东省深圳市" in client.get(edit_url).text  # the region shown by name
    changed = post_form(client, edit_url, fields(carrier="顺丰", region_query="广东省深圳市", first_fee="12", free_above=""))  # fmt: skip
    assert changed.status_code == 303, changed.text
    assert rules(app) == [("顺丰", "440300", 1200, 500, None, 0, True)]
    off = post_form(client, f"{edit_url}/deactivate", {}, form_page="/admin/shipping-fees/")
    assert off.status_code == 303
    again = post_form(client, f"{edit_url}/deactivate", {}, form_page="/admin/shipping-fees/")
    assert again.status_code == 303
    assert rules(app)[0][-1] is False
    trail = audits(app)
    assert [a[0] for a in trail] == ["create", "update", "deactivate"]
    assert trail[0][3]["region_code"] == "440300" and trail[0][3]["cod_fee_fen"] == 250
    assert trail[1][2] == {"first_fee_fen": 1000, "free_above_fen": 9900, "cod_fee_fen": 250}
    assert trail[1][3] == {"first_fee_fen": 1200, "free_above_fen": None, "cod_fee_fen": 0}
    assert trail[2][2] == {"active": True} and trail[2][3] == {"active": False}


def db_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(ShippingRule.id)))


def test_a_region_text_fitting_several_asks_which_then_saves_the_choice(app, client, admin):
    asked = post_form(client, NEW, fields(region_query="区"))
    assert asked.status_code == 422
    assert "请选择一个" in asked.text and 'value="440305"' in asked.text
    assert rules(app) == []
    chosen = post_form(client, NEW, fields(region_query="区", region_code="440306"))
    assert chosen.status_code == 303
    assert rules(app)[0][1] == "440306"
    unknown = post_form(client, NEW, fields(region_query="火星"))
    assert unknown.status_code == 422 and "没有找到" in unknown.text


def test_a_second_active_rule_for_the_same_carrier_and_region_is_refused(app, client, admin):
    assert post_form(client, NEW, fields(region_query="西藏自治区")).status_code == 303
    twin = post_form(client, NEW, fields(region_query="西藏"))
    assert twin.status_code == 422 and "已有规则" in twin.text
    assert len(rules(app)) == 1
    # Another carrier for the same region is a different rule.
    assert post_form(client, NEW, fields(region_query="西藏", carrier="EMS")).status_code == 303


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_fee", "-1", "负数"),
        ("extra_fee", "abc", "请填金额"),
        ("first_fee", "99999999999999", "请填金额"),
        ("cod_fee", "2000", "金额 0 到 1000 元"),
        ("first_fee", "²", "请填金额"),
        ("free_above", "0", "包邮门槛"),
        ("free_above", "-5", "负数"),
        ("first_weight_g", "0", "重量 1 到 100000 克"),
        ("extra_weight_g", "-1000", "请填数字"),
        ("first_weight_g", "9" * 40, "请填数字"),
        ("first_weight_g", "²", "请填数字"),
        ("carrier", "顺丰\x00", "没有这家快递"),
        ("carrier", "申通", "没有这家快递"),
        ("region_query", "x" * 10_000, "太长"),
        ("region_code", "999999", "没有这个地区"),
        ("region_code", "\x00", "没有这个地区"),
    ],
)
def test_hostile_values_are_refused_with_a_message_and_nothing_written(
    app, client, admin, field, value, message
):
    response = post_form(client, NEW, fields(**{field: value}))
    assert 400 <= response.status_code < 500
    assert message in response.text
    assert rules(app) == [] and audits(app) == []


def preview_rows(page_text: str) -> dict:
    doc = html.fromstring(page_text)
    return {
        tr[0].text_content(): (tr[2].text_content(), tr[3].text_content())
        for tr in doc.xpath("//table[@class='preview']/tbody/tr")
    }


def test_the_preview_shows_each_carriers_fee_for_a_parcel(app, client, admin):
    assert post_form(client, NEW, fields()).status_code == 303
    assert post_form(client, NEW, fields(region_query="深圳市", carrier="顺丰", first_fee="12", extra_fee="3", extra_weight_g="500", free_above="", cod_fee="1")).status_code == 303  # fmt: skip
    page = client.get("/admin/shipping-fees/preview?kg=1.2&place=广东省深圳市南山区&goods=50")
    assert page.status_code == 200
    # 顺丰 (深圳's rule): 1,200 g = first kg ￥12 + one started 500 g step ￥3 = ￥15, +￥1 COD.
    # The others (the country's): first kg ￥10 + one started kg ￥5 = ￥15, no COD fee.
    assert preview_rows(page.text) == {
        "顺丰": ("￥15.00", "￥16.00"),
        "宅急送": ("￥15.00", "￥15.00"),
        "EMS": ("￥15.00", "￥15.00"),
        "任意快递": ("￥15.00", "￥15.00"),
    }
    free = client.get("/admin/shipping-fees/preview?kg=1.2&place=南山&goods=99").text
    assert preview_rows(free)["EMS"] == ("￥0.00", "￥0.00")
    # A whole address line, read by the address parser: 南山 again.
    street = client.get("/admin/shipping-fees/preview?kg=1.2&place=广东省深圳市南山区科技园1号")
    assert street.status_code == 200 and preview_rows(street.text)["顺丰"] == ("￥15.00", "￥16.00")
    for bad in ("kg=-1", "kg=²", "kg=1000", "goods=-3", "place=火星", "kg=" + "9" * 5000):
        assert client.get(f"/admin/shipping-fees/preview?{bad}").status_code == 400


def test_the_demo_table_is_loaded_once_and_charges_as_said(app):
    with app.app_context():
        reference.load_regions()
        shipping_rules.load_demo_rules()
        shipping_rules.load_demo_rules()
        db.session.commit()
        assert db.session.scalar(select(func.count(ShippingRule.id))) == 7
        item = make_product(weight_g=1500)
        free = make_product(weight_g=1500, free_shipping=True)
        place = {code: db.session.get(Region, code) for code in ("440305", "320583", "650102")}
        # 广东 (the country's): ￥10 + ￥5; 昆山 (江苏): ￥8 + ￥4; 乌鲁木齐: ￥20 + ￥12, never free.
        assert quote(place["440305"], "顺丰", [(item, 1)], 5000, True) == 1500
        assert quote(place["440305"], "顺丰", [(item, 1)], 9900, True) == 0
        assert quote(place["320583"], "EMS", [(item, 1)], 5000, False) == 1200
        assert quote(place["650102"], "EMS", [(item, 1)], 99900, True) == 3200
        assert quote(place["650102"], "EMS", [(free, 1)], 5000, True) == 0
