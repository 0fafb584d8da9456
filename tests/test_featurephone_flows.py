"""A cookie-less feature phone walking real flows on the demo data: browsing with the sid in
every URL, buying a deal on wml, basic and color, double submits, WML-only browsers, and sids
that are unknown, expired or would leave the site."""

import itertools
import secrets
from datetime import timedelta
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from factories import make_product_with_options
from wapclient import (
    REDIRECTS,
    BrowserError,
    FlaskTransport,
    HttpTransport,
    Response,
    WapClient,
    only_sid,
    rendition_of,
    sids,
)
from wapshop.web.devices import rendition_for_ua
from wapshop.extensions import db
from wapshop.models import Deal, Order, Product, Region, WebSession
from wapshop.clock import utcnow
from wapshop.money import format_fen
from wapshop.payments.cod import CashOnDelivery
from wapshop.services import catalog, regions
from wapshop.services.orders import STATUS_TEXT

NOKIA_S40 = "Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1"
UP_BROWSER_4 = "SIE-ME45/23 UP.Browser/4.1.26l UP.Link/4.2.3.5"
XHTML_ACCEPT = "application/vnd.wap.xhtml+xml,application/xhtml+xml;q=0.9,text/html;q=0.8,*/*;q=0.5"
WML_ACCEPT = "text/vnd.wap.wml"
PHONES = {
    "wml": (UP_BROWSER_4, WML_ACCEPT),
    "basic": (NOKIA_S40, XHTML_ACCEPT),
    "color": (NOKIA_S40, XHTML_ACCEPT),
    # A smartphone's browser with script off: the touch pages' links and forms alone.
    "touch": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0 Mobile Safari/537.36",
        "text/html,application/xhtml+xml",
    ),
}
QUANTITY = 2
_numbers = itertools.count(1)


def new_mobile() -> str:
    """A mobile number no other test uses, so per-buyer deal limits never interfere."""
    return f"1380013{next(_numbers):04d}"


def masked(mobile: str) -> str:
    return f"{mobile[:3]}****{mobile[-4:]}"


def phone(transport, rendition: str = "basic") -> WapClient:
    return WapClient(transport, *PHONES[rendition])


def assert_walk(client: WapClient, rendition: str) -> None:
    """Every page seen: no error, in `rendition`, one session throughout (its sid changes
    only at a grant of access, an order placed, and an old sid never comes back), and no sid
    on a URL that leaves the site."""
    pages = [p for p in client.history if p.status not in REDIRECTS]
    grants = sum(p.method == "POST" and p.status in REDIRECTS for p in client.history)
    in_order = [only_sid(p) for p in pages if sids(p)]
    runs = [sid for i, sid in enumerate(in_order) if i == 0 or sid != in_order[i - 1]]
    assert len(runs) == len(set(runs)) <= 1 + grants, runs
    for page in pages:
        assert page.status == 200, page.url
        assert rendition_of(page) == rendition, page.url
        assert_sid_stays_home(page, client.transport.base_url)


def assert_sid_stays_home(page: Response, base_url: str) -> None:
    ours = urlsplit(base_url).netloc
    for url in page.urls():
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != ours:
            assert "sid" not in dict(parse_qsl(parts.query)), f"{page.url} sends the sid to {url}"


def pick(client: WapClient, name: str) -> Response:
    """Choose a region: its link, or its option in a pick list sent by its button."""
    if any(link.text == name for link in client.page.links()):
        return client.follow(name)
    return client.choose(name)


def reach_confirmation(client: WapClient, region_names: tuple[str, ...]) -> Response:
    """From a product page: 立即购买, then (a new buyer, who does not type the address line)
    the pick list: province, city and district."""
    client.follow("立即购买")
    client.follow("选择地区")
    for name in region_names:
        pick(client, name)
    return client.page


def order_fields(mobile: str, quantity: int = 1) -> dict[str, str]:
    return {
        "quantity": str(quantity),
        "name": "张三",
        "phone": mobile,
        "street": "人民路100号3单元",
        "payment": CashOnDelivery.code,
    }


@pytest.fixture(scope="module")
def cod_region_names(demo_app) -> tuple[str, str, str]:
    """Province, city and district names of a district with cash on delivery, all distinct
    (municipalities repeat their name, and a link text must say where it goes)."""
    with demo_app.app_context():
        districts = db.session.scalars(
            select(Region).where(Region.level == regions.DISTRICT).order_by(Region.code)
        )
        for district in districts:
            names = tuple(r.name for r in regions.path(district))
            if len(set(names)) == 3 and regions.cod_carrier(district):
                return names
    pytest.fail("the demo regions have no district with cash on delivery")


