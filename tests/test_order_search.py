"""Finding orders in the back office: every search field alone and combined, a seller's
scope, /admin/orders/<number>, the CSV for courier label software (UTF-8 and GBK), and no raw
code (status, way to pay) shown as text on the list or an order's page."""

import re
from datetime import datetime

import pytest

from support.fulfilment import pay_online, place_order
from support.staff import staff_client
from wapshop.clock import from_china
from wapshop.extensions import db
from wapshop.models import Order
from wapshop.services import csvfiles, stock
from wapshop.services.fulfilment import PAYMENT_LABELS, STATUS_LABELS


def arrange(app, order_id, **fields):
    with app.app_context():
        order = db.session.get(Order, order_id)
        for name, value in fields.items():
            setattr(order, name, value)
        db.session.commit()


def china(text: str) -> datetime:
    return from_china(datetime.fromisoformat(text))


@pytest.fixture
def orders(app, shop):
    """Three orders with known facts: A (small seller, 王五, 南山 street, 顺丰, placed 06-01
    23:30 CST), B (small seller, 李四, 科技园, 06-02 00:10 CST, shipped by EMS), C (big
    seller, 王小明, 科技园, 06-03 CST)."""
    a, a_no, _ = place_order(app, shop["small_product"], phone="13900000001")
    b, b_no, _ = place_order(app, shop["small_product"], phone="13900000002")
    c, c_no, _ = place_order(app, shop["big_product"], phone="13900000003")
    arrange(
        app,
        a,
        receiver_name="王五",
        street="南山大道8号",
        carrier="顺丰",
        created_at=china("2026-06-01 23:30"),
    )
    arrange(
        app,
        b,
        receiver_name="李四",
        street="科技园路1号",
        carrier="EMS",
        status="shipped",
        created_at=china("2026-06-02 00:10"),
    )
    arrange(
        app,
        c,
        receiver_name="王小明",
        street="科技园路2号",
        carrier="宅急送",
        created_at=china("2026-06-03 12:00"),
    )
    return {"A": (a, a_no), "B": (b, b_no), "C": (c, c_no)}


def found(client, query: str) -> set[str]:
    """The order numbers listed for a query string."""
    response = client.get(f"/admin/orders/?{query}")
    assert response.status_code == 200, response.text
    return set(re.findall(r">(\d{10})</a>", response.text))


def numbers(orders, *names) -> set[str]:
    return {orders[n][1] for n in names}


RANGE = "day_from=2026-06-01&day_to=2026-06-30"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("phone=13900000002", "B"),
        ("name=王", "AC"),
        ("name=%25", ""),  # a LIKE wildcard is a plain character
        ("address=科技园", "BC"),
        ("address=深圳", "ABC"),  # the region text counts too
        ("day_from=2026-06-02&day_to=2026-06-02", "B"),  # a China day, not a UTC one
        ("day_to=2026-06-01", "A"),
        ("status=shipped", "B"),
        ("carrier=顺丰", "A"),
        ("name=王&address=科技园", "C"),
        ("address=科技园&status=placed&day_from=2026-06-03&day_to=2026-06-30", "C"),
        ("phone=13900000001&carrier=EMS", ""),
    ],
)
def test_each_field_alone_and_combined(app, orders, query, expected):
    operator = staff_client(app, "operator")
    dated = query if "day_" in query else f"{query}&{RANGE}"
    assert found(operator, dated) == numbers(orders, *expected)


def test_the_number_alone_and_the_seller_filter(app, shop, orders):
    operator = staff_client(app, "operator")
    assert found(operator, f"number={orders['A'][1]}") == numbers(orders, "A")
    assert found(operator, f"seller={shop['big']}&{RANGE}") == numbers(orders, "C")
    assert found(operator, f"seller={shop['small']}&name=王&{RANGE}") == numbers(orders, "A")


def test_a_name_or_address_fragment_looks_only_within_recent_days(app, orders):
    """Unbounded LIKE scans are not offered: with no range a fragment means the last 31 days
    (the arranged orders are months old)."""
    operator = staff_client(app, "operator")
    assert found(operator, "name=王") == set()
    assert found(operator, f"name=王&{RANGE}") == numbers(orders, "A", "C")


def test_bad_input_is_a_400_with_the_reason(app, orders):
    operator = staff_client(app, "operator")
    response = operator.get("/admin/orders/?number=12ab")
    assert response.status_code == 400 and "订单号是10位数字" in response.text
    assert operator.get("/admin/orders/?status=nope").status_code == 400
    assert operator.get("/admin/orders/?day_from=2026-06-05&day_to=2026-06-01").status_code == 400


