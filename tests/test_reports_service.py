"""The reports' figures, worked out by hand from a small history with every outcome, read from
the rollups that services/reports.py keeps up to date with the order event log.

The history, by order date in China Standard Time (UTC+8; "order date" is the CST calendar day
of created_at). Amounts in yuan; P1–P3 are products; the event path follows the first status.

2025-03-01  A  cod     100.00  P1  placed 00:30 CST (still 2025-02-28 in UTC) → address_invalid
            B  cod     200.00  P1  → address_ok → cancelled (the buyer declined the call)
            C  cod     150.00  P1  2 × 75.00 → address_ok → confirmed → shipped → delivered → settled
            D  cod     120.00  P1  → address_ok → confirmed → shipped → refused
            E  cod      80.00  P2  → cancelled (right after placing)
2025-03-02  F  card     99.00  P2  awaiting_payment → paid → address_ok → confirmed → shipped
            G  card     59.90  P2  awaiting_payment → cancelled (never paid)
            H  bank    300.00  P2  awaiting_payment → placed (switched to COD) → address_ok →
                                   confirmed → shipped → delivered
            I  cod      45.50  P3  placed 23:59:59 CST (15:59:59 UTC), waiting for its check
2025-03-03  J  cod      66.60  P3  placed 00:00:00 CST (16:00:00 UTC on 03-02) → address_invalid
            K  balance  30.00  P3  paid (from the balance) → address_ok
2025-03-04  no orders

Daily report (总订单个数, 金额, 地址有效, 有效率, 发货, 发货率, 发货金额, 拒收, 拒收率, ASP):
03-01   5   650.00  3  60.00%  2   66.67%  270.00  1  50.00%  135.00
03-02   4   504.40  2  50.00%  2  100.00%  399.00  0   0.00%  199.50
03-03   2    96.60  1  50.00%  0    0.00%    0.00  0   —       —
03-04   0     0.00  0  —       0   —         0.00  0   —       —
合计    11  1251.00  6  54.55%  4   66.67%  669.00  1  25.00%  167.25
日均  2.75   312.75 1.50 54.55% 1.00 66.67% 167.25 0.25 25.00%  167.25
"""

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from factories import make_deal, make_product, make_regions
from wapshop.clock import from_china
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, OrderItem, OrderStatus, Product
from wapshop.models.reports import (
    OrderDayStat,
    OrderFact,
    PageViewCount,
    ProductDayStat,
    ReportRefresh,
)
from wapshop.services import reports
from wapshop.services import funnel as funnel_service

S = OrderStatus
FIRST, LAST = date(2025, 3, 1), date(2025, 3, 4)
INITIAL = {"cod": S.PLACED, "card": S.AWAITING_PAYMENT, "bank": S.AWAITING_PAYMENT,
           "balance": S.PAID}  # fmt: skip
_numbers = iter(range(1_000_000_000, 2_000_000_000))


def cst(*args) -> datetime:
    """A China Standard Time wall-clock time as the naive UTC the database keeps."""
    return from_china(datetime(*args))


def make_order(
    placed_at: datetime,
    path=(),
    *,
    product,
    unit_fen: int,
    quantity: int = 1,
    method: str = "cod",
    rendition: str = "basic",
    carrier: str | None = "顺丰",
    phone: str = "13800000000",
    region: str = "440305",
) -> Order:
    """An order placed at `placed_at` (naive UTC) with one line, and one event per step of
    `path` after the placing event, an hour apart. The order's status is the last step."""
    status = INITIAL[method]
    order = Order(
        number=str(next(_numbers)), phone=phone, receiver_name="张三", region_code=region,
        region_text="广东省深圳市南山区", street="科技园1号", payment_method=method,
        carrier=carrier, status=status, total_fen=unit_fen * quantity, rendition=rendition,
        created_at=placed_at, updated_at=placed_at,
    )  # fmt: skip
    order.items.append(
        OrderItem(product_id=product.id, seller_id=product.seller_id, title=product.title,
                  unit_price_fen=unit_fen, market_price_fen=unit_fen * 2, quantity=quantity)
    )  # fmt: skip
    order.events.append(
        OrderEvent(at=placed_at, actor="guest", from_status=None, to_status=status, note=method)
    )
    at = placed_at
    for step in path:
        at += timedelta(hours=1)
        order.events.append(
            OrderEvent(at=at, actor="staff:test", from_status=status, to_status=step)
        )
        status = step
    order.status = status
    if path and path[0] == S.PLACED and method != "cod":  # switched to cash on delivery
        order.payment_method = "cod"
        order.events[1].note = "cod"
    db.session.add(order)
    db.session.flush()
    return order


