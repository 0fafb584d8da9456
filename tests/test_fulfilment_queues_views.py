"""The queue pages staff work from: flags where they matter, refusals with their reasons,
the call queue and its "next call" button, shipping in bulk, the pick list, searching."""

import io
import re
from support.fulfilment import act, place_order, state, walk
from support.pages import form_fields
from support.staff import staff_client


def test_the_address_queue_flags_twin_orders_and_wants_a_reason_for_a_bad_address(app, shop):
    first, n1, _b = place_order(app, shop["small_product"])
    second, n2, _b = place_order(app, shop["small_product"])
    operator = staff_client(app, "operator")
    page = operator.get("/admin/queues/address").text
    assert n1 in page and n2 in page and page.count('title="duplicate">疑似重复') == 2
    assert re.search(r"地址审核<span class=\"count\">2</span>", page)

    response = act(
        operator, first, "address", {"verdict": "invalid", "reason": ""}, "/admin/queues/address"
    )
    assert response.status_code == 400 and "请写明地址为什么送不到" in response.text
    assert state(app, first, shop["small_product"])[0] == "placed"
    response = act(
        operator,
        first,
        "address",
        {"verdict": "invalid", "reason": "查无此路"},
        "/admin/queues/address",
    )
    assert response.status_code == 303
    page = operator.get("/admin/queues/address").text
    assert "地址无效，待联系买家（1）" in page
    # An expired page (no status seen) changes nothing.
    token = form_fields(page, f"/admin/orders/{second}/address")
    stale = operator.post(
        f"/admin/orders/{second}/address", data={**token, "expected": "", "verdict": "ok"}
    )
    assert stale.status_code == 400 and state(app, second, shop["small_product"])[0] == "placed"


def test_next_call_says_so_when_no_call_is_due(app, shop):
    service = staff_client(app, "service")
    page = service.get("/admin/queues/calls")
    response = service.post(
        "/admin/queues/calls/next", data=form_fields(page.text, "/admin/queues/calls/next")
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/queues/calls"
    assert "现在没有到时间要打的电话" in service.get("/admin/queues/calls").text


def test_a_parked_order_is_listed_apart_and_put_back_in_the_queue_from_its_page(app, shop):
    order_id, number, _b = place_order(app, shop["small_product"])
    walk(app, order_id, "address_ok")
    service = staff_client(app, "service")
    for _ in range(3):
        assert (
            act(service, order_id, "call", {"outcome": "no_answer", "note": "无人接"}).status_code
            == 303
        )
    page = service.get("/admin/queues/calls").text
    assert "已搁置，等买家回复（1）" in page and "现在要打（0）" in page
    order_page = service.get(f"/admin/orders/{order_id}").text
    assert "已搁置" in order_page and order_page.count("电话：无人接听") == 3
    url = f"/admin/orders/{order_id}/requeue"
    assert service.post(url, data=form_fields(order_page, url)).status_code == 303
    assert "现在要打（1）" in service.get("/admin/queues/calls").text


def test_bulk_shipping_through_the_page_reports_each_row(app, shop):
    good, n1, _b = place_order(app, shop["small_product"], phone="13900000001")
    early, n2, _b = place_order(app, shop["small_product"], phone="13900000002")
    walk(app, good, "confirmed")
    operator = staff_client(app, "operator")
    fields = form_fields(operator.get("/admin/shipping/upload").text, "/admin/shipping/upload")
    csv = f"{n1},顺丰,555555555555\r\n{n2},顺丰,666666666666\r\n".encode("gbk")
    response = operator.post(
        "/admin/shipping/upload",
        data={**fields, "carrier": "", "file": (io.BytesIO(csv), "发货.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert (
        "发货 1 单，未发货 1 行" in response.text
        and "只有电话确认过的订单才能发货" in response.text
    )
    assert state(app, good, shop["small_product"])[0] == "shipped"
    assert state(app, early, shop["small_product"])[0] == "placed"
    nothing = operator.post(
        "/admin/shipping/upload", data=fields, content_type="multipart/form-data"
    )
    assert nothing.status_code == 400 and "请选择 CSV 文件" in nothing.text


def test_the_pick_list_sums_what_to_take_from_the_shelves(app, shop):
    ids = [place_order(app, shop["small_product"], phone=f"1390000000{i}")[:2] for i in range(3)]
    for order_id, _n in ids[:2]:
        walk(app, order_id, "confirmed")
    operator = staff_client(app, "operator")
    page = operator.get("/admin/shipping/pick-list").text
    assert "共 2 单" in page
    assert re.search(r"<td class=\"n\"><b>2</b></td><td class=\"n\">2</td>", page)
    assert ids[0][1] in page and ids[1][1] in page and ids[2][1] not in page


def test_orders_are_found_by_number_or_phone_and_a_bad_status_is_a_400(app, shop):
    _id, number, _b = place_order(app, shop["small_product"], phone="13912345678")
    service = staff_client(app, "service")
    assert number in service.get("/admin/orders/?q=13912345678").text
    assert number in service.get(f"/admin/orders/?q={number}&status=placed").text
    assert "没有找到订单" in service.get(f"/admin/orders/?q={number}&status=shipped").text
    assert service.get("/admin/orders/?status=nope").status_code == 400
    assert service.get("/admin/orders/?page=99").status_code == 404


def test_an_illegal_move_is_refused_with_the_reason(app, shop):
    order_id, _n, _b = place_order(app, shop["small_product"])
    seller = staff_client(app, "seller", seller_id=shop["small"])
    page = seller.get(f"/admin/orders/{order_id}").text
    token = form_fields(page, f"/admin/orders/{order_id}/address")
    response = seller.post(
        f"/admin/orders/{order_id}/ship",
        data={**token, "expected": "placed", "carrier": "顺丰", "tracking": "123456789012"},
    )
    assert response.status_code == 409 and "只有电话确认过的订单才能发货" in response.text
    assert state(app, order_id, shop["small_product"])[:2] == (
        "placed",
        [(None, "placed", "guest")],
    )
