"""Markup validity, content types and byte budgets of every buyer page, on the demo data.

WML decks validate against WML 1.1 and basic/color pages against XHTML-MP 1.2, offline; touch
pages parse as HTML5. Sizes come from a client that keeps no cookies (a sid in every URL)."""

import io
import os
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from lxml import etree, html
from PIL import Image
from sqlalchemy import select

from conftest import require_tool, sibling_app
from factories import make_product_with_options
from support.buyers import sent_code
from support.members import arrange_member, coupon
from support.fulfilment import walk
from support.staff import add_staff, staff_named
from wapshop.forms.checkout import NAME_MAX, STREET_MAX
from wapclient import (
    BrowserError,
    FlaskTransport,
    Response,
    WapClient,
    footer_versions,
    only_sid,
)
from wapshop.extensions import db
from wapshop import sandbox
from wapshop.models import (
    Category,
    CodCoverage,
    Coupon,
    Collection,
    Deal,
    Order,
    Payment,
    Product,
    Region,
    SandboxNotification,
)
from wapshop.clock import utcnow
from wapshop.renditions import RENDITIONS, targets
from wapshop.payments import http
from wapshop.payments.card import FACE_VALUES_YUAN, PrepaidCard
from wapshop.payments.cod import CashOnDelivery
from wapshop.services import catalog, fulfilment, regions
from wapshop.services.members import promotions
from wapshop.services.checkout import MAX_LINES

# libxml2 reads the catalog on first use, so this must run before any DTD is loaded.
DTD_CATALOG = Path(__file__).resolve().parent / "data" / "dtd" / "catalog.xml"
os.environ["XML_CATALOG_FILES"] = str(DTD_CATALOG)

BUDGET = {"wml": 2000, "basic": 6144, "color": 10240, "touch": 16384}
COLOR_WITH_IMAGES = 20480
# touch: markup plus its images at 1x (the srcset 2x variants go only to dense screens).
TOUCH_WITH_IMAGES = 32768
XHTML_MP = "application/vnd.wap.xhtml+xml"
PHONES = {
    "wml": ("Nokia7110/1.0 (05.01)", "text/vnd.wap.wml"),
    "basic": (
        "SAMSUNG-SGH-E250/1.0 Profile/MIDP-2.0 Configuration/CLDC-1.1 UP.Browser/6.2.3.3.c.1.101",
        f"{XHTML_MP},application/xhtml+xml;q=0.9,*/*;q=0.5",
    ),
    "color": (
        "Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1",
        f"{XHTML_MP},text/html;q=0.8,*/*;q=0.5",
    ),
    "touch": (
        "Mozilla/5.0 (Linux; Android 4.4.2; HM NOTE 1LTE) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/30.0.0.0 Mobile Safari/537.36",
        "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
    ),
}
CONTENT_TYPE = {
    "wml": "text/vnd.wap.wml; charset=utf-8",
    "basic": f"{XHTML_MP}; charset=utf-8",
    "color": f"{XHTML_MP}; charset=utf-8",
    "touch": "text/html; charset=utf-8",
}
# The largest a buyer may type: the form's maximum lengths (收货人, 详细地址).
LONGEST_NAME = ("欧阳" * NAME_MAX)[:NAME_MAX]
LONGEST_STREET = ("幸福村委会第三村民小组" * 11)[:STREET_MAX]
PAGES = (
    "home", "more-deals", "category", "subcategory", "category-page-2", "collection", "product-deal",
    "product-plain", "product-sold-out", "search-hits", "search-page-2", "search-none",
    "region-provinces", "region-cities", "region-districts", "confirm-cod", "confirm-no-cod",
    "confirm-errors", "placed", "order", "orders", "find", "login", "register", "register-code",
    "account", "error-404", "error-400",
    "online-confirm-cod", "online-confirm-no-cod",
    "pay-awaiting", "pay-card-errors", "pay-processing", "pay-failed", "pay-paid",
    "members", "members-checked-in",
    "product-options", "confirm-address", "cart", "cart-confirm", "cart-placed",
    "cart-confirm-members",
)  # fmt: skip
STATUS = {"confirm-errors": 400, "error-404": 404, "error-400": 400, "pay-card-errors": 400}


