"""An operator's day through the staff pages: the call queue worked without leaving it, and a
refused row shown again in its queue with its message and everything typed still there."""

import io
import re

from lxml import html

from support.fulfilment import act, place_order, state, walk
from support.pages import form_fields
from support.staff import staff_client
from wapshop.extensions import db
from wapshop.models import Order
from wapshop.services import fulfilment


def row_of(page: str, number: str):
    """The queue's table row of an order (its link, not a flag naming it)."""
    doc = html.fromstring(page)
    rows = [tr for tr in doc.iter("tr") if tr.xpath(f'.//a[text()="{number}"]')]
    assert len(rows) == 1, number
    return rows[0]


def post_call(client, location: str, outcome: str, note: str = ""):
    """Record a call result on the call page `location` (the next call's page)."""
    page = client.get(location)
    assert page.status_code == 200
    order_id = re.search(r"/admin/orders/(\d+)", location).group(1)
    url = f"/admin/orders/{order_id}/call"
    return page, client.post(
        url, data={**form_fields(page.text, url), "outcome": outcome, "note": note}
    )


def test_the_call_queue_is_worked_without_leaving_it(app, shop):
    ids = [place_order(app, shop["small_product"], phone=f"1390000001{i}")[0] for i in range(2)]
    for order_id in ids:
        walk(app, order_id, "address_ok")
    service = staff_client(app, "service")
    queue = service.get("/admin/queues/calls").text
    first = service.post(
        "/admin/queues/calls/next", data=form_fields(queue, "/admin/queues/calls/next")
    )
    assert first.status_code == 303 and "then=next" in first.headers["Location"]

    _page, answer = post_call(service, first.headers["Location"], "confirmed", "买家确认")
    # Straight on to the next call, not back to the order or the queue.
    assert answer.status_code == 303
    second = answer.headers["Location"]
    assert "then=next" in second
    called = {
        int(re.search(r"/admin/orders/(\d+)", loc).group(1))
        for loc in (first.headers["Location"], second)
    }
    assert called == set(ids)

    # A declined call needs a reason: the same call page again, the choice still made.
    page, refused = post_call(service, second, "declined", "")
    assert refused.status_code == 400 and "请在备注里写明原因" in refused.text
    doc = html.fromstring(refused.text)
    assert doc.xpath('//input[@name="outcome"][@value="declined"]/@checked')
    assert doc.xpath('//input[@name="then"]/@value') == ["next"]

    _page, done = post_call(service, second, "declined", "太贵了")
    assert done.status_code == 303 and done.headers["Location"] == "/admin/queues/calls"
    assert "电话队列已清空" in service.get("/admin/queues/calls").text
    statuses = sorted(state(app, i, shop["small_product"])[0] for i in ids)
    assert statuses == ["cancelled", "confirmed"]


def test_a_refused_row_stays_in_its_queue_with_its_message_and_what_was_typed(app, shop):
    bad, n1, _b = place_order(app, shop["small_product"], phone="13900000021")
    other, n2, _b = place_order(app, shop["small_product"], phone="13900000022")
    operator = staff_client(app, "operator")
    response = act(
        operator, bad, "address", {"verdict": "invalid", "reason": ""}, "/admin/queues/address"
    )
    assert response.status_code == 400
    row = row_of(response.text, n1)
    assert "请写明地址为什么送不到" in row.text_content()
    assert row.xpath('.//input[@name="verdict"][@value="invalid"]/@checked')
    assert "请写明" not in row_of(response.text, n2).text_content()
    assert "地址审核" in response.text and state(app, bad, shop["small_product"])[0] == "placed"


def test_a_bad_waybill_stays_in_the_shipping_queue_with_the_number_typed(app, shop):
    order_id, number, _b = place_order(app, shop["small_product"], phone="13900000031")
    walk(app, order_id, "confirmed")
    operator = staff_client(app, "operator")
    response = act(
        operator,
        order_id,
        "ship",
        {"carrier": "顺丰", "tracking": "12AB"},
        "/admin/queues/shipping",
    )
    assert response.status_code == 400
    row = row_of(response.text, number)
    assert "运单号应为12位数字" in row.text_content()
    assert row.xpath('.//input[@name="tracking"]/@value') == ["12AB"]
    assert state(app, order_id, shop["small_product"])[0] == "confirmed"


def test_a_refusal_without_a_reason_stays_in_the_delivery_queue(app, shop):
    order_id, number, _b = place_order(app, shop["small_product"], phone="13900000041")
    walk(app, order_id, "shipped")
    operator = staff_client(app, "operator")
    response = act(
        operator,
        order_id,
        "delivery",
        {"outcome": "refused", "reason": ""},
        "/admin/queues/delivery",
    )
    assert response.status_code == 400
    assert "请写明拒收原因" in row_of(response.text, number).text_content()
    assert state(app, order_id, shop["small_product"])[0] == "shipped"


def label_items(app, order_id: int, label: str) -> None:
    """Arrange: the order's lines were bought in the variant `label` (e.g. a shoe size)."""
    with app.app_context():
        for item in db.session.get(Order, order_id).items:
            item.variant_label = label
        db.session.commit()