@pytest.fixture(params=["flask", pytest.param("live", marks=pytest.mark.server)])
def transport(request, demo_app):
    """The Flask test client, and a live gunicorn over the same database."""
    if request.param == "flask":
        return FlaskTransport(demo_app)
    return HttpTransport(request.getfixturevalue("live_server").url)


def first_category(app) -> tuple[str, str]:
    """(name, title of its first listed product on basic) of the first top-level category."""
    with app.app_context():
        category = catalog.top_categories()[0]
        page = catalog.category_products(category, 1, app.config["PAGE_SIZE"]["basic"])
        return category.name, page.items[0].title


# --- Browsing.


def test_s40_browses_by_link_and_access_key_in_one_cookieless_session(demo_app, transport):
    category, first_title = first_category(demo_app)
    client = phone(transport)
    sid = only_sid(client.open("/?ver=basic"))
    client.follow(category)
    product = client.follow_accesskey("1")
    assert first_title in product.visible_text
    home = client.follow_accesskey("0")
    assert urlsplit(home.url).path == "/"
    assert_walk(client, "basic")
    assert only_sid(home) == sid
    # The server offered its cookie with the new session; only ignoring it keeps the sid in
    # the links. A sid read back from a URL is never offered as a cookie (it may be a link
    # someone else shared).
    assert "set-cookie" in client.history[0].headers
    assert not any("set-cookie" in p.headers for p in client.history[1:])
    # The links no longer say ver=basic, and the classifier alone would not say basic.
    assert all("ver" not in dict(parse_qsl(urlsplit(p.url).query)) for p in client.history[1:])
    assert rendition_for_ua(NOKIA_S40) != "basic"


def test_s40_at_root_gets_the_classifiers_rendition_and_no_sid_until_a_session(
    demo_app, cod_region_names
):
    expected = rendition_for_ua(NOKIA_S40)
    assert expected == "color"  # Series 40 with the /2.0 XHTML-MP browser
    category, first_title = first_category(demo_app)
    _deal, _product, deal_title = pick_deal(demo_app, expected)
    client = phone(FlaskTransport(demo_app))
    client.open("/")
    client.follow(category)
    client.follow(first_title)
    client.follow_accesskey("0")
    client.follow(deal_title)
    assert [sids(p) for p in client.history] == [set()] * len(client.history)
    confirmation = reach_confirmation(client, cod_region_names)
    assert sids(confirmation), "the order form's session must travel in its URLs"
    assert_walk(client, expected)


# --- Buying.


def pick_deal(app, rendition: str) -> tuple[int, int, str]:
    """(deal id, product id, title) of a deal on the rendition's home page with room for
    QUANTITY units for one buyer."""
    with app.app_context():
        shown = catalog.home(rendition, utcnow(), app.config["PAGE_SIZE"][rendition]).deals
        deal = next(
            d
            for d in shown
            if min(d.remaining, d.per_buyer_limit, d.product.stock) >= QUANTITY
            and not d.product.options  # sold in one form: this checkout names no variant
        )
        return deal.id, deal.product_id, deal.product.title


def stock_and_sold(app, product_id: int, deal_id: int | None = None) -> tuple[int, int | None]:
    with app.app_context():
        deal = db.session.get(Deal, deal_id) if deal_id else None
        return db.session.get(Product, product_id).stock, deal.sold if deal else None


class Placed(NamedTuple):
    number: str
    goods_fen: int
    total_fen: int
    status: str
    items: list[tuple[int, int | None, int]]  # product, deal, quantity
    events: list[str]  # to_status of each event


def orders_of(app, mobile: str) -> list[Placed]:
    """The orders of a mobile number, read in a fresh app context."""
    with app.app_context():
        return [
            Placed(
                o.number,
                o.goods_fen,
                o.total_fen,
                o.status,
                [(i.product_id, i.deal_id, i.quantity) for i in o.items],
                [e.to_status for e in o.events],
            )
            for o in db.session.scalars(select(Order).where(Order.phone == mobile))
        ]


def status_text(app, status: str) -> str:
    with app.test_request_context():
        return str(STATUS_TEXT[status])