def test_a_seller_finds_only_its_own_and_is_offered_no_seller_filter(app, shop, orders):
    small = staff_client(app, "seller", seller_id=shop["small"])
    assert found(small, RANGE) == numbers(orders, "A", "B")
    assert found(small, f"address=科技园&{RANGE}") == numbers(orders, "B")
    assert small.get(f"/admin/orders/?seller={shop['big']}&{RANGE}").status_code == 400
    assert 'name="seller"' not in small.get("/admin/orders/").text


def test_the_results_are_paginated(app, orders):
    app.config["ADMIN_PAGE_SIZE"] = 2
    operator = staff_client(app, "operator")
    first, second = found(operator, RANGE), found(operator, f"{RANGE}&page=2")
    assert len(first) == 2 and len(second) == 1 and first | second == numbers(orders, *"ABC")
    assert operator.get(f"/admin/orders/?{RANGE}&page=3").status_code == 404


def test_an_order_number_opens_its_page_and_a_stranger_seller_gets_404(app, shop, orders):
    order_id, number = orders["C"]
    operator = staff_client(app, "operator")
    response = operator.get(f"/admin/orders/{number}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/orders/{order_id}")
    assert number in operator.get(f"/admin/orders/{number}", follow_redirects=True).text
    assert operator.get("/admin/orders/1999999999").status_code == 404
    assert operator.get("/admin/orders/9999999999").status_code == 404
    assert operator.get("/admin/orders/99999999999").status_code == 404
    small = staff_client(app, "seller", seller_id=shop["small"])
    assert small.get(f"/admin/orders/{number}").status_code == 404
    big = staff_client(app, "seller", seller_id=shop["big"])
    assert big.get(f"/admin/orders/{number}").status_code == 302


def rows_of(response, encoding):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.data.decode(csvfiles.ENCODINGS[encoding])
    return [[csvfiles.unguard(c) for c in row] for row in csvfiles.reader(text)]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_the_filtered_list_exports_for_label_software(app, shop, orders, encoding):
    pay_online(app, orders["B"][0])
    arrange(app, orders["B"][0], status="shipped")
    arrange(app, orders["A"][0], receiver_name="=王五")  # would run as a formula
    operator = staff_client(app, "operator")
    response = operator.get(
        f"/admin/orders/export.csv?seller={shop['small']}&{RANGE}&encoding={encoding}"
    )
    if encoding == "gbk":
        with pytest.raises(UnicodeDecodeError):
            response.data.decode("utf-8")
    else:
        assert response.data.startswith(b"\xef\xbb\xbf")
    assert b"'=" in response.data.replace(b"\x00", b"")
    with app.app_context():
        b, a = (db.session.get(Order, orders[k][0]) for k in "BA")
        expected = [
            ["订单号", "收货人", "电话", "地址", "商品", "代收金额", "快递"],
            [
                b.number,
                "李四",
                "13900000002",
                f"{b.region_text} 科技园路1号",
                f"{b.items[0].title} × 1",
                "0.00",
                "EMS",
            ],
            [
                a.number,
                "=王五",
                "13900000001",
                f"{a.region_text} 南山大道8号",
                f"{a.items[0].title} × 1",
                "59.90",
                "顺丰",
            ],
        ]
    assert rows_of(response, encoding) == expected


def test_a_seller_exports_only_its_own(app, shop, orders):
    big = staff_client(app, "seller", seller_id=shop["big"])
    response = big.get(f"/admin/orders/export.csv?seller={shop['small']}&{RANGE}")
    assert response.status_code == 400 and b"13900000001" not in response.data
    rows = rows_of(big.get(f"/admin/orders/export.csv?{RANGE}"), "utf-8")
    assert [r[0] for r in rows[1:]] == [orders["C"][1]]


def visible_text(html: str) -> str:
    """The page's text as read: no tags, no option values, no attributes."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]*>", " ", html)


def test_no_raw_code_is_shown_on_the_list_or_an_order_page(app, shop):
    operator = staff_client(app, "operator")
    with app.app_context():
        stock.set_sole_stock(shop["small_product"], 100)
        db.session.commit()
    ids = []
    for status in STATUS_LABELS:
        order_id, _n, _b = place_order(app, shop["small_product"])
        arrange(app, order_id, status=str(status))
        ids.append(order_id)
    for method, order_id in zip(PAYMENT_LABELS, ids):
        arrange(app, order_id, payment_method=method)
    app.config["ADMIN_PAGE_SIZE"] = 50
    pages = [operator.get("/admin/orders/").text]
    pages += [operator.get(f"/admin/orders/{i}").text for i in ids]
    codes = [str(s) for s in STATUS_LABELS] + list(PAYMENT_LABELS)
    for html in pages:
        text = visible_text(html)
        shown = [c for c in codes if re.search(rf"(?<![\w/]){re.escape(c)}(?![\w/])", text)]
        assert shown == [], shown
    assert all(label in pages[0] for label in PAYMENT_LABELS.values())
