"""Corrections on the confirmation call, through the order page the next call opens: the
address (cash on delivery re-checked), a line's quantity or variant (stock re-taken, all or
nothing), each one an event with before → after on the order's timeline."""

import threading

from lxml import html
from sqlalchemy import select

from factories import COVERED, make_deal
from support.fulfilment import place_order, state, walk
from support.pages import form_fields
from support.staff import staff_client
from wapshop.extensions import db
from wapshop.models import Deal, Order, OrderEvent, Product, Variant


def post(client, order_id: int, action: str, data: dict, item_id: int | None = None):
    """Post a correction form from the order's page (the line form of `item_id`)."""
    page = client.get(f"/admin/orders/{order_id}?then=next").text
    url = f"/admin/orders/{order_id}/{action}"
    doc = html.fromstring(page)
    for form in doc.forms:
        fields = {i.name: i.value for i in form.inputs if getattr(i, "type", "") == "hidden"}
        if form.action == url and (item_id is None or fields.get("item") == str(item_id)):
            return client.post(url, data={**fields, **data})
    raise AssertionError(f"no form posting to {url}")


def facts(app, order_id: int) -> dict:
    with app.app_context():
        o = db.session.get(Order, order_id)
        return {
            "receiver": o.receiver_name,
            "phone": o.phone,
            "region": o.region_code,
            "street": o.street,
            "carrier": o.carrier,
            "amounts": (o.goods_fen, o.shipping_fen, o.discount_fen, o.total_fen),
            "lines": [(i.variant_id, i.variant_label, i.quantity) for i in o.items],
            "events": db.session.scalar(select(db.func.count()).where(OrderEvent.order_id == o.id)),
        }


def stocks(app, product_id: int) -> tuple[int, dict]:
    with app.app_context():
        variants = db.session.scalars(select(Variant).where(Variant.product_id == product_id))
        return db.session.get(Product, product_id).stock, {v.id: v.stock for v in variants}


def test_an_address_corrected_on_the_call_rechecks_cash_on_delivery(app, shop):
    order_id, _n, _b = place_order(app, shop["small_product"], region=COVERED)
    walk(app, order_id, "address_ok")
    service = staff_client(app, "service")
    before = facts(app, order_id)

    # 西藏 has no courier collecting cash: refused on the address, nothing changed.
    refused = post(
        service,
        order_id,
        "contact",
        {
            "receiver": "李四",
            "phone": "13911112222",
            "address": "西藏自治区拉萨市城关区北京东路1号",
        },
    )
    assert refused.status_code == 400 and "不能货到付款" in refused.text
    assert html.fromstring(refused.text).xpath('//input[@name="address"]/@value') == [
        "西藏自治区拉萨市城关区北京东路1号"
    ]
    assert facts(app, order_id) == before

    # 宝安区 is covered (the city's courier collects cash there): corrected, one event.
    moved = post(
        service,
        order_id,
        "contact",
        {
            "receiver": "李四",
            "phone": "13911112222",
            "address": "广东省深圳市宝安区新安路2号",
            "note": "买家搬家了",
        },
    )
    assert moved.status_code == 303 and "then=next" in moved.headers["Location"]
    after = facts(app, order_id)
    assert (after["receiver"], after["phone"], after["region"], after["street"]) == (
        "李四",
        "13911112222",
        "440306",
        "新安路2号",
    )
    assert after["events"] == before["events"] + 1
    assert state(app, order_id, shop["small_product"])[0] == "address_ok"
    timeline = service.get(f"/admin/orders/{order_id}").text
    assert "订单更正" in timeline and "收货人 张三 → 李四" in timeline
    assert "地址 广东省深圳市南山区科技园路1号101室 → 广东省深圳市宝安区新安路2号" in timeline
    assert "备注 买家搬家了" in timeline


def test_a_quantity_change_retakes_stock_and_is_refused_when_out_of_stock(app, shop):
    pid = shop["small_product"]
    order_id, _n, _b = place_order(app, pid)
    walk(app, order_id, "address_ok")
    service = staff_client(app, "service")
    item_id = facts_item(app, order_id)
    assert stocks(app, pid)[0] == 9

    more = post(service, order_id, "line", {"quantity": "3", "note": "要三件"}, item_id)
    assert more.status_code == 303
    after = facts(app, order_id)
    assert after["lines"][0][2] == 3 and stocks(app, pid)[0] == 7
    goods, shipping, discount, total = after["amounts"]
    assert goods == 3 * 5990 and total == goods + shipping - discount

    # 20 when 7 are left on the shelf (10 counting this order's 3): refused, nothing moved.
    refused = post(service, order_id, "line", {"quantity": "20"}, item_id)
    assert refused.status_code == 409 and "库存不够" in refused.text
    assert facts(app, order_id) == after and stocks(app, pid)[0] == 7
    for hostile in ("0", "-1", "²", "9" * 5000, "1\x00"):
        bad = post(service, order_id, "line", {"quantity": hostile}, item_id)
        assert bad.status_code == 400, hostile
    assert facts(app, order_id) == after and stocks(app, pid)[0] == 7
    assert "数量 1 → 3" in service.get(f"/admin/orders/{order_id}").text