@pytest.mark.parametrize("rendition", ["wml", "basic", "color"])
def test_buys_a_deal_end_to_end(demo_app, cod_region_names, rendition):
    deal_id, product_id, title = pick_deal(demo_app, rendition)
    stock, sold = stock_and_sold(demo_app, product_id, deal_id)
    mobile = new_mobile()
    client = phone(FlaskTransport(demo_app), rendition)
    client.open(f"/?ver={rendition}")
    client.follow(title)
    reach_confirmation(client, cod_region_names)
    changed = client.submit("提交订单", order_fields(mobile, QUANTITY))
    # A new quantity is a new total: shown before anything is ordered.
    assert f"数量已改为 {QUANTITY} 件" in changed.visible_text
    assert orders_of(demo_app, mobile) == []
    placed = client.submit("提交订单")

    [order] = orders_of(demo_app, mobile)
    with demo_app.app_context():
        deal_price = db.session.get(Deal, deal_id).deal_price_fen
    assert order.goods_fen == deal_price * QUANTITY
    # The total shown with the new quantity (goods + the demo's shipping) is what was ordered.
    assert order.total_fen > order.goods_fen
    assert format_fen(deal_price) in changed.visible_text
    assert format_fen(order.total_fen) in changed.visible_text
    assert order.items == [(product_id, deal_id, QUANTITY)]
    assert stock_and_sold(demo_app, product_id, deal_id) == (stock - QUANTITY, sold + QUANTITY)
    assert order.events == [order.status]

    assert urlsplit(placed.url).path == f"/buy/done/{order.number}"
    assert order.number in placed.visible_text
    assert format_fen(order.total_fen) in placed.visible_text
    assert f"客服将致电 {masked(mobile)} 确认订单" in placed.visible_text
    shown = client.follow("查看订单")
    assert order.number in shown.visible_text
    assert status_text(demo_app, order.status) in shown.visible_text
    assert_walk(client, rendition)


@pytest.mark.parametrize("rendition", ["wml", "basic"])
def test_submitting_the_confirmation_twice_places_one_order(demo_app, cod_region_names, rendition):
    _deal, product_id, title = pick_deal(demo_app, rendition)
    stock, _sold = stock_and_sold(demo_app, product_id)
    mobile = new_mobile()
    client = phone(FlaskTransport(demo_app), rendition)
    client.open(f"/?ver={rendition}")
    client.follow(title)
    reach_confirmation(client, cod_region_names)
    client.submit("提交订单", order_fields(mobile, QUANTITY))
    first = client.submit("提交订单")
    again = client.resubmit()
    # The same order, shown to this phone (on a fresh sid: showing it is a grant of access).
    assert again.status == 200 and urlsplit(again.url).path == urlsplit(first.url).path
    assert len(orders_of(demo_app, mobile)) == 1
    assert stock_and_sold(demo_app, product_id)[0] == stock - QUANTITY
    assert_walk(client, rendition)


# --- Renditions and sessions.


@pytest.mark.parametrize("user_agent", [UP_BROWSER_4, NOKIA_S40])
def test_wml_only_accept_gets_wml_without_ver(demo_app, user_agent):
    """Whatever the User-Agent says (S40 alone would get color), Accept decides first."""
    category, _title = first_category(demo_app)
    client = WapClient(FlaskTransport(demo_app), user_agent, WML_ACCEPT)
    home = client.open("/")
    assert home.content_type == "text/vnd.wap.wml; charset=utf-8"
    client.follow(category)
    assert_walk(client, "wml")
    assert all("ver" not in dict(parse_qsl(urlsplit(p.url).query)) for p in client.history)


@pytest.mark.parametrize("rendition", ["wml", "basic", "color"])
def test_sid_never_leaves_the_site(demo_app, cod_region_names, rendition):
    _deal, _product, title = pick_deal(demo_app, rendition)
    client = phone(FlaskTransport(demo_app), rendition)
    client.open(f"/?ver={rendition}")
    client.follow(title)
    reach_confirmation(client, cod_region_names)
    client.open(f"/p/99999999?sid={only_sid(client.page)}")  # error pages have links too
    assert all(sids(p) for p in client.history), "every page carries the sid"
    for page in client.history:
        assert_sid_stays_home(page, client.transport.base_url)


def expire(app, sid: str) -> None:
    with app.app_context():
        db.session.get(WebSession, sid).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()


@pytest.mark.parametrize("stale", ["unknown", "expired"])
def test_stale_sid_in_url_gets_a_fresh_session(demo_app, stale):
    client = phone(FlaskTransport(demo_app))
    sid = only_sid(client.open("/?ver=wml"))
    if stale == "expired":
        expire(demo_app, sid)
    else:
        sid = secrets.token_urlsafe(16)
    page = client.open(f"/?sid={sid}")
    assert page.status == 200
    assert rendition_of(page) == rendition_for_ua(NOKIA_S40) != "wml"  # ver=wml is forgotten
    assert sids(page) == set()
    fresh = client.open(f"/?ver=basic&sid={sid}")
    assert fresh.status == 200 and only_sid(fresh) != sid
    with demo_app.app_context():
        stored = db.session.get(WebSession, sid)
        assert stored is None or stored.expires_at <= utcnow()
        assert db.session.get(WebSession, only_sid(fresh)) is not None


