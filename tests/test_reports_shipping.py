"""Reports and shipping fees agree: every amount is what buyers pay (goods + shipping −
discount), and the shipping inside those amounts is shown apart: a shipping table beside the
daily report and two lines in the overview, the same whether the rollups were counted from
scratch or order by order as events arrived. Figures worked out by hand on the history of
tests/support/history.py (C, D shipped on 03-01; B, E not)."""

from datetime import date, datetime

from sqlalchemy import select

from support.history import FIRST, LAST, S
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent
from wapshop.models.reports import OrderDayStat, OrderFact, ProductDayStat
from wapshop.services import reports


def charge_shipping(order_id: int, fen: int) -> None:
    """As the checkout would have: the fee inside the order's total."""
    order = db.session.get(Order, order_id)
    order.shipping_fen += fen
    order.total_fen += fen


def rollup_rows() -> dict[str, list[tuple]]:
    return {
        model.__tablename__: sorted(
            tuple(row) for row in db.session.execute(select(*model.__table__.columns))
        )
        for model in (OrderDayStat, ProductDayStat, OrderFact)
    }


def test_shipping_fees_are_inside_the_amounts_and_shown_apart(app, history):
    orders = history["orders"]
    with app.app_context():
        charge_shipping(orders["C"], 1000)  # shipped
        charge_shipping(orders["B"], 800)  # declined on the call: ordered, never shipped
        db.session.commit()
        reports.refresh(datetime(2025, 4, 1))
        db.session.commit()
        daily = reports.daily_table(reports.daily(FIRST, LAST))
        shipping = reports.shipping_table(reports.daily(FIRST, LAST))
        summary = reports.overview_table(reports.overview(FIRST, LAST))
    # 03-01: 650.00 of goods + 18.00 shipping ordered; shipped C and D: 270.00 + 10.00.
    assert daily.rows[0][:3] == ["2025-03-01", "5", "668.00"]
    assert daily.rows[0][7] == "280.00"
    assert shipping.columns == ["日期", "总订单金额（元）", "其中运费（元）", "发货订单金额（元）",
                                "发货订单运费（元）"]  # fmt: skip
    assert shipping.rows == [
        ["2025-03-01", "668.00", "18.00", "280.00", "10.00"],
        ["2025-03-02", "504.40", "0.00", "399.00", "0.00"],
        ["2025-03-03", "96.60", "0.00", "0.00", "0.00"],
        ["2025-03-04", "0.00", "0.00", "0.00", "0.00"],
    ]
    assert shipping.foot == [["合计", "1269.00", "18.00", "679.00", "10.00"]]
    lines = dict(summary.rows)
    assert lines["GMV（总订单金额，元）"] == "1269.00"
    assert lines["GMV 中的运费（元）"] == "18.00"
    assert lines["发货订单金额（元）"] == "679.00"
    assert lines["发货订单金额中的运费（元）"] == "10.00"


def test_shipping_counted_order_by_order_matches_a_rebuild(app, history):
    orders = history["orders"]
    with app.app_context():
        reports.refresh(datetime(2025, 4, 1))
        db.session.commit()
        # H (shipped on 03-02) is found to owe 12.00 shipping, and I is checked.
        charge_shipping(orders["H"], 1200)
        for name, before, after in (("H", S.SHIPPED, S.DELIVERED), ("I", S.PLACED, S.ADDRESS_OK)):
            order = db.session.get(Order, orders[name])
            order.events.append(OrderEvent(actor="x", from_status=before, to_status=after))
        db.session.commit()
        assert reports.refresh(datetime(2025, 4, 2)) == 2
        db.session.commit()
        counted = rollup_rows()
        day = dict(reports.daily(FIRST, LAST))[date(2025, 3, 2)]
        assert (day.orders_shipping_fen, day.shipped_shipping_fen) == (1200, 1200)
        assert (day.orders_fen, day.shipped_fen) == (51640, 41100)
        reports.rebuild(datetime(2025, 4, 3))
        db.session.commit()
        assert rollup_rows() == counted