SHIPPED = (S.ADDRESS_OK, S.CONFIRMED, S.SHIPPED)


def make_history() -> dict:
    """The history in the module docstring; returns the products' and orders' ids."""
    make_regions()
    p1 = make_product(title="老人手机")
    p2 = make_product(title="帆布鞋")
    p3 = make_product(title="洗面奶")
    o = {}
    o["A"] = make_order(cst(2025, 3, 1, 0, 30), [S.ADDRESS_INVALID], product=p1, unit_fen=10000,
                        phone="13800000001", rendition="basic")  # fmt: skip
    o["B"] = make_order(cst(2025, 3, 1, 9), [S.ADDRESS_OK, S.CANCELLED], product=p1,
                        unit_fen=20000, phone="13800000002", rendition="basic")  # fmt: skip
    o["C"] = make_order(cst(2025, 3, 1, 10), [*SHIPPED, S.DELIVERED, S.SETTLED], product=p1,
                        unit_fen=7500, quantity=2, phone="13800000003", rendition="basic")  # fmt: skip
    o["D"] = make_order(cst(2025, 3, 1, 11), [*SHIPPED, S.REFUSED], product=p1, unit_fen=12000,
                        phone="13800000004", rendition="wml")  # fmt: skip
    o["E"] = make_order(cst(2025, 3, 1, 20), [S.CANCELLED], product=p2, unit_fen=8000,
                        phone="13800000005", rendition="wml")  # fmt: skip
    o["F"] = make_order(cst(2025, 3, 2, 8), [S.PAID, *SHIPPED], product=p2, unit_fen=9900,
                        method="card", carrier=None, phone="13800000003",
                        rendition="touch")  # fmt: skip
    o["G"] = make_order(cst(2025, 3, 2, 9), [S.CANCELLED], product=p2, unit_fen=5990,
                        method="card", carrier=None, phone="13800000006",
                        rendition="touch")  # fmt: skip
    o["H"] = make_order(cst(2025, 3, 2, 12), [S.PLACED, *SHIPPED, S.DELIVERED], product=p2,
                        unit_fen=30000, method="bank", carrier="EMS", phone="13800000007",
                        rendition="color")  # fmt: skip
    o["I"] = make_order(cst(2025, 3, 2, 23, 59, 59), [], product=p3, unit_fen=4550,
                        carrier="宅急送", phone="13800000008", rendition="basic")  # fmt: skip
    o["J"] = make_order(cst(2025, 3, 3, 0, 0, 0), [S.ADDRESS_INVALID], product=p3,
                        unit_fen=6660, carrier="宅急送", phone="13800000009",
                        rendition="basic")  # fmt: skip
    o["K"] = make_order(cst(2025, 3, 3, 10), [S.ADDRESS_OK], product=p3, unit_fen=3000,
                        method="balance", carrier=None, phone="13800000010",
                        rendition="touch")  # fmt: skip
    # A deal that started in the range (10:00 CST on 03-02) and one that started before it.
    make_deal(p2, starts_at=cst(2025, 3, 2, 10), ends_at=cst(2025, 3, 2, 22), quantity=50,
              sold=20, deal_price_fen=2990)  # fmt: skip
    make_deal(p3, starts_at=cst(2025, 2, 28, 10), ends_at=cst(2025, 2, 28, 22), quantity=10,
              sold=10, deal_price_fen=990)  # fmt: skip
    for day, rendition, page, views in [
        (date(2025, 3, 1), "basic", "home", 10),
        (date(2025, 3, 1), "basic", "product", 8),
        (date(2025, 3, 1), "basic", "confirm", 4),
        (date(2025, 3, 2), "touch", "home", 20),
        (date(2025, 3, 2), "touch", "product", 5),
        (date(2025, 3, 2), "touch", "confirm", 2),
    ]:
        db.session.add(PageViewCount(day=day, rendition=rendition, page=page, views=views))
    db.session.flush()
    return {
        "products": {"P1": p1.id, "P2": p2.id, "P3": p3.id},
        "orders": {name: order.id for name, order in o.items()},
    }