def with_params(url: str, **params) -> str:
    """The URL with parameters added (a phone keeps what the page gave it; tests type more)."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    return parts._replace(query=query).geturl()


@dataclass(frozen=True)
class Demo:
    """What the demo catalogue offers, read from its database once."""

    top_category: int
    subcategory: int
    collection: str
    deal_product: int
    plain_product: int
    sold_out_product: int | None
    search_hit: str
    longest_title_product: int
    cod_path: tuple[str, str, str]  # province, city, district with cash on delivery
    no_cod_district: str
    categories: tuple[int, ...]
    collections: tuple[tuple[str, str], ...]  # slug, the renditions it is shown to
    products: tuple[int, ...]
    confirm_products: tuple[int, ...]  # every deal's, and the five longest titles
    widest_provinces: tuple[str, ...]  # candidates for the largest list of cities
    widest_cities: tuple[str, ...]  # and of districts
    search_words: tuple[str, ...]
    options_product: int  # the product with the most variants
    cart_products: tuple[int, ...]  # the largest cart: as many lines as allowed, longest titles


def _widest(all_regions: dict[str, Region], level: int) -> tuple[str, ...]:
    """Regions of a level whose pick list no other beats in both entries and name bytes (its
    path's names included): a list page grows by a fixed cost per entry plus the names, so
    its largest instance is one of these whatever that cost is."""
    size: dict[str, list[int]] = {c: [0, 0] for c, r in all_regions.items() if r.level == level}
    for region in all_regions.values():
        if region.parent_code in size:
            size[region.parent_code][0] += 1
            size[region.parent_code][1] += len(region.name.encode())
    for code, entry in size.items():
        entry[1] += sum(len(r.name.encode()) for r in regions.path(all_regions[code]))
    return tuple(
        code
        for code, (n, b) in size.items()
        if not any(m >= n and c >= b and [m, c] != [n, b] for m, c in size.values())
    )


def _longest_districts(all_regions: dict[str, Region]) -> tuple[str, str]:
    """The COD-covered and the uncovered district with the longest full names."""
    covered = set(db.session.scalars(select(CodCoverage.region_code)))
    best: dict[bool, tuple[int, str]] = {}
    for region in all_regions.values():
        if region.level != regions.DISTRICT:
            continue
        has_cod = any(r.code in covered for r in regions.path(region))
        size = len(regions.full_name(region).encode())
        best[has_cod] = max(best.get(has_cod, (0, "")), (size, region.code))
    cod, no_cod = all_regions[best[True][1]], all_regions[best[False][1]]
    assert regions.cod_carrier(cod) is not None and regions.cod_carrier(no_cod) is None
    return cod.code, no_cod.code


def read_demo() -> Demo:
    now = utcnow()
    products = db.session.scalars(select(Product).where(Product.active).order_by(Product.id)).all()
    tops = catalog.top_categories()
    per_top = {c.id: catalog.category_products(c, 1, 1).total for c in tops}
    deals = [d for d in db.session.scalars(catalog.running_deals(now)) if d.remaining > 0]
    # Bought below: goods sold in one form (these pages' checkout names no variant).
    deals = [d for d in deals if not d.product.options] + [d for d in deals if d.product.options]
    on_deal = {d.product_id for d in db.session.scalars(select(Deal))}
    all_regions = {r.code: r for r in db.session.scalars(select(Region))}
    cod, no_cod = _longest_districts(all_regions)
    # Bought without choosing (/buy/<id>): products sold in one form.
    in_stock = [p for p in products if p.stock >= len(RENDITIONS) and len(p.variants) == 1]
    longest = sorted(in_stock, key=lambda p: (len(p.title.encode()), p.id), reverse=True)
    shown_everywhere = [
        c.slug
        for c in db.session.scalars(select(Collection).order_by(Collection.position))
        if all(c.shown_to(r) for r in RENDITIONS) and c.products
    ]
    letters = Counter(ch for p in products for ch in set(p.title) if "\u4e00" <= ch <= "\u9fff")
    sold_out = [p.id for p in products if p.stock == 0]
    most_variants = max(products, key=lambda p: (len(p.variants), p.id))
    cart = [p.id for p in longest if p.id != most_variants.id][: MAX_LINES - 1]
    return Demo(
        top_category=max(per_top, key=per_top.get),
        subcategory=next(c.id for c in tops[0].children),
        collection=shown_everywhere[0],
        deal_product=deals[0].product_id,
        plain_product=next(p.id for p in products if p.stock > 10 and p.id not in on_deal),
        sold_out_product=sold_out[0] if sold_out else None,
        search_hit=products[0].title,
        longest_title_product=longest[0].id,
        cod_path=tuple(r.code for r in regions.path(all_regions[cod])),
        no_cod_district=no_cod,
        categories=tuple(db.session.scalars(select(Category.id).order_by(Category.id))),
        collections=tuple((c.slug, c.renditions) for c in db.session.scalars(select(Collection))),
        products=tuple(p.id for p in products),
        confirm_products=tuple(
            sorted(
                {d.product_id for d in deals if not d.product.options} | {p.id for p in longest[:5]}
            )
        ),
        widest_provinces=_widest(all_regions, 1),
        widest_cities=_widest(all_regions, 2),
        search_words=tuple(ch for ch, _n in letters.most_common(3)),
        options_product=most_variants.id,
        cart_products=(most_variants.id, *cart),
    )


class Phone:
    """A cookie-less phone in one rendition, which remembers every page it saw by name."""

    def __init__(self, app, rendition: str, demo: Demo, number: str):
        user_agent, accept = PHONES[rendition]
        self.client = WapClient(FlaskTransport(app), user_agent, accept)
        self.app = app
        self.demo = demo
        self.rendition = rendition
        self.number = number
        self.client.open(f"/?ver={rendition}")

    def visit(self, path: str) -> Response:
        """Open a path carrying the session, as a bookmark saved from the phone would."""
        return self.client.open(with_params(path, sid=only_sid(self.client.page)))

    @cached_property
    def pages(self) -> dict[str, Response]:
        demo, home = self.demo, self.client.page
        province, city, district = demo.cod_path
        buy = f"/buy/{demo.longest_title_product}"
        seen = {"home": home}
        paths = {
            "more-deals": "/deals",
            "category": f"/c/{demo.top_category}",
            "subcategory": f"/c/{demo.subcategory}",
            "category-page-2": f"/c/{demo.top_category}?page=2",
            "collection": f"/z/{demo.collection}",
            "product-deal": f"/p/{demo.deal_product}",
            "product-plain": f"/p/{demo.plain_product}",
            "search-hits": "/s?" + urlencode({"q": demo.search_hit}),
            "search-none": "/s?q=zzqxj",
            "region-provinces": f"{buy}?pick=1",
            "region-cities": f"{buy}?region={province}",
            "region-districts": f"{buy}?region={city}",
            "find": "/o/find",
            "login": "/u/login",
            "register": "/u/register",
            "error-404": "/p/99999999",
            "error-400": f"/c/{demo.top_category}?page=x",
        }
        if demo.sold_out_product:
            paths["product-sold-out"] = f"/p/{demo.sold_out_product}"
        seen |= {name: self.visit(path) for name, path in paths.items()}
        # A search's second page, by its 下页 link (a keyed page, with nothing counted).
        self.visit("/s?" + urlencode({"q": demo.search_words[0]}))
        seen["search-page-2"] = self.client.follow("下页")
        seen["product-options"] = self.visit(f"/p/{demo.options_product}")
        seen["confirm-address"] = self.visit(buy)  # no region known yet: the one address line
        seen |= self.cart_pages()
        seen["confirm-errors"] = self._confirm_errors(f"{buy}?region={district}")
        seen |= self.confirmations()  # ends on the COD one, whose form is sent next
        seen["placed"] = self.client.submit("提交订单", self.order_fields())
        seen["order"] = self.client.follow("查看订单")
        seen["orders"] = self.visit("/o")
        self.visit("/u/register")
        password = {"password": "secret-123", "confirm": "secret-123"}
        seen["register-code"] = self.client.submit("注册", {"phone": self.number, **password})
        code = sent_code(self.app, self.number)
        seen["account"] = self.client.submit("确定", {"code": code})
        with self.app.app_context():
            arrange_member(self.number, utcnow(), self.app.config["PAGE_SIZE"][self.rendition])
            db.session.commit()
        seen["members"] = self.visit("/my")
        seen["members-checked-in"] = self.client.submit("签到领5积分")
        seen["cart-confirm-members"] = self.members_confirmation()
        return seen

    def members_confirmation(self) -> Response:
        """The largest cart's confirmation for the member arranged above (金卡: its discount
        and free shipping, coupons held), with 满减 running and the longest public code typed
        and all the points it can take: every discount line at once."""
        with self.app.app_context():
            now = utcnow()
            window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=9)}
            name = ("全场通用满减优惠券" * 5)[:40]
            code = f"M{self.number}{'X' * 8}"  # 20: the longest code
            if db.session.scalar(select(Coupon.id).where(Coupon.code == code)) is None:
                coupon(code, name=name, amount_fen=100, **window)
            promotions.create_promotion(
                promotions.PromotionInput(name, 100, 1, window["starts_at"], window["ends_at"]),
                None,
            )
            db.session.commit()
        self.fill_cart("99", add=True)
        confirm = self.visit(f"/cart/checkout?region={self.demo.cod_path[2]}")
        if confirm.is_wml:  # its own deck; the confirmation links it as its discount
            self.client.follow("优惠" if "优惠-" in confirm.visible_text else "用券")
        points = [el for el in self.client.page.find("input") + self.client.page.find("select")
                  if el.get("name") == "points"]  # fmt: skip
        offer = points[0].get("value") if points[0].get("type") == "checkbox" else None
        offer = offer or [o.get("value") for o in points[0].iter("{*}option")][-1]
        fields = {"coupon": code, "points": offer}
        if confirm.is_wml:
            page = self.client.submit("确定", fields)
        else:
            page = self.client.submit("提交订单", fields)
            assert "已按所选优惠重新计算" in page.visible_text, page.text
        assert ("优惠-" if page.is_wml else "积分抵扣") in page.visible_text
        assert "/buy/done" not in page.url
        return page

    def fill_cart(self, quantity: str, add: bool) -> Response:
        """The largest cart: every line the cart holds (added now, or already), each at
        `quantity`."""
        self.visit("/cart")
        if add:
            for product_id in self.demo.cart_products:
                page = self.visit(f"/p/{product_id}")
                self.client.submit("加入购物车", self._variant_fields(product_id, page))
        names = [el.get("name") for el in self.client.page.find("input")]
        lines = {name: quantity for name in names if name and name[0] == "q" and name[1:].isdigit()}
        assert len(lines) == len(self.demo.cart_products), self.client.page.url
        return self.client.submit("更新数量", lines)

    def _variant_fields(self, product_id: int, page: Response) -> dict[str, str]:
        """What choosing the in-stock variant with the longest label posts: its id (`v`), or
        on WML with several options each option's value as a pick list index (`o1`, `o2`…);
        nothing for a product sold in one form."""
        controls = [el for el in page.find("select") + page.find("input")]
        names = {el.get("name") or el.get("iname") for el in controls if el.get("type") != "hidden"}
        with self.app.app_context():
            product = db.session.get(Product, product_id)
            chosen = max((v for v in product.variants if v.stock > 0), key=lambda v: len(v.label))
            if "v" in names:
                return {"v": str(chosen.id)}
            return {
                f"o{i}": str(values.index(value) + 1)
                for i, ((_name, values), value) in enumerate(
                    zip(product.options, chosen.values), start=1
                )
                if f"o{i}" in names
            }

    def cart_pages(self) -> dict[str, Response]:
        """The largest cart (99 of each), its confirmation, and its purchase placed (one of
        each, across several sellers)."""
        seen = {"cart": self.fill_cart("99", add=True)}
        seen["cart-confirm"] = self.visit(f"/cart/checkout?region={self.demo.cod_path[2]}")
        self.fill_cart("1", add=False)
        self.visit(f"/cart/checkout?region={self.demo.cod_path[2]}")
        fields = {k: v for k, v in self.order_fields().items() if k != "quantity"}
        fields["phone"] = "1391" + self.number[4:]  # its deal units leave this phone's limit
        seen["cart-placed"] = self.client.submit("提交订单", fields)
        assert "/buy/done/" in seen["cart-placed"].url, seen["cart-placed"].text
        return seen

    def confirmations(self) -> dict[str, Response]:
        """The confirmation of the longest-titled product, without and with COD coverage."""
        buy = f"/buy/{self.demo.longest_title_product}"
        return {
            "confirm-no-cod": self.visit(f"{buy}?region={self.demo.no_cod_district}"),
            "confirm-cod": self.visit(f"{buy}?region={self.demo.cod_path[2]}"),
        }

    def order_fields(self) -> dict[str, str]:
        """The longest order a buyer can fill in, paid cash on delivery."""
        return {
            "quantity": "1",
            "name": LONGEST_NAME,
            "phone": self.number,
            "street": LONGEST_STREET,
            "payment": CashOnDelivery.code,
        }

    def _confirm_errors(self, path: str) -> Response:
        """The confirmation sent back to a buyer who typed the longest address and got the
        quantity and the phone number wrong: the largest form the page echoes."""
        self.visit(path)
        return self.client.submit(
            "提交订单", self.order_fields() | {"quantity": "0", "phone": "12"}
        )


def processors_in_process(app):
    """http.post_form answered by the app itself, through a test client: the sandbox card
    processor takes a card and its notification reaches the shop without a server."""
    client = app.test_client(use_cookies=False)

    def post_form(url: str, fields: dict, timeout: float = 10.0) -> tuple[int, str]:
        response = client.post(urlsplit(url)._replace(scheme="", netloc="").geturl(), data=fields)
        return response.status_code, response.get_data(as_text=True)

    return post_form


class PayingPhone(Phone):
    """A phone on the shop with online payments that pays an order by prepaid card through
    the sandbox, keeping the pay page in each state. The sandbox answers only when told to
    (SANDBOX_NOTIFY_DELAY < 0), so the page is seen while the card is processing."""

    # The sandbox's test cards: the serial's last digit decides (3 used, 1 paid).
    SERIAL_USED = "12345678901234563"
    SERIAL_PAYS = "12345678901234561"
    PASSWORD = "987654321098765432"

    def __init__(self, app, rendition: str, demo: Demo, number: str):
        super().__init__(app, rendition, demo, number)
        self.app = app

    @cached_property
    def pay_pages(self) -> dict[str, Response]:
        """The longest order a buyer can fill in, of the cheapest product (every card's face
        value pays it, so no list of face values can be shorter), paid by card: waiting for
        payment, the card form sent back with errors, the card processing, refused, and paid
        with a remainder."""
        self.visit(f"/buy/{self._cheapest_product()}?region={self.demo.cod_path[2]}")
        awaiting = self.client.submit(
            "提交订单", self.order_fields() | {"payment": PrepaidCard.code}
        )
        number = urlsplit(awaiting.url).path.rsplit("/", 1)[1]
        card = {"operator": "中国移动", "face": f"{self._face_yuan(number)}元"}
        seen = {"pay-awaiting": awaiting}
        seen["pay-card-errors"] = self.client.submit(
            "用充值卡付款", card | {"serial": "1234", "password": "12"}
        )
        seen["pay-processing"] = self.client.submit(
            "用充值卡付款", card | {"serial": self.SERIAL_USED, "password": self.PASSWORD}
        )
        self._processor_answers(number)
        seen["pay-failed"] = self.client.follow("刷新")
        self.client.submit(
            "用充值卡付款", card | {"serial": self.SERIAL_PAYS, "password": self.PASSWORD}
        )
        self._processor_answers(number)
        seen["pay-paid"] = self.client.follow("刷新")
        return seen

    def _cheapest_product(self) -> int:
        with self.app.app_context():
            return db.session.scalar(
                select(Product.id)
                .where(
                    Product.active,
                    Product.stock >= len(RENDITIONS),
                    Product.id.not_in(select(Deal.product_id)),
                )
                .order_by(Product.shop_price_fen, Product.id)
                .limit(1)
            )

    def _face_yuan(self, number: str) -> int:
        """The smallest card worth more than the order: it pays, and leaves a remainder."""
        with self.app.app_context():
            total = db.session.scalar(select(Order.total_fen).where(Order.number == number))
        return min(v for v in FACE_VALUES_YUAN if v * 100 > total)

    def _processor_answers(self, number: str) -> None:
        """The sandbox sends the notification it keeps for the order's latest payment."""
        with self.app.app_context():
            reference = db.session.scalar(
                select(Payment.reference)
                .join(Order, Payment.order_id == Order.id)
                .where(Order.number == number)
                .order_by(Payment.id.desc())
                .limit(1)
            )
            note = db.session.scalar(
                select(SandboxNotification.id).where(SandboxNotification.body.contains(reference))
            )
            assert sandbox.deliver(note) == ["200 success"]


