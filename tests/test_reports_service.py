"""The reports' figures, worked out by hand from a small history with every outcome
(tests/support/history.py), read from the rollups that services/reports/ keeps up to date with
the order event log."""

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from support.history import (
    S,
    FIRST,
    LAST,
    cst,
    make_order,
    EXPECTED_DAILY,
    EXPECTED_DAILY_FOOT,
    EXPECTED_METHODS,
    EXPECTED_METHODS_FOOT,
    FUNNEL_VIEWS,
)
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, Product, Shipment
from wapshop.models.reports import (
    OrderDayStat,
    OrderFact,
    ProductDayStat,
    ReportRefresh,
)
from wapshop.services import reports
from wapshop.services import funnel as funnel_service


def refreshed(now=None) -> int:
    days = reports.refresh(now or datetime(2025, 4, 1))
    db.session.commit()
    return days


def test_the_daily_report_matches_the_hand_computed_rows_totals_and_average(app, history):
    with app.app_context():
        assert refreshed() == 11  # the first refresh counts every order there is
        table = reports.daily_table(reports.daily(FIRST, LAST))
    assert table.columns == ["日期", "总订单个数", "总订单金额（元）", "地址有效订单数", "订单有效率",
                             "发货订单数", "发货率", "发货订单金额（元）", "拒收订单数", "拒收率",
                             "ASP（元）"]  # fmt: skip
    assert table.rows == EXPECTED_DAILY
    assert table.foot == EXPECTED_DAILY_FOOT


def test_orders_land_on_their_china_standard_time_date_either_side_of_midnight(app, history):
    with app.app_context():
        refreshed()
        orders = {n: db.session.get(Order, i) for n, i in history["orders"].items()}
        # 23:59:59 and 00:00:00 CST are the same UTC date, one second apart...
        assert orders["I"].created_at.date() == orders["J"].created_at.date() == date(2025, 3, 2)
        assert orders["J"].created_at - orders["I"].created_at == timedelta(seconds=1)
        # ...and 00:30 CST on 03-01 is still 02-28 in UTC.
        assert orders["A"].created_at.date() == date(2025, 2, 28)
        by_day = dict(reports.daily(date(2025, 2, 28), date(2025, 3, 3)))
    assert by_day[date(2025, 2, 28)].orders == 0
    assert by_day[date(2025, 3, 1)].orders == 5  # A counts on 03-01
    assert (by_day[date(2025, 3, 2)].orders, by_day[date(2025, 3, 2)].orders_fen) == (4, 50440)
    assert (by_day[date(2025, 3, 3)].orders, by_day[date(2025, 3, 3)].orders_fen) == (2, 9660)


def test_zero_denominators_show_a_dash_not_an_error(app):
    with app.app_context():
        refreshed()
        empty = reports.daily_table(reports.daily(FIRST, FIRST))
        methods = reports.methods_table(reports.payments_by_method(FIRST, LAST))
    assert empty.rows == [["2025-03-01", "0", "0.00", "0", "—", "0", "—", "0.00", "0", "—", "—"]]
    assert empty.foot[1] == ["日均", "0.00", "0.00", "0.00", "—", "0.00", "—", "0.00", "0.00",
                             "—", "—"]  # fmt: skip
    assert methods.foot == [["合计", "0", "0.00", "0", "0.00", "—"]]
    assert reports.share(0, 0) == "—" and reports.mean_yuan(100, 0) == "—"


def test_the_payment_report_counts_by_the_method_an_order_was_placed_with(app, history):
    with app.app_context():
        refreshed()
        methods = reports.methods_table(reports.payments_by_method(FIRST, LAST))
        products = reports.products_table(reports.payments_by_product(FIRST, LAST), "")
        card = reports.products_table(reports.payments_by_product(FIRST, LAST, "card"), "card")
    assert methods.rows == EXPECTED_METHODS
    assert methods.foot == EXPECTED_METHODS_FOOT
    p = history["products"]
    assert products.rows == [
        [str(p["P1"]), "老人手机", "4", "570.00", "1", "150.00", "25.00%"],
        [str(p["P2"]), "帆布鞋", "4", "538.90", "1", "99.00", "25.00%"],
        [str(p["P3"]), "洗面奶", "3", "142.10", "1", "30.00", "33.33%"],
    ]
    assert products.foot == [["合计", "", "11", "1251.00", "3", "279.00", "27.27%"]]
    assert card.title == "按商品（手机充值卡）"
    assert card.rows == [[str(p["P2"]), "帆布鞋", "2", "158.90", "1", "99.00", "50.00%"]]