EXPECTED_DAILY = [
    ["2025-03-01", "5", "650.00", "3", "60.00%", "2", "66.67%", "270.00", "1", "50.00%", "135.00"],
    ["2025-03-02", "4", "504.40", "2", "50.00%", "2", "100.00%", "399.00", "0", "0.00%", "199.50"],
    ["2025-03-03", "2", "96.60", "1", "50.00%", "0", "0.00%", "0.00", "0", "—", "—"],
    ["2025-03-04", "0", "0.00", "0", "—", "0", "—", "0.00", "0", "—", "—"],
]
EXPECTED_DAILY_FOOT = [
    ["合计", "11", "1251.00", "6", "54.55%", "4", "66.67%", "669.00", "1", "25.00%", "167.25"],
    ["日均", "2.75", "312.75", "1.50", "54.55%", "1.00", "66.67%", "167.25", "0.25", "25.00%",
     "167.25"],
]  # fmt: skip
EXPECTED_METHODS = [
    ["货到付款", "7", "762.10", "1", "150.00", "14.29%"],
    ["手机充值卡", "2", "158.90", "1", "99.00", "50.00%"],
    ["网银/手机银行", "1", "300.00", "0", "0.00", "0.00%"],
    ["账户余额", "1", "30.00", "1", "30.00", "100.00%"],
]
EXPECTED_METHODS_FOOT = [["合计", "11", "1251.00", "3", "279.00", "27.27%"]]


@pytest.fixture
def history(app):
    with app.app_context():
        ids = make_history()
        db.session.commit()
    return ids


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
        ["平均订单金额（元）", "113.73"],
        ["发货订单数", "4"],
        ["发货订单金额（元）", "669.00"],
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


def test_the_funnel_per_day_and_rendition_with_orders_from_the_orders_themselves(app, history):
    with app.app_context():
        refreshed()
        rows = funnel_service.funnel(FIRST, date(2025, 3, 2))
        days = funnel_service.days_table(rows)
        totals = funnel_service.renditions_table(funnel_service.by_rendition(rows))
    assert days.rows[:4] == [
        ["2025-03-01", "WAP1.x", "0", "0", "0", "2", "—", "—", "—", "—"],
        ["2025-03-01", "简版", "10", "8", "4", "3", "80.00%", "50.00%", "75.00%", "30.00%"],
        ["2025-03-01", "彩版", "0", "0", "0", "0", "—", "—", "—", "—"],
        ["2025-03-01", "触屏版", "0", "0", "0", "0", "—", "—", "—", "—"],
    ]
    assert len(days.rows) == 8
    assert totals.rows == [
        ["WAP1.x", "0", "0", "0", "2", "—", "—", "—", "—"],
        ["简版", "10", "8", "4", "4", "80.00%", "50.00%", "100.00%", "40.00%"],
        ["彩版", "0", "0", "0", "1", "—", "—", "—", "—"],
        ["触屏版", "20", "5", "2", "2", "25.00%", "40.00%", "100.00%", "10.00%"],
    ]
    assert totals.foot == [["合计", "30", "13", "6", "9", "43.33%", "46.15%", "150.00%", "30.00%"]]


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