@pytest.fixture(scope="module")
def options_product(demo_app) -> None:
    """Until the demo sells sizes and colours: a shoe with 11 sizes in 2 colours, long labels."""
    with demo_app.app_context():
        if max(len(p.variants) for p in db.session.scalars(select(Product))) > 1:
            return
        first = db.session.scalar(select(Product).order_by(Product.id).limit(1))
        make_product_with_options(
            options=(("颜色", ("经典黑白", "全白")), ("尺码", [str(n) for n in range(35, 46)])),
            stock=20,
            category_id=first.category_id,
            seller_id=first.seller_id,
            title="回力经典款高帮帆布鞋男女同款",
        )
        db.session.commit()


@pytest.fixture(scope="module")
def demo(demo_app, options_product) -> Demo:
    with demo_app.app_context():
        return read_demo()


@pytest.fixture(scope="module")
def phones(demo_app, demo) -> dict[str, Phone]:
    return {r: Phone(demo_app, r, demo, f"1390000{i:04d}") for i, r in enumerate(RENDITIONS)}


@pytest.fixture(scope="module")
def online_phones(demo_app, demo) -> dict[str, Phone]:
    """Phones on the demo shop with online payments configured (the sandboxes, as bin/serve
    runs it): the checkout offers more ways to pay, so its pages differ. Same database."""
    app = sibling_app(demo_app, SANDBOX_PAYMENTS=True)
    yield {r: Phone(app, r, demo, f"1390001{i:04d}") for i, r in enumerate(RENDITIONS)}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def paying_phones(demo_app, demo) -> dict[str, PayingPhone]:
    """Phones that pay online on the demo shop, their pay pages already seen."""
    app = sibling_app(demo_app, SANDBOX_PAYMENTS=True, SANDBOX_NOTIFY_DELAY=-1)
    phones = {r: PayingPhone(app, r, demo, f"1390002{i:04d}") for i, r in enumerate(RENDITIONS)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http, "post_form", processors_in_process(app))
        for phone in phones.values():
            phone.pay_pages  # noqa: B018 (seen now, while the processors answer in-process)
    yield phones
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def pages(phones, online_phones, paying_phones) -> dict[str, dict[str, Response]]:
    """Rendition → page name → the page, from every shop."""
    return {
        r: phones[r].pages
        | {f"online-{name}": page for name, page in online_phones[r].confirmations().items()}
        | paying_phones[r].pay_pages
        for r in RENDITIONS
    }


