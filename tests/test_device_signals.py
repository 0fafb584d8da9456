"""Every signal a phone and its gateway send: Accept, transcoders' forwarded User-Agents,
UAProf, crawlers that announce a handset, and the W3C Default Delivery Context's request."""

import io
import os
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from wapshop.web.devices import DECIDING_HEADERS, accept_signal, rendition_for_request

os.environ.setdefault(
    "XML_CATALOG_FILES", str(Path(__file__).resolve().parent / "data" / "dtd" / "catalog.xml")
)

WAP2_ACCEPT = "application/vnd.wap.xhtml+xml,application/xhtml+xml;q=0.9,text/vnd.wap.wml;q=0.8"
WML_ACCEPT = "text/vnd.wap.wml,image/vnd.wap.wbmp,*/*;q=0.1"
DESKTOP_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
OLD_ANDROID_ACCEPT = "application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,*/*"
# The W3C mobileOK Default Delivery Context's request (mobileOK Basic Tests 1.0, 2.4.2).
DDC = {
    "User-Agent": "W3C-mobileOK/DDC-1.0 (see http://www.w3.org/2006/07/mobileok-ddc)",
    "Accept": "application/xhtml+xml,text/html;q=0.1,application/vnd.wap.xhtml+xml;q=0.1,"
    "text/css,image/jpeg,image/gif",
    "Accept-Charset": "UTF-8,*;q=0.1",
}
SGH_E250 = "SAMSUNG-SGH-E250/1.0"
NOKIA_6300 = "Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1"
SIEMENS_WML = "SIE-S45/10 UP/4.1.16r"
ANDROID = (
    "Mozilla/5.0 (Linux; U; Android 2.3.6; zh-cn; GT-S5830 Build/GINGERBREAD) "
    "AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)
OPERA_MINI = "Opera/9.80 (J2ME/MIDP; Opera Mini/4.2.14912/870; U; id) Presto/2.4.15"
GOOGLEBOT_MOBILE = (
    "SAMSUNG-SGH-E250/1.0 Profile/MIDP-2.0 Configuration/CLDC-1.1 UP.Browser/6.2.3.3.c.1.101 "
    "(GUI) MMP/2.0 (compatible; Googlebot-Mobile/2.1; +http://www.google.com/bot.html)"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.mark.parametrize(
    "headers, expected",
    [
        # A handset UA with no platform token is WML by its UA alone...
        ({"User-Agent": SGH_E250}, {"wml"}),
        # ...but its Accept names XHTML-MP: never WML.
        ({"User-Agent": SGH_E250, "Accept": WAP2_ACCEPT}, {"basic", "color"}),
        # A WML-only Accept wins over any UA.
        ({"User-Agent": NOKIA_6300, "Accept": WML_ACCEPT}, {"wml"}),
        # An unknown client preferring XHTML over HTML is no crawler: the light page.
        (DDC, {"color"}),
        ({"User-Agent": "", "Accept": "application/xhtml+xml,text/html;q=0.5"}, {"basic"}),
        # A known smartphone whose Accept prefers XHTML keeps the touch page.
        ({"User-Agent": ANDROID, "Accept": OLD_ANDROID_ACCEPT}, {"touch"}),
        ({"User-Agent": DESKTOP, "Accept": DESKTOP_ACCEPT}, {"touch"}),
        # Transcoders forward the handset's own UA; it beats the proxy's.
        ({"User-Agent": OPERA_MINI, "X-OperaMini-Phone-UA": NOKIA_6300}, {"color"}),
        ({"User-Agent": DESKTOP, "X-Device-User-Agent": NOKIA_6300}, {"color"}),
        ({"User-Agent": DESKTOP, "X-Original-User-Agent": SIEMENS_WML}, {"wml"}),
        ({"User-Agent": ANDROID, "X-Device-User-Agent": "  "}, {"touch"}),
        # A UAProf URL says WAP 2.0: XHTML-MP, never WML or the crawler's page.
        (
            {
                "User-Agent": SGH_E250,
                "X-Wap-Profile": '"http://wap.samsungmobile.com/uaprof/e250.xml"',
            },
            {"basic", "color"},
        ),
        ({"User-Agent": "Gateway/1.0", "Profile": "http://x.example/p.rdf"}, {"basic", "color"}),
        # Crawlers: one announcing a handset gets that handset's page; others get touch.
        ({"User-Agent": GOOGLEBOT_MOBILE}, {"color"}),
        ({"User-Agent": GOOGLEBOT}, {"touch"}),
        ({"User-Agent": GOOGLEBOT, "Accept": "application/xhtml+xml,text/html;q=0.1"}, {"basic"}),
    ],
)
def test_rendition_weighs_every_signal(headers, expected):
    assert rendition_for_request(headers) in expected


@pytest.mark.parametrize(
    "accept, signal",
    [
        (WML_ACCEPT, ("wml", False)),
        (WAP2_ACCEPT, ("xhtml", False)),
        (DDC["Accept"], ("xhtml", True)),
        (DESKTOP_ACCEPT, (None, False)),
        ("application/xhtml+xml;q=0.5,text/html", (None, False)),
        ("text/html;q=0.1,application/xhtml+xml;q=0.2", ("xhtml", False)),
        ("application/vnd.wap.xhtml+xml;q=0", (None, False)),  # q=0 means "not acceptable"
        ("text/vnd.wap.wml;q=x,image/gif", ("wml", True)),
        ("", (None, False)),
        ("," * 5000, (None, False)),
    ],
)
def test_accept_signal(accept, signal):
    assert accept_signal(accept) == signal


def test_vary_names_every_header_that_decides(demo_app):
    response = demo_app.test_client().get("/", headers=DDC)
    vary = {v.strip().lower() for v in response.headers["Vary"].split(",")}
    assert {h.lower() for h in DECIDING_HEADERS} <= vary


def test_the_pages_follow_the_signals_end_to_end(demo_app):
    client = demo_app.test_client()
    wml = client.get("/", headers={"User-Agent": SGH_E250})
    xhtml = client.get("/", headers={"User-Agent": SGH_E250, "Accept": WAP2_ACCEPT})
    assert wml.mimetype == "text/vnd.wap.wml"
    assert xhtml.mimetype == "application/vnd.wap.xhtml+xml"
    proxied = client.get(
        "/", headers={"User-Agent": OPERA_MINI, "X-OperaMini-Phone-UA": SIEMENS_WML}
    )
    assert proxied.mimetype == "text/vnd.wap.wml"


def _dtd_parser():
    return etree.XMLParser(
        dtd_validation=True, load_dtd=True, no_network=True, resolve_entities=False
    )


@pytest.mark.parametrize("page", ["home", "category", "product"])
def test_default_delivery_context_gets_light_xhtml_mp(demo_app, page):
    """Home, the largest category and a product with an image, fetched as the DDC: XHTML-MP
    within 10 KB of markup and 20 KB with its images, each image sent at its shown size."""
    from sqlalchemy import func, select

    from wapshop.extensions import db
    from wapshop.models import Product

    with demo_app.app_context():
        category = db.session.execute(
            select(Product.category_id).group_by(Product.category_id).order_by(func.count().desc())
        ).scalar()
        product = db.session.scalar(select(Product.id).where(Product.image.is_not(None)))
    path = {"home": "/", "category": f"/c/{category}", "product": f"/p/{product}"}[page]
    client = demo_app.test_client()
    response = client.get(path, headers=DDC)
    assert response.status_code == 200
    assert response.mimetype == "application/xhtml+xml"
    assert b"-//WAPFORUM//DTD XHTML Mobile 1.2//EN" in response.data
    etree.fromstring(response.data, _dtd_parser())
    assert len(response.data) <= 10 * 1024
    images = etree.fromstring(response.data).iter("{http://www.w3.org/1999/xhtml}img")
    total = len(response.data)
    seen = 0
    for img in images:
        with client.get(img.get("src"), headers=DDC) as image:
            assert image.status_code == 200
            body = image.data
        total += len(body)
        seen += 1
        with Image.open(io.BytesIO(body)) as picture:
            assert picture.format in ("JPEG", "GIF")
            assert picture.size == (int(img.get("width")), int(img.get("height")))
    assert total <= 20 * 1024
    assert seen > 0