def test_the_pick_list_and_the_ship_queue_show_the_variant_and_quantity(app, shop):
    ids = [place_order(app, shop["small_product"], phone=f"1390000005{i}")[:2] for i in range(3)]
    for (order_id, _n), label in zip(ids, ("尺码 42", "尺码 42", "尺码 43")):
        walk(app, order_id, "confirmed")
        label_items(app, order_id, label)
    operator = staff_client(app, "operator")
    page = operator.get("/admin/shipping/pick-list").text
    assert re.search(r"<td>尺码 42</td><td class=\"n\"><b>2</b></td><td class=\"n\">2</td>", page)
    assert re.search(r"<td>尺码 43</td><td class=\"n\"><b>1</b></td><td class=\"n\">1</td>", page)
    assert page.count("（尺码 42） ×1") == 2 and page.count("（尺码 43） ×1") == 1
    queue = operator.get("/admin/queues/shipping").text
    assert "（尺码 43） ×1" in row_of(queue, ids[2][1]).text_content()
    assert "（尺码 42）" in operator.get(f"/admin/orders/{ids[0][0]}").text


def test_bulk_address_ok_passes_the_selection_and_reports_each_row(app, shop):
    ids = [place_order(app, shop["small_product"], phone=f"1390000006{i}")[:2] for i in range(3)]
    (a, na), (b, nb), (c, nc) = ids
    operator = staff_client(app, "operator")
    page = operator.get("/admin/queues/address").text
    walk(app, b, "address_ok")  # a colleague passed b meanwhile: the page's status is stale
    url = "/admin/queues/address/bulk"
    picks = [f"{a}:placed", f"{b}:placed", "x:placed"]
    response = operator.post(url, data={**form_fields(page, url), "pick": picks})
    assert response.status_code == 200
    report = html.fromstring(response.text).get_element_by_id("bulk-report").text_content()
    assert "1 单已通过，2 单没有通过" in response.text
    assert na in report and "地址可以送达" in report
    assert nb in report and "刚被" in report and "无法识别" in report
    statuses = [state(app, i, shop["small_product"])[0] for i, _n in ids]
    assert statuses == ["address_ok", "address_ok", "placed"]
    # The same selection again: nothing more moves, each row says why.
    again = operator.post(url, data={**form_fields(page, url), "pick": [f"{a}:placed"]})
    assert "0 单已通过，1 单没有通过" in again.text
    assert [state(app, i, shop["small_product"])[0] for i, _n in ids] == statuses


def upload_returns(client, rows: str, apply: bool, encoding="utf-8"):
    url = "/admin/shipping/returns"
    fields = form_fields(client.get(url).text, url)
    button = {"apply": "检查并记录"} if apply else {"check": "只检查，不改动"}
    return client.post(
        url,
        data={**fields, **button, "file": (io.BytesIO(rows.encode(encoding)), "回单.csv")},
        content_type="multipart/form-data",
    )


def waybill_of(app, order_id: int) -> str:
    with app.app_context():
        return fulfilment.shipment_of(db.session.get(Order, order_id)).tracking_number


def test_a_carrier_return_file_dry_run_then_applied_then_again_changes_nothing(app, shop):
    pid = shop["small_product"]
    ids = [place_order(app, pid, phone=f"1390000007{i}")[0] for i in range(4)]
    for order_id in ids[:3]:
        walk(app, order_id, "shipped")
    walk(app, ids[3], "confirmed")
    stock_before = state(app, ids[0], pid)[2]
    good, refused, no_reason, _unshipped = ids
    w = {i: waybill_of(app, i) for i in ids[:3]}
    rows = (
        "运单号,结果,原因\r\n"
        f"{w[good]},签收,\r\n"
        f"{w[refused]},拒收,买家不在家\r\n"
        f"{w[no_reason]},拒收,\r\n"
        "999999999999,签收,\r\n"
        f"{w[good]},丢了,\r\n"
    )
    operator = staff_client(app, "operator")
    dry = upload_returns(operator, rows, apply=False, encoding="gbk")
    assert dry.status_code == 200 and "还没有改动任何订单" in dry.text
    assert "签收 1 单，拒收 1 单，已记录过 0 单，有问题 3 行" in dry.text
    assert "没有运单号为 999999999999 的包裹" in dry.text and "拒收要写明原因" in dry.text
    assert [state(app, i, pid)[0] for i in ids[:3]] == ["shipped"] * 3

    applied = upload_returns(operator, rows, apply=True)
    assert "已记录：签收 1 单，拒收 1 单，已记录过 0 单，有问题 3 行" in applied.text
    assert state(app, good, pid)[0] == "delivered"
    status, moves, stock = state(app, refused, pid)
    assert status == "refused" and moves[-1][1] == "refused" and stock == stock_before + 1

    again = upload_returns(operator, rows, apply=True)
    assert "签收 0 单，拒收 0 单，已记录过 2 单，有问题 3 行" in again.text
    assert state(app, refused, pid) == (status, moves, stock)

    # A move the order cannot make is reported on its row.
    late = upload_returns(operator, f"{w[good]},拒收,不要了\r\n", apply=True)
    assert "订单「已签收」，不能改为「拒收」" in late.text
    assert state(app, good, pid)[0] == "delivered"