def page_of(pages, rendition: str, name: str) -> Response:
    if name not in pages[rendition]:
        if os.environ.get("CI"):
            pytest.fail(f"the demo data has no {name} page")
        pytest.skip(f"the demo data has no {name} page")
    return pages[rendition][name]


def dtd_parser() -> etree.XMLParser:
    return etree.XMLParser(
        dtd_validation=True, load_dtd=True, no_network=True, resolve_entities=False
    )


def validate(body: bytes) -> None:
    """Raises XMLSyntaxError naming the first place the page breaks its DOCTYPE's DTD."""
    etree.fromstring(body, dtd_parser())


# --- Validity, types and the footer, page by page.

every_page = pytest.mark.parametrize("name", PAGES)
feature_phones = pytest.mark.parametrize("rendition", ["wml", "basic", "color"])


@every_page
def test_wml_deck_is_valid_wml_1_1(pages, name):
    page = page_of(pages, "wml", name)
    assert b'<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.1//EN"' in page.body
    validate(page.body)


@every_page
@pytest.mark.parametrize("rendition", ["basic", "color"])
def test_xhtml_page_is_valid_xhtml_mp_1_2(pages, rendition, name):
    require_tool("/etc/xml/w3c-sgml-lib.xml", "XHTML-MP DTD modules")
    page = page_of(pages, rendition, name)
    assert b'<!DOCTYPE html PUBLIC "-//WAPFORUM//DTD XHTML Mobile 1.2//EN"' in page.body
    validate(page.body)


