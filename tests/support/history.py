"""The reports' worked example: a small history with every outcome, made through the models
with fixed times, and the figures worked out by hand for it (the `history` fixture).

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

from datetime import date, datetime, timedelta

import pytest

from factories import make_deal, make_product, make_regions
from wapshop.clock import from_china
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, OrderItem, OrderStatus
from wapshop.services import funnel as funnel_service

S = OrderStatus
FIRST, LAST = date(2025, 3, 1), date(2025, 3, 4)
INITIAL = {"cod": S.PLACED, "card": S.AWAITING_PAYMENT, "bank": S.AWAITING_PAYMENT,
           "balance": S.PAID}  # fmt: skip
_numbers = iter(range(1_000_000_000, 2_000_000_000))


def funnel_day() -> dict:
    """Generated funnel views with a known answer, as {(day, rendition, step, visitor): views}.

    2025-03-01 简版: ten visitors h0–h9 open the home page twice each; h0–h5 go on to a product
    page (three views each), and so do d0, d1 who came straight to a product page; h0–h2 and d0
    open the confirmation page; h0 and d0 place an order (h0 submits twice). Visitors: home 10,
    product 8, confirm 4, order 2; home→product 6/10, product→confirm 4/8, confirm→order 2/4,
    home→order 1/10.
    2025-03-02 触屏版: t0–t3 on the home page, t0 on a product page, nobody further.
    """
    views = {}
    day, basic = date(2025, 3, 1), "basic"
    for n in range(10):
        views[(day, basic, "home", f"h{n}")] = 2
    for who in [f"h{n}" for n in range(6)] + ["d0", "d1"]:
        views[(day, basic, "product", who)] = 3
    for who in ("h0", "h1", "h2", "d0"):
        views[(day, basic, "confirm", who)] = 1
    views[(day, basic, "order", "h0")] = 2
    views[(day, basic, "order", "d0")] = 1
    for n in range(4):
        views[(date(2025, 3, 2), "touch", "home", f"t{n}")] = 1
    views[(date(2025, 3, 2), "touch", "product", "t0")] = 1
    return views


FUNNEL_VIEWS = funnel_day()


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
        carrier=carrier, status=status, goods_fen=unit_fen * quantity,
        total_fen=unit_fen * quantity, rendition=rendition,
        created_at=placed_at, updated_at=placed_at,
    )  # fmt: skip
    order.items.append(
        OrderItem(product_id=product.id, variant_id=product.variants[0].id,
                  seller_id=product.seller_id, title=product.title,
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
    funnel_service.record_views(FUNNEL_VIEWS)
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