def test_the_overview_gmv_repeat_buyers_carriers_top_products_and_deals(app, history):
    with app.app_context():
        refreshed()
        summary = reports.overview_table(reports.overview(FIRST, LAST))
        carriers = reports.carriers_table(reports.by_carrier(FIRST, LAST))
        top = reports.top_products_table(reports.payments_by_product(FIRST, LAST), limit=2)
        sold = reports.deals_table(reports.deal_sell_through(FIRST, LAST), cst(2025, 4, 1))
    assert summary.rows == [
        ["总订单个数", "11"],
        ["GMV（总订单金额，元）", "1251.00"],
        ["GMV 中的运费（元）", "0.00"],
        ["平均订单金额（元）", "113.73"],
        ["发货订单数", "4"],
        ["发货订单金额（元）", "669.00"],
        ["发货订单金额中的运费（元）", "0.00"],
        ["拒收率", "25.00%"],
        # C and F share a phone: 3 buyers with a shipped order, one of them twice.
        ["有发货订单的买家数", "3"],
        ["其中有 2 个及以上发货订单的买家数", "1"],
        ["复购率", "33.33%"],
    ]
    assert carriers.rows == [
        ["顺丰", "2", "1", "50.00%"],
        ["未指定", "1", "0", "0.00%"],
        ["EMS", "1", "0", "0.00%"],
        ["宅急送", "0", "0", "—"],
    ]
    assert carriers.foot == [["合计", "4", "1", "25.00%"]]
    p = history["products"]
    assert top.rows == [["1", str(p["P1"]), "老人手机", "4", "570.00"],
                        ["2", str(p["P2"]), "帆布鞋", "4", "538.90"]]  # fmt: skip
    assert [row[1:] for row in sold.rows] == [
        ["帆布鞋", "2025-03-02 10:00", "2025-03-02 22:00", "已结束", "50", "20", "40.00%"]
    ]
    assert sold.foot == [["合计", "", "", "", "", "50", "20", "40.00%"]]


def test_the_funnel_counts_visitors_once_a_day_and_rates_never_pass_100(app, history):
    """support.history.funnel_day: visitors who reload, come straight to a product page or stop
    part way; the same batch written again (a second worker) changes nothing."""
    with app.app_context():
        funnel_service.record_views(FUNNEL_VIEWS)
        db.session.commit()
        rows = funnel_service.funnel(FIRST, date(2025, 3, 2))
        days = funnel_service.days_table(rows)
        totals = funnel_service.renditions_table(funnel_service.by_rendition(rows))
    assert days.rows[:4] == [
        ["2025-03-01", "WAP1.x", "0", "0", "0", "0", "—", "—", "—", "—"],
        ["2025-03-01", "简版", "10", "8", "4", "2", "60.00%", "50.00%", "50.00%", "10.00%"],
        ["2025-03-01", "彩版", "0", "0", "0", "0", "—", "—", "—", "—"],
        ["2025-03-01", "触屏版", "0", "0", "0", "0", "—", "—", "—", "—"],
    ]
    assert days.rows[7] == ["2025-03-02", "触屏版", "4", "1", "0", "0", "25.00%", "0.00%", "—",
                            "0.00%"]  # fmt: skip
    assert len(days.rows) == 8
    assert totals.rows == [
        ["WAP1.x", "0", "0", "0", "0", "—", "—", "—", "—"],
        ["简版", "10", "8", "4", "2", "60.00%", "50.00%", "50.00%", "10.00%"],
        ["彩版", "0", "0", "0", "0", "—", "—", "—", "—"],
        ["触屏版", "4", "1", "0", "0", "25.00%", "0.00%", "—", "0.00%"],
    ]
    assert totals.foot == [["合计", "14", "9", "4", "2", "50.00%", "44.44%", "50.00%", "7.14%"]]
    for row in [*days.rows, *totals.rows, *totals.foot]:
        for cell in row[6:]:
            assert cell == "—" or float(cell.rstrip("%")) <= 100, row