@every_page
def test_touch_page_is_html5_with_viewport_and_one_stylesheet(pages, name):
    page = page_of(pages, "touch", name)
    assert page.body.startswith(b"<!DOCTYPE html>")
    doc = html.document_fromstring(page.body)
    assert doc.xpath("//head/meta[@name='viewport']/@content")
    assert len(doc.xpath("//link[@rel='stylesheet'] | //style")) <= 1
    assert doc.xpath("//head/meta/@charset") == ["utf-8"]


@every_page
@pytest.mark.parametrize("rendition", RENDITIONS)
def test_page_status_type_and_utf8(pages, rendition, name):
    page = page_of(pages, rendition, name)
    assert page.status == STATUS.get(name, 200), page.url
    assert page.content_type == CONTENT_TYPE[rendition]
    if rendition != "touch":
        assert page.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    page.body.decode("utf-8")


@every_page
@feature_phones
def test_feature_phone_page_has_no_script(pages, rendition, name):
    page = page_of(pages, rendition, name)
    assert page.find("script") == []
    handlers = [a for el in page.doc.iter() for a in el.attrib if a.lower().startswith("on")]
    assert handlers == []
    assert "javascript:" not in page.text.lower()


@every_page
@pytest.mark.parametrize("rendition", RENDITIONS)
def test_footer_links_the_other_renditions_only(pages, rendition, name):
    page = page_of(pages, rendition, name)
    assert footer_versions(page) == set(RENDITIONS) - {rendition}