def test_a_variant_change_gives_back_the_old_and_takes_the_new(app, shop):
    pid = shop["small_product"]
    order_id, _n, _b = place_order(app, pid)
    walk(app, order_id, "address_ok")
    with app.app_context():
        product = db.session.get(Product, pid)
        other = Variant(product_id=pid, values_json='[["尺码", "43"]]', label="尺码 43", stock=2)
        db.session.add(other)
        product.stock += 2
        db.session.commit()
        other_id = other.id
    service = staff_client(app, "service")
    item_id = facts_item(app, order_id)
    old_id = facts(app, order_id)["lines"][0][0]
    assert stocks(app, pid) == (11, {old_id: 9, other_id: 2})

    refused = post(service, order_id, "line", {"variant": str(other_id), "quantity": "3"}, item_id)
    assert refused.status_code == 409 and stocks(app, pid) == (11, {old_id: 9, other_id: 2})

    changed = post(service, order_id, "line", {"variant": str(other_id), "quantity": "2"}, item_id)
    assert changed.status_code == 303
    assert stocks(app, pid) == (10, {old_id: 10, other_id: 0})
    assert facts(app, order_id)["lines"] == [(other_id, "尺码 43", 2)]
    assert "规格 — → 尺码 43" in service.get(f"/admin/orders/{order_id}").text


def facts_item(app, order_id: int) -> int:
    with app.app_context():
        return db.session.get(Order, order_id).items[0].id


def test_corrections_are_offered_only_before_the_call_is_confirmed(app, shop):
    order_id, _n, _b = place_order(app, shop["small_product"])
    walk(app, order_id, "confirmed")
    service = staff_client(app, "service")
    page = service.get(f"/admin/orders/{order_id}").text
    assert f"/admin/orders/{order_id}/contact" not in page
    token = form_fields(page, f"/admin/orders/{order_id}/cancel")
    late = service.post(
        f"/admin/orders/{order_id}/contact",
        data={
            **token,
            "receiver": "王五",
            "phone": "13911112222",
            "address": "广东省深圳市宝安区新安路2号",
        },
    )
    assert late.status_code == 409 and "不能更正" in late.text
    assert facts(app, order_id)["receiver"] == "张三"


def test_two_look_alike_orders_are_flagged_and_merged_into_one_parcel(app, shop):
    pid = shop["small_product"]
    keep, n1, _b = place_order(app, pid, phone="13900000081")
    other, n2, _b = place_order(app, pid, phone="13900000082")  # same name and address
    alone, n3, _b = place_order(app, shop["big_product"], phone="13900000083")
    walk(app, keep, "address_ok")
    operator = staff_client(app, "operator")
    queue = operator.get("/admin/queues/address").text
    flag = html.fromstring(queue).xpath('//span[@title="lookalike"]')
    assert len(flag) == 2 and n1 in flag[0].text and n2 in flag[1].text  # both of other and alone
    before = {i: facts(app, i) for i in (keep, other)}
    stock_before = stocks(app, pid)[0]

    page = operator.get(f"/admin/orders/{keep}").text
    assert n2 in html.fromstring(page).get_element_by_id("merge").text_content()
    assert n3 not in html.fromstring(page).get_element_by_id("merge").text_content()
    url = f"/admin/orders/{keep}/merge"
    # A stale view of the other order (it was "confirmed"?) is refused, nothing merged.
    stale = operator.post(url, data={**form_fields(page, url), "others": f"{other}:shipped"})
    assert stale.status_code == 409 and facts(app, keep) == before[keep]
    merged = operator.post(url, data={**form_fields(page, url), "others": f"{other}:placed"})
    assert merged.status_code == 303, html.fromstring(merged.text).xpath(
        '//ul[@class="errors"]//text()'
    )

    kept = facts(app, keep)
    assert [line[2] for line in kept["lines"]] == [1, 1]
    goods, shipping, discount, total = kept["amounts"]
    assert goods == before[keep]["amounts"][0] + before[other]["amounts"][0]
    assert total == before[keep]["amounts"][3] + before[other]["amounts"][3] == goods
    assert facts(app, other)["lines"] == []
    status, moves, stock = state(app, other, pid)
    assert (
        status == "cancelled"
        and f"已合并到订单 {n1}" in operator.get(f"/admin/orders/{other}").text
    )
    assert stock == stock_before  # the units belong to the kept order now
    assert "合并订单 " + n2 in operator.get(f"/admin/orders/{keep}").text

    # One parcel, one amount collected, one SMS to the buyer for it.
    walk(app, keep, "shipped")
    with app.app_context():
        from wapshop.models import OutboxMessage, Shipment

        parcels = db.session.scalars(
            select(Shipment).where(Shipment.order_id.in_([keep, other]))
        ).all()
        assert [(p.order_id, p.cod_fen) for p in parcels] == [(keep, total)]
        texts = db.session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.order_id.in_([keep, other]))
        ).all()
        assert texts.count("shipped") == 1 and "cancelled" not in texts