# --- Sizes, the address line, and a returning buyer's three pages.


@pytest.fixture(scope="module")
def shoe(demo_app) -> dict:
    """A shoe in sizes 38-41 (41 sold out) in the demo's last category; ids by size."""
    with demo_app.app_context():
        category = db.session.scalars(select(Product.category_id).order_by(Product.id)).all()[-1]
        seller = db.session.scalar(select(Product.seller_id).order_by(Product.id).limit(1))
        product = make_product_with_options(
            options=(("尺码", ("38", "39", "40", "41")),),
            stock={"38": 5, "39": 5, "40": 5, "41": 0},
            category_id=category,
            seller_id=seller,
            title="飞跃帆布鞋",
        )
        db.session.commit()
        return {"product": product.id, **{v.label: v.id for v in product.variants}}


def lines_of(app, mobile: str) -> list[tuple[str, int]]:
    with app.app_context():
        return [
            (i.variant_label, i.quantity)
            for o in db.session.scalars(select(Order).where(Order.phone == mobile))
            for i in o.items
        ]


@pytest.mark.parametrize("rendition", ["wml", "basic", "color"])
def test_buys_a_shoe_in_a_chosen_size_typing_one_address_line(
    demo_app, cod_region_names, shoe, rendition
):
    mobile = new_mobile()
    client = phone(FlaskTransport(demo_app), rendition)
    product = client.open(f"/p/{shoe['product']}?ver={rendition}")
    assert "41" in product.visible_text and "已售完" in product.visible_text
    with pytest.raises(BrowserError):  # shown, but not among the choices
        client.page.submission("立即购买", {"v": str(shoe["41"])})
    confirm = client.submit("立即购买", {"v": str(shoe["39"])})
    assert "飞跃帆布鞋" in confirm.visible_text and "39" in confirm.visible_text
    address = "".join(cod_region_names) + "人民路100号3单元"
    fields = {"address": address, "name": "张三", "phone": mobile}
    checked = client.submit("下一步", fields)
    assert "".join(cod_region_names) in checked.visible_text  # the region, to confirm
    assert orders_of(demo_app, mobile) == []
    placed = client.submit("提交订单")
    assert lines_of(demo_app, mobile) == [("39", 1)]
    assert "飞跃帆布鞋 39" in placed.visible_text
    [order] = orders_of(demo_app, mobile)
    assert format_fen(order.total_fen) in placed.visible_text
    assert_walk(client, rendition)


@pytest.mark.parametrize("rendition", ["wml", "basic", "color", "touch"])
def test_a_returning_buyer_goes_product_confirmation_placed_in_three_pages(
    demo_app, cod_region_names, shoe, rendition
):
    mobile = new_mobile()
    client = phone(FlaskTransport(demo_app), rendition)
    client.open(f"/p/{shoe['product']}?ver={rendition}")
    client.submit("立即购买", {"v": str(shoe["38"])})
    address = "".join(cod_region_names) + "人民路100号3单元"
    client.submit("下一步", {"address": address, "name": "张三", "phone": mobile})
    client.submit("提交订单")
    assert lines_of(demo_app, mobile) == [("38", 1)]
    # Back on the same phone, later: the session remembers the address, receiver and phone.
    start = len(client.history)
    client.open(f"/p/{shoe['product']}?sid={only_sid(client.page)}")  # e.g. a bookmark
    confirm = client.submit("立即购买", {"v": str(shoe["40"])})
    assert mobile in confirm.text and "人民路100号3单元" in confirm.text
    placed = client.submit("提交订单")
    walked = client.history[start:]
    pages = [p for p in walked if p.status not in REDIRECTS]
    assert [urlsplit(p.url).path for p in pages] == [
        f"/p/{shoe['product']}",
        f"/buy/{shoe['product']}",
        urlsplit(placed.url).path,
    ]
    # Requests: the pages, plus the order's redirect (and on XHTML the choice's: the form
    # posts the chosen size, WML's 立即购买 is a GET carrying it).
    assert len(walked) == (4 if rendition == "wml" else 5)
    assert lines_of(demo_app, mobile) == [("38", 1), ("40", 1)]
    assert_walk(client, rendition)