@pytest.mark.parametrize("rendition", ["basic", "color"])
@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (f"{XHTML_MP},*/*;q=0.1", XHTML_MP),
        ("application/xhtml+xml,text/html;q=0.9", "application/xhtml+xml"),
        ("text/html,*/*;q=0.8", "text/html"),
        ("*/*", "text/html"),
    ],
)
def test_xhtml_type_is_the_one_the_client_accepts(demo_app, rendition, accept, expected):
    client = WapClient(FlaskTransport(demo_app), PHONES[rendition][0], accept)
    page = client.open(f"/?ver={rendition}")
    assert page.content_type == f"{expected}; charset=utf-8"
    assert footer_versions(page) == set(RENDITIONS) - {rendition}


def test_validator_rejects_what_the_dtds_forbid():
    """The DTD check is live: WML 1.1 has no accesskey, XHTML-MP no bare text in <body>."""
    wml = (
        b'<?xml version="1.0"?>\n<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.1//EN" '
        b'"http://www.wapforum.org/DTD/wml_1.1.xml">\n'
        b'<wml><card><p><a href="/" accesskey="0">x</a></p></card></wml>'
    )
    xhtml = (
        b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//WAPFORUM//DTD XHTML Mobile 1.2//EN" '
        b'"http://www.openmobilealliance.org/tech/DTD/xhtml-mobile12.dtd">\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head>'
        b"<body>text</body></html>"
    )
    for body in (wml, xhtml):
        with pytest.raises(etree.XMLSyntaxError):
            validate(body)


@pytest.mark.parametrize("rendition", RENDITIONS)
def test_confirmation_with_no_way_to_pay_offers_no_submit(pages, rendition):
    """Where no way to pay serves the region, the page says why and offers no button that
    can only fail (WML already leaves its anchor out)."""
    page = page_of(pages, rendition, "confirm-no-cod")
    with pytest.raises(BrowserError):
        page.submission("提交订单", {})


@pytest.mark.parametrize("rendition", RENDITIONS)
def test_pay_pages_say_what_the_database_says(pages, rendition):
    """Each pay page is in the state it was kept for (so the budgets measure what they say)."""
    expected = {
        "pay-awaiting": "卡密码",
        "pay-card-errors": "请填17位数字",
        "pay-processing": "充值卡已提交，正在处理。",
        "pay-failed": "这张卡已经用过了",
        "pay-paid": "卡面额",
    }
    for name, words in expected.items():
        page = page_of(pages, rendition, name)
        assert words in page.visible_text, (name, page.url)
        assert PayingPhone.PASSWORD not in page.text, (name, page.url)


@pytest.mark.parametrize("rendition", RENDITIONS)
def test_card_password_is_typed_into_a_password_field(pages, rendition):
    """The card's password shows as dots while typed, whatever the rendition."""
    page = page_of(pages, rendition, "pay-awaiting")
    [field] = [el for el in page.find("input") if el.get("name") == "password"]
    assert field.get("type") == "password", f"{rendition}: {etree.tostring(field).decode()}"


def test_image_urls_carry_no_sid(pages):
    """Images are named by their content and cached for a year: a sid would defeat the cache
    (every session downloads them again) and spread the session id into image requests."""
    for rendition in ("color", "touch"):
        for name, page in pages[rendition].items():
            for img in page.find("img"):
                assert "sid=" not in img.get("src"), f"{rendition} {name}: {img.get('src')}"


# --- Byte budgets, on the largest page of each type.


def _image_bytes(client: WapClient, page: Response, cache: dict[str, int]) -> int:
    """Bytes of the page's images, each fetched once as a browser would."""
    total = 0
    for src in {img.get("src") for img in page.find("img")}:
        if src not in cache:
            image = client.fetch(src)
            assert image.status == 200, src
            cache[src] = len(image.body)
        total += cache[src]
    return total