def test_a_refresh_recounts_only_the_orders_with_new_events(app, history):
    with app.app_context():
        refreshed(datetime(2025, 4, 1))
        order = db.session.get(Order, history["orders"]["I"])
        order.events.append(OrderEvent(at=datetime(2025, 4, 2), actor="seller:1",
                                       from_status=S.PLACED, to_status=S.ADDRESS_OK))  # fmt: skip
        db.session.commit()
        assert refreshed(datetime(2025, 4, 2, 0, 5)) == 1  # I alone is re-counted
        day = dict(reports.daily(FIRST, LAST))[date(2025, 3, 2)]
        assert (day.orders, day.address_ok) == (4, 3)
        assert refreshed(datetime(2025, 4, 3)) == 0  # nothing new since
        with_rollup = reports.daily_table(reports.daily(FIRST, LAST))
        assert reports.rebuild(datetime(2025, 4, 3)) == 11
        db.session.commit()
        assert reports.daily_table(reports.daily(FIRST, LAST)) == with_rollup


def rollup_rows() -> dict[str, list[tuple]]:
    return {
        model.__tablename__: sorted(
            tuple(row) for row in db.session.execute(select(*model.__table__.columns))
        )
        for model in (OrderDayStat, ProductDayStat, OrderFact)
    }


def test_counting_orders_again_as_events_arrive_matches_a_rebuild(app, history):
    """A refresh takes a changed order's old contribution out and puts the new one in: after
    orders move between steps, methods and carriers, and new ones arrive, the rollups are
    what a rebuild from scratch makes."""
    with app.app_context():
        refreshed(datetime(2025, 4, 1))
        orders = {n: db.session.get(Order, i) for n, i in history["orders"].items()}
        g = orders["G"]  # unpaid card order: switched to COD (still a card order here), refused
        g.carrier, g.payment_method = "顺丰", "cod"
        for before, after in [(S.CANCELLED, S.PLACED), (S.PLACED, S.ADDRESS_OK),
                              (S.ADDRESS_OK, S.CONFIRMED), (S.CONFIRMED, S.SHIPPED),
                              (S.SHIPPED, S.REFUSED)]:  # fmt: skip
            g.events.append(OrderEvent(actor="x", from_status=before, to_status=after))
        orders["I"].events.append(OrderEvent(actor="x", from_status=S.PLACED,
                                             to_status=S.ADDRESS_INVALID))  # fmt: skip
        orders["F"].events.append(OrderEvent(actor="x", from_status=S.SHIPPED,
                                             to_status=S.DELIVERED))  # fmt: skip
        product = db.session.get(Product, history["products"]["P3"])
        make_order(cst(2025, 3, 4, 12), [S.ADDRESS_OK], product=product, unit_fen=1234,
                   carrier="EMS", rendition="wml")  # fmt: skip
        db.session.commit()
        assert refreshed(datetime(2025, 4, 2)) == 4
        counted = rollup_rows()
        reports_then = [
            reports.daily_table(reports.daily(FIRST, LAST)),
            reports.methods_table(reports.payments_by_method(FIRST, LAST)),
            reports.carriers_table(reports.by_carrier(FIRST, LAST)),
        ]
        assert reports_then[0].foot[0] == ["合计", "12", "1263.34", "8", "66.67%", "5", "62.50%",
                                           "728.90", "2", "40.00%", "145.78"]  # fmt: skip
        reports.rebuild(datetime(2025, 4, 3))
        db.session.commit()
        assert rollup_rows() == counted
        assert reports_then == [
            reports.daily_table(reports.daily(FIRST, LAST)),
            reports.methods_table(reports.payments_by_method(FIRST, LAST)),
            reports.carriers_table(reports.by_carrier(FIRST, LAST)),
        ]


