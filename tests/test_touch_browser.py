"""The touch rendition in a real browser: headless Chromium through Playwright, against gunicorn
over the demo database, with JavaScript off (the floor every flow must work on) and on.

Screenshots land in tests/artifacts/ for a human to look at."""

import re
import struct
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from conftest import require_tool
from factories import make_product_with_options
from wapshop.extensions import db
from wapshop.models import Buyer, Deal, Order, OrderStatus, Product, Variant
from wapshop.clock import utcnow
from wapshop.money import format_fen
from wapshop.services import accounts, catalog
from wapshop.services.members import coupons, points
from wapshop.services.orders import STATUS_TEXT

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHROMIUM = "/usr/bin/chromium"
# We run as root on a closed network: no sandbox, and none of Chromium's own phoning home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SMARTPHONE_UA = (
    "Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)
VIEWPORT = {"width": 360, "height": 640}
# 广东省 › 深圳市 › 南山区: covered by a cash-on-delivery carrier in the demo data.
REGION_CLICKS = ("广东省", "深圳市", "南山区")
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    require_tool(CHROMIUM, "touch rendition browser tests")
    from playwright.sync_api import sync_playwright

    # Debian's Chromium only: Playwright must never fetch a browser of its own.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        yield browser
        browser.close()


class Tab:
    """A page in its own browser context that records what went wrong while it was open."""

    def __init__(self, browser, base_url: str, javascript: bool):
        self.context = browser.new_context(
            base_url=base_url,
            java_script_enabled=javascript,
            viewport=VIEWPORT,
            user_agent=SMARTPHONE_UA,
            locale="zh-CN",
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("console", self._console)
        self.page.on(
            "requestfailed",
            lambda req: self.problems.append(f"failed: {req.url} {req.failure}"),
        )
        self.page.on("response", self._response)

    def _response(self, res) -> None:
        if res.status >= 400:
            self.problems.append(f"{res.status} {res.url}")
        # Every page is under the shop's Content-Security-Policy, so a style, image or form
        # it blocks shows up below as a console error ("Refused to ...") and fails the test.
        if res.request.resource_type == "document" and not res.headers.get(
            "content-security-policy"
        ):
            self.problems.append(f"no Content-Security-Policy: {res.url}")

    def _console(self, msg) -> None:
        url = msg.location.get("url", "")
        # The browser asks for /favicon.ico on its own; the shop has none (a known gap).
        if msg.type == "error" and not url.endswith("/favicon.ico"):
            self.problems.append(f"console: {msg.text} at {url}")

    def goto(self, path: str):
        response = self.page.goto(path)
        assert response is not None and response.ok, (path, response and response.status)
        return response

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(browser, live_server):
    """tabs(javascript=...) opens a 360×640 smartphone tab on the live server; all closed after."""
    opened: list[Tab] = []

    def open_tab(javascript: bool) -> Tab:
        if live_server.process.poll() is not None:  # say why, rather than "connection refused"
            live_server.log.seek(0)
            pytest.fail("gunicorn has exited:\n" + live_server.log.read().decode()[-4000:])
        tab = Tab(browser, live_server.url, javascript)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


def assert_png(path: Path, width: int) -> None:
    """A real PNG of the viewport's width and at least its height, with something drawn on it."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert data[12:16] == b"IHDR", path
    png_width, png_height = struct.unpack(">II", data[16:24])
    assert png_width == width, (path, png_width)
    assert png_height >= VIEWPORT["height"], (path, png_height)
    # A blank 360×640 page compresses to a few hundred bytes; a rendered one is far bigger.
    assert len(data) > 10_000, (path, len(data))


def touch_deal(demo_app, quantity: int = 1) -> dict:
    """A running deal shown on touch with units and stock left for `quantity`, as plain values."""
    now = utcnow()
    with demo_app.app_context():
        deals = db.session.scalars(catalog.running_deals(now)).all()
        deal = next(
            d
            for d in deals
            if d.shown_to("touch")
            and d.remaining >= quantity
            and d.per_buyer_limit >= quantity
            and d.product.stock >= quantity
            and not d.product.options  # sold in one form: this checkout names no variant
            and d.ends_at - now > timedelta(minutes=10)  # still running when we submit
        )
        return {
            "deal_id": deal.id,
            "product_id": deal.product_id,
            "title": deal.product.title,
            "price_fen": deal.deal_price_fen,
            "market_fen": deal.product.market_price_fen,
        }


def stock_and_sold(demo_app, product_id: int, deal_id: int) -> tuple[int, int]:
    with demo_app.app_context():
        return (
            db.session.get(Product, product_id).stock,
            db.session.get(Deal, deal_id).sold,
        )


def test_touch_home_renders_deals_and_footer_without_javascript(demo_app, tabs):
    deal = touch_deal(demo_app)
    tab = tabs(javascript=False)
    response = tab.goto("/")  # the smartphone User-Agent alone chooses touch
    assert response.headers["content-type"].startswith("text/html")
    page = tab.page

    expect(page.get_by_role("heading", name="今日特价")).to_be_visible()
    card = page.locator(".grid li").filter(has_text=deal["title"])
    expect(card.get_by_text(format_fen(deal["price_fen"]), exact=True)).to_be_visible()
    footer = page.locator("footer")
    for other in ("简版", "彩版"):
        expect(footer.get_by_role("link", name=other, exact=True)).to_be_visible()
    # The current rendition is named but not linked.
    expect(footer.locator("b")).to_have_text("触屏版")
    expect(footer.get_by_role("link", name="触屏版")).to_have_count(0)
    # Laid out for the phone: nothing wider than the 360 px viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]

    shot = tab.screenshot("touch-home.png")
    assert tab.problems == []
    assert_png(shot, VIEWPORT["width"])


def test_touch_product_page_renders_without_javascript(demo_app, tabs):
    deal = touch_deal(demo_app)
    tab = tabs(javascript=False)
    tab.goto(f"/p/{deal['product_id']}?ver=touch")
    page = tab.page

    expect(page.get_by_role("heading", level=1, name=deal["title"])).to_be_visible()
    expect(page.locator(".deal .price")).to_have_text(format_fen(deal["price_fen"]))
    expect(page.locator(".deal .market")).to_have_text(format_fen(deal["market_fen"]))
    expect(page.get_by_role("link", name="立即购买")).to_be_visible()
    image = page.locator("article.product img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]

    shot = tab.screenshot("touch-product.png")
    assert tab.problems == []
    assert_png(shot, VIEWPORT["width"])


@pytest.mark.parametrize(
    ("javascript", "phone"),
    [(False, "13812340001"), (True, "13812340002")],
    ids=["js-off", "js-on"],
)
def test_touch_buyer_orders_checks_and_cancels(demo_app, tabs, javascript, phone):
    quantity = 2
    deal = touch_deal(demo_app, quantity)
    stock_before, sold_before = stock_and_sold(demo_app, deal["product_id"], deal["deal_id"])
    tab = tabs(javascript=javascript)
    page = tab.page
    suffix = "js-on" if javascript else "js-off"

    tab.goto(f"/p/{deal['product_id']}?ver=touch")
    page.get_by_role("link", name="立即购买").click()
    page.get_by_role("link", name="选择地区").click()  # the pick list, instead of the line
    tab.screenshot(f"touch-region-{suffix}.png")
    for name in REGION_CLICKS:
        page.locator("main").get_by_role("link", name=name, exact=True).click()
    expect(page.locator("main")).to_contain_text("广东省深圳市南山区")
    page.get_by_label("数量").fill(str(quantity))
    page.get_by_label("收货人").fill("张小明")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("详细地址").fill("科技园南区12栋301")
    cod = page.locator("input[name=payment][value=cod]")  # 货到付款 is offered in 南山区
    cod.check()
    expect(cod).to_be_checked()
    tab.screenshot(f"touch-confirm-{suffix}.png")
    page.get_by_role("button", name="提交订单").click()
    # A new quantity is a new total, shown before the order.
    expect(page.locator("main")).to_contain_text(f"数量已改为 {quantity} 件")
    page.get_by_role("button", name="提交订单").click()

    page.wait_for_url(re.compile(r"/buy/done/\d+"))
    placed = page.locator("main").inner_text()
    number = re.search(r"订单号\s*[:：]\s*(\d{10})", placed).group(1)
    assert f"客服将致电 {phone[:3]}****{phone[-4:]}" in placed
    assert format_fen(deal["price_fen"] * quantity) in placed
    tab.screenshot(f"touch-placed-{suffix}.png")

    page.get_by_role("link", name="查看订单").click()
    page.wait_for_url(re.compile(rf"/o/{number}"))
    with demo_app.test_request_context():  # the locale selector reads the request
        placed_text = str(STATUS_TEXT[OrderStatus.PLACED])
        cancelled_text = str(STATUS_TEXT[OrderStatus.CANCELLED])
    shown = page.locator("main").inner_text()
    assert placed_text in shown and number in shown

    with demo_app.app_context():
        assert db.session.scalar(select(func.count()).where(Order.number == number)) == 1
        assert db.session.scalar(select(func.count()).where(Order.phone == phone)) == 1
        order = db.session.scalar(select(Order).where(Order.number == number))
        assert order.status == OrderStatus.PLACED
        assert order.rendition == "touch"
        assert order.payment_method == "cod"
        assert order.goods_fen == deal["price_fen"] * quantity
        assert [(i.product_id, i.quantity) for i in order.items] == [(deal["product_id"], quantity)]
    assert stock_and_sold(demo_app, deal["product_id"], deal["deal_id"]) == (
        stock_before - quantity,
        sold_before + quantity,
    )

    page.get_by_role("link", name="取消订单").click()  # a question first
    page.get_by_role("button", name="确认取消").click()
    expect(page.locator("main")).to_contain_text(cancelled_text)
    expect(page.get_by_role("link", name="取消订单")).to_have_count(0)
    tab.screenshot(f"touch-order-{suffix}.png")
    with demo_app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        assert order.status == OrderStatus.CANCELLED
    assert stock_and_sold(demo_app, deal["product_id"], deal["deal_id"]) == (
        stock_before,
        sold_before,
    )
    assert tab.problems == []


def test_the_content_security_policy_is_enforced_and_its_violations_caught(tabs):
    """The check the other tests rely on: a blocked inline script is reported as a problem."""
    tab = tabs(javascript=True)
    tab.goto("/?ver=touch")
    assert tab.problems == []
    with tab.page.expect_console_message(lambda msg: "Content Security Policy" in msg.text):
        tab.page.evaluate(  # as an injected <script> would: Playwright's own calls are exempt
            """() => {
                const script = document.createElement("script");
                script.textContent = "document.body.dataset.ran = 'yes'";
                document.body.append(script);
            }"""
        )
    assert tab.page.evaluate("document.body.dataset.ran") is None  # it never ran
    assert any("Content Security Policy" in p for p in tab.problems), tab.problems


@pytest.fixture(scope="module")
def touch_shoe(demo_app) -> dict:
    """A shoe in sizes 38-40 (40 sold out), with the demo's first seller and category."""
    with demo_app.app_context():
        first = db.session.scalar(select(Product).order_by(Product.id).limit(1))
        shoe = make_product_with_options(
            options=(("尺码", ("38", "39", "40")),),
            stock={"38": 10, "39": 10, "40": 0},
            category_id=first.category_id,
            seller_id=first.seller_id,
            title="回力高帮鞋",
        )
        db.session.commit()
        return {"product": shoe.id, **{v.label: v.id for v in shoe.variants}}


@pytest.mark.parametrize(
    ("javascript", "phone"),
    [(False, "13812340011"), (True, "13812340012")],
    ids=["js-off", "js-on"],
)
def test_touch_buyer_chooses_a_size_chip_and_types_one_address_line(
    demo_app, tabs, touch_shoe, javascript, phone
):
    tab = tabs(javascript=javascript)
    page = tab.page
    suffix = "js-on" if javascript else "js-off"
    tab.goto(f"/p/{touch_shoe['product']}?ver=touch")
    sold_out = page.locator(f"input[name=v][value='{touch_shoe['40']}']")
    expect(sold_out).to_be_disabled()  # shown, not choosable
    page.locator(".vchip", has_text="39").click()  # the chip is the radio's label
    expect(page.locator(f"input[name=v][value='{touch_shoe['39']}']")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    tab.screenshot(f"touch-sizes-{suffix}.png")
    page.get_by_role("button", name="立即购买").click()
    expect(page.locator("main")).to_contain_text("回力高帮鞋 39")
    page.get_by_label("收货地址").fill("广东省深圳市南山区科技园南区12栋301")
    page.get_by_label("收货人").fill("张小明")
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("main")).to_contain_text("广东省深圳市南山区")
    expect(page.get_by_label("详细地址")).to_have_value("科技园南区12栋301")
    page.get_by_role("button", name="提交订单").click()
    page.wait_for_url(re.compile(r"/buy/done/\d+"))
    expect(page.locator("main")).to_contain_text("回力高帮鞋 39")
    tab.screenshot(f"touch-placed-size-{suffix}.png")
    with demo_app.app_context():
        order = db.session.scalar(select(Order).where(Order.phone == phone))
        assert [(i.variant_label, i.quantity) for i in order.items] == [("39", 1)]
        assert order.street == "科技园南区12栋301" and order.region_text == "广东省深圳市南山区"
    assert tab.problems == []


def test_touch_member_types_a_code_and_uses_points_at_checkout(demo_app, tabs, touch_shoe):
    """A logged-in buyer on touch: 1.00 off with a public code and 100 points (1.00) off, seen
    before placing; the order carries exactly that discount."""
    phone, password = "13812340021", "touch-pass-1"
    with demo_app.app_context():
        db.session.add(Buyer(phone=phone, password_hash=accounts.hash_password(password)))
        now = utcnow()
        coupons.create_coupon(
            coupons.CouponInput(
                name="触屏一元券", kind="fixed", amount_fen=100, percent_bp=0, max_off_fen=None,
                min_goods_fen=0, starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=1), category_ids=(), product_ids=(), public=True,
                stackable=True, total_cap=None, per_phone_cap=1, code="TOUCH1",
            ),
            None,
        )  # fmt: skip
        points.credit(phone, 100, "adjust", now - timedelta(days=1))
        db.session.commit()
    tab = tabs(javascript=False)
    page = tab.page
    tab.goto("/u/login?ver=touch")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/u(\?|$)"))  # the account page, loaded before we go on
    tab.goto(f"/p/{touch_shoe['product']}?ver=touch")
    page.locator(".vchip", has_text="38").click()
    page.get_by_role("button", name="立即购买").click()
    page.get_by_label("收货地址").fill("广东省深圳市南山区科技园南区12栋301")
    page.get_by_label("收货人").fill("张小明")
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("券码").fill("touch1")
    page.get_by_label("用100积分抵￥1.00").check()
    page.get_by_role("button", name="提交订单").click()
    expect(page.locator("main")).to_contain_text("已按所选优惠重新计算")
    expect(page.locator("main")).to_contain_text("优惠券：触屏一元券")
    expect(page.locator("main")).to_contain_text("积分抵扣（100积分）")
    page.get_by_role("button", name="提交订单").click()
    page.wait_for_url(re.compile(r"/buy/done/\d+"))
    with demo_app.app_context():
        order = db.session.scalar(select(Order).where(Order.phone == phone))
        shoe = db.session.get(Product, touch_shoe["product"])
        price = db.session.get(Variant, touch_shoe["38"]).price_fen or shoe.shop_price_fen
        assert order.goods_fen == price
        assert order.discount_fen == 100 + 100
        assert order.total_fen == price + order.shipping_fen - 200
        assert points.balance(phone, utcnow()) == 0
    expect(page.locator("main")).to_contain_text(format_fen(order.total_fen))
    assert tab.problems == []
