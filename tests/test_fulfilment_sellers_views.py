"""Unified brand, separate books: a seller's staff see and act on their own orders only.
Guessing another seller's order ids gets the same 404 as an id that does not exist, for the
pages and for every action; the shop-only pages are 403 for sellers."""

import io

import pytest
from support.fulfilment import act, place_order, state
from support.pages import form_fields
from support.staff import staff_client


ACTIONS = {
    "address": {"verdict": "ok"},
    "call": {"outcome": "confirmed"},
    "requeue": {},
    "ship": {"carrier": "顺丰", "tracking": "123456789012"},
    "delivery": {"outcome": "delivered"},
    "cancel": {"reason": "猜的"},
}


@pytest.fixture
def two_sellers(app, shop):
    """A small seller's staff with one own order, and the big seller's order it must not see."""
    mine_id, mine_number, _b = place_order(app, shop["small_product"])
    theirs_id, theirs_number, _c = place_order(app, shop["big_product"], phone="13900139000")
    seller = staff_client(app, "seller", seller_id=shop["small"])
    return seller, (mine_id, mine_number), (theirs_id, theirs_number)


def test_a_seller_opens_its_own_order_but_not_another_sellers(two_sellers):
    seller, (mine, _n), (theirs, _m) = two_sellers
    assert seller.get(f"/admin/orders/{mine}").status_code == 200
    assert seller.get(f"/admin/orders/{theirs}").status_code == 404
    assert seller.get("/admin/orders/999999").status_code == 404


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_on_another_sellers_order_is_a_404_and_changes_nothing(
    app, shop, two_sellers, action
):
    seller, (mine, _n), (theirs, _m) = two_sellers
    # A valid CSRF token and status, taken from the seller's own order page.
    fields = form_fields(seller.get(f"/admin/orders/{mine}").text, f"/admin/orders/{mine}/address")
    response = seller.post(f"/admin/orders/{theirs}/{action}", data={**fields, **ACTIONS[action]})
    assert response.status_code in (403, 404)
    if action != "cancel":  # cancelling is the shop's: 403 to any seller, before any lookup
        assert response.status_code == 404
    assert state(app, theirs, shop["big_product"])[:2] == ("placed", [(None, "placed", "guest")])


def test_lists_queues_pick_list_and_search_show_only_the_sellers_orders(app, shop, two_sellers):
    seller, (mine, mine_number), (theirs, theirs_number) = two_sellers
    service = staff_client(app, "service")
    assert act(service, theirs, "address", {"verdict": "ok"}).status_code == 303
    assert act(service, mine, "address", {"verdict": "ok"}).status_code == 303
    for query in (theirs_number, "13900139000"):
        assert "没有找到订单" in seller.get(f"/admin/orders/?q={query}").text
    for url in (
        "/admin/orders/",
        "/admin/queues/address",
        "/admin/queues/calls",
        "/admin/queues/shipping",
        "/admin/queues/delivery",
        "/admin/shipping/pick-list",
    ):
        page = seller.get(url)
        assert page.status_code == 200, url
        assert theirs_number not in page.text, url
    assert mine_number in seller.get("/admin/orders/").text


def test_a_csv_shipping_another_sellers_order_reads_as_unknown(app, shop, two_sellers):
    seller, (mine, mine_number), (theirs, theirs_number) = two_sellers
    service = staff_client(app, "service")
    boss = staff_client(app, "seller", seller_id=shop["big"])
    for order_id, who in ((mine, service), (theirs, boss)):
        assert act(who, order_id, "address", {"verdict": "ok"}).status_code == 303
        assert act(who, order_id, "call", {"outcome": "confirmed"}).status_code == 303
    token = form_fields(seller.get("/admin/shipping/upload").text, "/admin/shipping/upload")
    csv = f"订单号,快递公司,运单号\n{theirs_number},顺丰,111111111111\n".encode()
    response = seller.post(
        "/admin/shipping/upload",
        data={**token, "file": (io.BytesIO(csv), "ship.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "没有这个订单" in response.text
    assert state(app, theirs, shop["big_product"])[0] == "confirmed"


@pytest.mark.parametrize("url", ["/admin/settlement/", "/admin/aftersales/", "/admin/outbox/"])
def test_the_shops_own_pages_are_403_for_sellers(app, shop, url):
    seller = staff_client(app, "seller", seller_id=shop["small"])
    assert seller.get(url).status_code == 403


def test_an_operator_cannot_make_confirmation_calls_nor_service_ship(app, shop):
    operator, service = staff_client(app, "operator"), staff_client(app, "service")
    order_id, _n, _b = place_order(app, shop["small_product"])
    assert act(operator, order_id, "address", {"verdict": "ok"}).status_code == 303
    assert operator.get("/admin/queues/calls").status_code == 403
    page = operator.get(f"/admin/orders/{order_id}").text
    assert f"/admin/orders/{order_id}/call" not in page
    assert act(service, order_id, "call", {"outcome": "confirmed"}).status_code == 303
    assert service.get("/admin/queues/shipping").status_code == 403