def test_a_refresh_finds_an_event_that_committed_after_a_later_one(app, history):
    """On PostgreSQL a transaction that took an event id may commit after a refresh has seen a
    higher id: the refresh notes the missing ids and the next ones look for them."""
    with app.app_context():
        refreshed(datetime(2025, 4, 2))
        top = db.session.scalar(select(func.max(OrderEvent.id)))
        orders = history["orders"]
        # K's event took id top + 3 and committed; ids top + 1 and top + 2 are still open.
        db.session.add(OrderEvent(id=top + 3, order_id=orders["K"], actor="x",
                                  from_status=S.ADDRESS_OK, to_status=S.CONFIRMED))  # fmt: skip
        db.session.commit()
        assert refreshed(datetime(2025, 4, 2, 0, 1)) == 1  # K
        state = db.session.get(ReportRefresh, 1)
        assert [gap[0] for gap in json.loads(state.gap_ids)] == [top + 1, top + 2]
        # Now I's event, id top + 1, commits (written at 12:00, long before it committed).
        db.session.add(OrderEvent(id=top + 1, order_id=orders["I"], at=datetime(2025, 4, 2),
                                  actor="x", from_status=S.PLACED, to_status=S.ADDRESS_OK))  # fmt: skip
        db.session.commit()
        assert refreshed(datetime(2025, 4, 2, 0, 2)) == 1  # I
        assert dict(reports.daily(FIRST, LAST))[date(2025, 3, 2)].address_ok == 3
        state = db.session.get(ReportRefresh, 1, populate_existing=True)
        assert [gap[0] for gap in json.loads(state.gap_ids)] == [top + 2]
        # A rolled-back id never shows up: it is given up after GAP_TTL.
        assert refreshed(datetime(2025, 4, 2, 0, 1) + reports.GAP_TTL) == 0
        state = db.session.get(ReportRefresh, 1, populate_existing=True)
        assert json.loads(state.gap_ids) == []


def test_rollup_rows_split_by_method_rendition_and_carrier(app, history):
    with app.app_context():
        refreshed()
        rows = db.session.execute(
            select(OrderDayStat.payment_method, OrderDayStat.rendition, OrderDayStat.carrier,
                   OrderDayStat.orders, OrderDayStat.paid)
            .where(OrderDayStat.day == date(2025, 3, 2))
            .order_by(OrderDayStat.payment_method, OrderDayStat.rendition)
        ).all()  # fmt: skip
    # H was placed as a bank payment from 彩版 and switched to COD with carrier EMS.
    assert [tuple(r) for r in rows] == [
        ("bank", "color", "EMS", 1, 0),
        ("card", "touch", "", 2, 1),
        ("cod", "basic", "宅急送", 1, 0),
    ]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-13-01", "", "日期格式不对"),
        ("2025-03-05", "2025-03-01", "开始日期不能晚于结束日期"),
        ("2020-01-01", "2025-03-01", "一次最多看 366 天"),
    ],
)
def test_bad_ranges_are_refused_with_a_message(start, end, message):
    with pytest.raises(reports.BadRange) as refused:
        reports.parse_range(start, end, date(2025, 4, 1))
    assert message in refused.value.message


def test_the_default_range_is_the_last_thirty_days_and_never_ends_after_today():
    assert reports.parse_range(None, None, date(2025, 4, 1)) == (date(2025, 3, 3), date(2025, 4, 1))
    assert reports.parse_range("2025-03-30", "2025-06-01", date(2025, 4, 1)) == (
        date(2025, 3, 30),
        date(2025, 4, 1),
    )


def test_reading_a_month_of_reports_issues_no_write_when_nothing_changed(app, history):
    """Once up to date, a refresh only locks its state row: the rollups are not rewritten."""
    with app.app_context():
        refreshed(datetime(2025, 4, 1))
        writes = []

        def seen(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith(("INSERT", "DELETE")):
                writes.append(statement)

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert refreshed(datetime(2025, 4, 2)) == 0
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    assert [w for w in writes if "report_order_days" in w or "report_product_days" in w] == []


def test_refusals_count_against_the_carrier_that_took_the_parcel_not_the_one_named(app, history):
    """An order naming EMS whose parcel went with 顺丰 and was refused is 顺丰's refusal."""
    with app.app_context():
        product = db.session.get(Product, history["products"]["P3"])
        order = make_order(cst(2025, 3, 20, 12), [S.ADDRESS_OK, S.CONFIRMED, S.SHIPPED,
                           S.REFUSED], product=product, unit_fen=5000, carrier="EMS")  # fmt: skip
        db.session.add(Shipment(order_id=order.id, carrier="顺丰", tracking_number="SF1234567890",
                                cod_fen=5000, shipped_at=cst(2025, 3, 20, 15),
                                actor="staff:test"))  # fmt: skip
        db.session.commit()
        refreshed()
        day = date(2025, 3, 20)
        carriers = reports.carriers_table(reports.by_carrier(day, day))
    assert carriers.rows[0] == ["顺丰", "1", "1", "100.00%"]
    assert all(row[0] != "EMS" or row[1:] == ["0", "0", "—"] for row in carriers.rows)