def _list_pages(phone: Phone, path: str) -> list[Response]:
    """Every page of a list, following 下页 as the buyer would."""
    pages = [phone.visit(path)]
    while any(link.text == "下页" for link in pages[-1].links()):
        pages.append(phone.client.follow("下页"))
    return pages


def crawl(phone: Phone) -> dict[str, list[Response]]:
    """The candidates for the largest page of each type: every category and collection page
    and product, the widest region lists, the confirmation for every deal and long title."""
    demo = phone.demo
    buy = f"/buy/{demo.longest_title_product}"
    found = {name: [page] for name, page in phone.pages.items()}
    found["category"] = [p for c in demo.categories for p in _list_pages(phone, f"/c/{c}")]
    shown = [slug for slug, renditions in demo.collections if targets(renditions, phone.rendition)]
    found["collection"] = [p for s in shown for p in _list_pages(phone, f"/z/{s}")]
    found["product"] = [phone.visit(f"/p/{p}") for p in demo.products]
    found["search-hits"] = [
        p for w in demo.search_words for p in _list_pages(phone, "/s?" + urlencode({"q": w}))
    ]
    found["region-cities"] = [phone.visit(f"{buy}?region={c}") for c in demo.widest_provinces]
    found["region-districts"] = [phone.visit(f"{buy}?region={c}") for c in demo.widest_cities]
    found["confirm"] = confirmations(phone)
    return found


def confirmations(phone: Phone) -> list[Response]:
    """The confirmation of every deal's and the longest titles, with and without COD."""
    demo = phone.demo
    return [
        phone.visit(f"/buy/{p}?region={r}")
        for p in demo.confirm_products
        for r in (demo.cod_path[2], demo.no_cod_district)
    ]


@dataclass(frozen=True)
class Largest:
    markup: int
    markup_url: str
    with_images: int
    with_images_url: str


def measure(phone: Phone, crawled: dict[str, list[Response]]) -> dict[str, Largest]:
    """Page type → its largest page, in markup bytes and (color) with its images."""
    cache: dict[str, int] = {}
    largest = {}
    for kind, pages in crawled.items():
        sized = []
        for page in pages:
            assert page.status == STATUS.get(kind, 200), page.url
            only_sid(page)  # measured in the largest form: a sid in every URL
            with_images = phone.rendition in ("color", "touch")
            images = _image_bytes(phone.client, page, cache) if with_images else 0
            sized.append((len(page.body), len(page.body) + images, page.url))
        markup = max(sized)
        total = max(sized, key=lambda s: s[1])
        largest[kind] = Largest(markup[0], markup[2], total[1], total[2])
    return largest


# The table's columns: heading, rendition, measure, budget.
COLUMNS = (
    *((r, r, "markup", BUDGET[r]) for r in ("wml", "basic", "color")),
    ("color+img", "color", "with_images", COLOR_WITH_IMAGES),
    ("touch", "touch", "markup", BUDGET["touch"]),
    ("touch+img", "touch", "with_images", TOUCH_WITH_IMAGES),
)


def print_table(sizes: dict[str, dict[str, Largest]]) -> None:
    print("\nLargest page of each type, bytes (cookie-less client, sid in every URL)")
    print(f"{'page type':<18}" + "".join(f"{head:>10}" for head, *_rest in COLUMNS))
    print(f"{'budget':<18}" + "".join(f"{budget:>10}" for *_rest, budget in COLUMNS))
    for kind in sorted({kind for table in sizes.values() for kind in table}):
        cells = [
            getattr(sizes[r][kind], measure) if kind in sizes[r] else "-"
            for _head, r, measure, _budget in COLUMNS
        ]
        print(f"{kind:<18}" + "".join(f"{cell:>10}" for cell in cells))


@pytest.fixture(scope="module")
def sizes(phones, online_phones, paying_phones) -> dict[str, dict[str, Largest]]:
    measured = {
        r: measure(phones[r], crawl(phones[r]))
        | measure(online_phones[r], {"online-confirm": confirmations(online_phones[r])})
        | measure(paying_phones[r], {n: [p] for n, p in paying_phones[r].pay_pages.items()})
        for r in RENDITIONS
    }
    print_table(measured)
    return measured


@pytest.mark.parametrize("rendition", RENDITIONS)
def test_largest_pages_fit_the_markup_budget(sizes, rendition):
    over = [
        f"{kind}: {s.markup} bytes at {s.markup_url}"
        for kind, s in sizes[rendition].items()
        if s.markup > BUDGET[rendition]
    ]
    assert not over, f"over {BUDGET[rendition]} bytes:\n" + "\n".join(over)


def test_largest_color_pages_with_images_fit_20_kb(sizes):
    over = [
        f"{kind}: {s.with_images} bytes at {s.with_images_url}"
        for kind, s in sizes["color"].items()
        if s.with_images > COLOR_WITH_IMAGES
    ]
    assert not over, f"over {COLOR_WITH_IMAGES} bytes:\n" + "\n".join(over)
    assert max(s.with_images - s.markup for s in sizes["color"].values()) > 0, "no image seen"