def test_twenty_line_changes_at_once_never_oversell_and_never_fail(app, shop):
    """Five orders of a product with 5 units left; 20 requests at once, four per order, each
    asking for 3 units (2 more): stock never goes below zero, units add up, no 500."""
    pid = shop["small_product"]
    ids = [place_order(app, pid, phone=f"1390000009{i}")[0] for i in range(5)]
    for order_id in ids:
        walk(app, order_id, "address_ok")
    clients = [staff_client(app, "service") for _ in range(4)]
    posts = []
    for order_id in ids:
        item_id = facts_item(app, order_id)
        for client in clients:
            page = client.get(f"/admin/orders/{order_id}").text
            url = f"/admin/orders/{order_id}/line"
            doc = html.fromstring(page)
            form = next(f for f in doc.forms if f.action == url)
            fields = {i.name: i.value for i in form.inputs if getattr(i, "type", "") == "hidden"}
            assert fields["item"] == str(item_id)
            posts.append((client, url, {**fields, "quantity": "3"}))
    start = threading.Barrier(len(posts))
    codes = []

    def send(client, url, data):
        start.wait()
        codes.append(client.post(url, data=data).status_code)

    threads = [threading.Thread(target=send, args=p) for p in posts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(codes) == 20 and set(codes) <= {303, 400, 409}, codes
    quantities = [facts(app, i)["lines"][0][2] for i in ids]
    left = stocks(app, pid)[0]
    assert left >= 0 and left + sum(quantities) == 10
    assert sorted(quantities) == [1, 1, 1, 3, 3] and codes.count(303) == 2


def test_a_deal_line_keeps_the_deal_units_and_the_per_buyer_limit(app, shop):
    pid = shop["small_product"]
    with app.app_context():
        deal_id = make_deal(product=db.session.get(Product, pid), per_buyer_limit=2).id
        db.session.commit()
    order_id, _n, _b = place_order(app, pid)
    walk(app, order_id, "address_ok")
    service = staff_client(app, "service")
    item_id = facts_item(app, order_id)

    def sold():
        with app.app_context():
            return db.session.get(Deal, deal_id).sold

    assert sold() == 1 and facts(app, order_id)["amounts"][0] == 2990
    assert post(service, order_id, "line", {"quantity": "2"}, item_id).status_code == 303
    assert sold() == 2 and stocks(app, pid)[0] == 8
    assert facts(app, order_id)["amounts"][0] == 2 * 2990  # still the deal's price
    over = post(service, order_id, "line", {"quantity": "3"}, item_id)
    assert over.status_code == 409 and "每人限购 2 件" in over.text
    assert sold() == 2 and stocks(app, pid)[0] == 8
    assert post(service, order_id, "line", {"quantity": "1"}, item_id).status_code == 303
    assert sold() == 1 and stocks(app, pid)[0] == 9


def test_a_receiver_corrected_alone_keeps_an_address_the_parser_would_not_reread(app, shop):
    order_id, _n, _b = place_order(app, shop["small_product"])
    walk(app, order_id, "address_ok")
    with app.app_context():  # a municipality's name is said once: 北京市朝阳区…
        db.session.get(Order, order_id).region_text = "北京市朝阳区"
        db.session.commit()
    service = staff_client(app, "service")
    page = service.get(f"/admin/orders/{order_id}").text
    shown = html.fromstring(page).xpath('//input[@name="address"]/@value')[0]
    assert shown == "北京市朝阳区科技园路1号101室"
    response = post(
        service, order_id, "contact", {"receiver": "王五", "phone": "13800138000", "address": shown}
    )
    assert response.status_code == 303
    after = facts(app, order_id)
    assert (after["receiver"], after["region"], after["street"]) == (
        "王五",
        COVERED,
        "科技园路1号101室",
    )