def test_largest_touch_pages_with_images_fit_32_kb(sizes):
    over = [
        f"{kind}: {s.with_images} bytes at {s.with_images_url}"
        for kind, s in sizes["touch"].items()
        if s.with_images > TOUCH_WITH_IMAGES
    ]
    assert not over, f"over {TOUCH_WITH_IMAGES} bytes:\n" + "\n".join(over)
    assert max(s.with_images - s.markup for s in sizes["touch"].values()) > 0, "no image seen"


@pytest.mark.parametrize("rendition", ["color", "touch"])
def test_images_are_sent_at_the_size_they_are_shown(pages, demo_app, rendition):
    """Every image's pixels are its width × height; touch's srcset 2x is exactly double."""
    client = demo_app.test_client()

    def pixels(src):
        with client.get(src) as response, Image.open(io.BytesIO(response.data)) as picture:
            return picture.size

    checked = 0
    for name in ("home", "category", "product-deal", "product-plain"):
        for img in page_of(pages, rendition, name).find("img"):
            shown = (int(img.get("width")), int(img.get("height")))
            assert pixels(img.get("src")) == shown, img.get("src")
            for candidate in filter(None, (img.get("srcset") or "").split(",")):
                src, density = candidate.split()
                scale = int(density.removesuffix("x"))
                assert pixels(src) == (shown[0] * scale, shown[1] * scale), src
                checked += 1
            checked += 1
    assert checked > 0


# --- The order lane: the hotline on every page; the cancel question and the shipped order.

HOTLINE_LINK = {"wml": "wtai://wp/mc;", "basic": "tel:", "color": "tel:", "touch": "tel:"}


@every_page
@pytest.mark.parametrize("rendition", RENDITIONS)
def test_every_page_has_the_hotline_as_a_call_link(pages, rendition, name):
    page = page_of(pages, rendition, name)
    calls = [link for link in page.links() if link.href.startswith(HOTLINE_LINK[rendition])]
    assert len(calls) == 1, [link.href for link in page.links()]
    assert calls[0].href.removeprefix(HOTLINE_LINK[rendition]).replace("-", "").isdigit()


@pytest.fixture(scope="module")
def order_pages(demo_app, phones) -> dict[str, dict[str, Response]]:
    """Per rendition: the question before cancelling the phone's (longest) order, and that
    order's page once shipped (walked there through the services), carrier and waybill."""
    seen = {}
    for rendition, phone in phones.items():
        order = phone.pages["order"]
        number = urlsplit(order.url).path.rsplit("/", 1)[1]
        assert phone.visit(f"/o/{number}").status == 200
        question = phone.client.follow("取消订单")
        with demo_app.app_context():
            order_id = db.session.scalar(select(Order.id).where(Order.number == number))
        ship(demo_app, order_id)
        seen[rendition] = {"order-cancel": question, "order-shipped": phone.visit(f"/o/{number}")}
    return seen


def waybill(carrier: str, n: int) -> str:
    """The n-th waybill number the carrier accepts (EMS's ends in an S10 check digit)."""
    if carrier != "EMS":
        return f"{n:0{12 if carrier == '顺丰' else 10}d}"
    digits = f"{n:08d}"
    check = 11 - sum(w * int(d) for w, d in zip((8, 6, 4, 2, 3, 5, 9, 7), digits)) % 11
    return f"EA{digits}{ {10: 0, 11: 5}.get(check, check) }CN"


def ship(app, order_id: int) -> None:
    """Arrange: confirm the order and ship it with the first carrier allowed for it."""
    walk(app, order_id, "confirmed")
    username = add_staff(app, "admin")
    with app.app_context():
        order = db.session.get(Order, order_id)
        carrier = fulfilment.carriers_for(order)[0]
        staff = staff_named(username)
        fulfilment.ship(order, order.status, carrier, waybill(carrier, order_id), staff, utcnow())
        db.session.commit()


ORDER_PAGES = pytest.mark.parametrize("name", ["order-cancel", "order-shipped"])


@ORDER_PAGES
@pytest.mark.parametrize("rendition", RENDITIONS)
def test_order_lane_pages_are_valid_and_within_budget(order_pages, rendition, name):
    page = order_pages[rendition][name]
    assert page.status == 200 and page.content_type == CONTENT_TYPE[rendition]
    only_sid(page)  # measured in the largest form: a sid in every URL
    print(f"\n{name} {rendition}: {len(page.body)} of {BUDGET[rendition]} bytes")
    assert len(page.body) <= BUDGET[rendition], f"{name}: {len(page.body)} bytes"
    assert footer_versions(page) == set(RENDITIONS) - {rendition}
    if rendition == "touch":
        doc = html.document_fromstring(page.body)
        assert doc.xpath("//head/meta[@name='viewport']/@content")
        assert doc.xpath("//link[@rel='stylesheet']/@href")[0].startswith("/static/css/touch.css")
    else:
        if rendition != "wml":
            require_tool("/etc/xml/w3c-sgml-lib.xml", "XHTML-MP DTD modules")
        validate(page.body)
    if name == "order-shipped":
        assert "运单号" in page.visible_text
    else:
        assert "确认取消" in page.text and "返回" in page.visible_text
