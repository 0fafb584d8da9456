"""Storefront pages: renditions, sessions without cookies, caching, bad input."""

import gzip
from datetime import timedelta

import pytest

from conftest import sid_of
from factories import make_collection, make_deal, make_product
from wapshop.extensions import db
from wapshop.models import WebSession
from wapshop.clock import utcnow

NOKIA_S40 = "Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1"
UP4 = "UPG1 UP/4.0 (compatible; Blazer 1.0)"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def catalogue(app):
    with app.app_context():
        cheap = make_deal(renditions="wml,basic,color", deal_price_fen=990)
        premium = make_deal(renditions="color,touch", deal_price_fen=4990)
        later = make_deal(
            starts_at=utcnow() + timedelta(days=1), ends_at=utcnow() + timedelta(days=2)
        )
        plain = make_product(title="华为手机壳 透明防摔")
        coll = make_collection([plain], slug="phones", name="手机专场", renditions="touch")
        db.session.commit()
        return {
            "cheap": cheap.product.title,
            "premium": premium.product.title,
            "later": later.product.title,
            "plain": plain.id,
            "category": plain.category_id,
            "collection": coll.slug,
        }


@pytest.mark.parametrize(
    "ver,shown,hidden",
    [
        ("wml", ["cheap"], ["premium", "later"]),
        ("basic", ["cheap"], ["premium", "later"]),
        ("color", ["cheap", "premium"], ["later"]),
        ("touch", ["premium"], ["cheap", "later"]),
    ],
)
def test_home_shows_each_rendition_its_running_deals(client, catalogue, ver, shown, hidden):
    page = client.get(f"/?ver={ver}").text
    assert all(catalogue[k] in page for k in shown)
    assert not any(catalogue[k] in page for k in hidden)
    assert "还剩 3小时12分" in page


@pytest.mark.parametrize(
    "headers,rendition,content_type",
    [
        ({"User-Agent": UP4, "Accept": "text/vnd.wap.wml"}, "wml", "text/vnd.wap.wml"),
        ({"User-Agent": IPHONE, "Accept": "text/vnd.wap.wml"}, "wml", "text/vnd.wap.wml"),
        (
            {"User-Agent": NOKIA_S40, "Accept": "application/vnd.wap.xhtml+xml,*/*"},
            "color",
            "application/vnd.wap.xhtml+xml",
        ),
        (
            {"User-Agent": NOKIA_S40, "Accept": "application/xhtml+xml"},
            "color",
            "application/xhtml+xml",
        ),
        ({"User-Agent": NOKIA_S40, "Accept": "*/*"}, "color", "text/html"),
        ({"User-Agent": IPHONE, "Accept": "text/html,application/xhtml+xml"}, "touch", "text/html"),
    ],
)
def test_rendition_comes_from_accept_then_user_agent(
    client, catalogue, headers, rendition, content_type
):
    response = client.get("/", headers=headers)
    assert response.headers["Content-Type"] == f"{content_type}; charset=utf-8"
    marker = {"wml": "<wml>", "color": "<style", "touch": "<!DOCTYPE html>"}[rendition]
    assert marker in response.text


def test_ver_choice_is_remembered_for_the_session(client, catalogue):
    assert "<wml>" in client.get("/?ver=wml", headers={"User-Agent": IPHONE}).text
    assert "<wml>" in client.get("/", headers={"User-Agent": IPHONE}).text
    assert "<!DOCTYPE html>" in client.get("/?ver=touch").text


def test_a_client_without_cookies_keeps_its_session_through_sid(app, catalogue):
    phone = app.test_client(use_cookies=False)
    first = phone.get("/?ver=wml", headers={"User-Agent": IPHONE})
    sid = sid_of(first.text)
    assert sid and "Set-Cookie" in first.headers
    # Every internal link carries it; the next request sends no cookie and stays on wml.
    assert first.text.count(f"sid={sid}") >= 5
    second = phone.get(f"/c/{catalogue['category']}?sid={sid}", headers={"User-Agent": IPHONE})
    assert "<wml>" in second.text and sid_of(second.text) == sid


def test_a_client_with_cookies_gets_no_sid_in_links(client, catalogue):
    client.get("/?ver=basic")
    assert sid_of(client.get("/").text) is None


def test_browsing_without_a_choice_writes_no_session(app, catalogue):
    phone = app.test_client(use_cookies=False)
    page = phone.get("/", headers={"User-Agent": NOKIA_S40})
    assert sid_of(page.text) is None and "Set-Cookie" not in page.headers
    with app.app_context():
        assert db.session.query(WebSession).count() == 0


@pytest.mark.parametrize("sid", ["A" * 16, "short", "x" * 500, "../../etc/passwd"])
def test_an_unknown_sid_starts_a_fresh_session(app, catalogue, sid):
    phone = app.test_client(use_cookies=False)
    response = phone.get(f"/?ver=basic&sid={sid}")
    assert response.status_code == 200
    assert sid_of(response.text) not in (None, sid)


def test_an_expired_sid_is_not_honoured(app, catalogue):
    phone = app.test_client(use_cookies=False)
    sid = sid_of(phone.get("/?ver=wml").text)
    with app.app_context():
        db.session.get(WebSession, sid).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = phone.get(f"/?sid={sid}", headers={"User-Agent": IPHONE})
    assert "<wml>" not in page.text and sid_of(page.text) != sid


def test_pages_answer_a_matching_etag_with_304(client, catalogue):
    client.get("/?ver=touch")  # the session exists and the cookie came back: links are stable
    first = client.get(f"/p/{catalogue['plain']}?ver=touch")
    assert first.headers["ETag"]
    again = client.get(
        f"/p/{catalogue['plain']}?ver=touch", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""


def test_pages_are_gzipped_for_clients_that_accept_it(client, catalogue):
    response = client.get("/?ver=touch", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "今日特价" in gzip.decompress(response.data).decode()
    assert "Accept-Encoding" in response.headers["Vary"]


def test_static_assets_are_fingerprinted_and_cached_long(client, catalogue):
    page = client.get("/?ver=touch").text
    href = page.split('rel="stylesheet" href="')[1].split('"')[0]
    assert "v=" in href
    with client.get(href) as response:
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]


def test_footer_offers_the_other_renditions(client, catalogue):
    page = client.get(f"/c/{catalogue['category']}?ver=basic").text
    assert f"/c/{catalogue['category']}?ver=color" in page
    assert f"/c/{catalogue['category']}?ver=touch" in page
    assert "?ver=basic" not in page


def test_collection_targeting_hides_it_from_other_renditions(client, catalogue):
    assert client.get(f"/z/{catalogue['collection']}?ver=touch").status_code == 200
    assert client.get(f"/z/{catalogue['collection']}?ver=basic").status_code == 404


BAD_REQUESTS = [
    ("/?ver=iphone", 400),
    ("/?ver=", 400),
    ("/c/{category}?page=-1", 400),
    ("/c/{category}?page=abc", 400),
    ("/c/{category}?page=0", 400),
    ("/c/{category}?page=99999999999999999999", 400),
    ("/c/{category}?page=5000", 404),
    ("/c/999999", 404),
    ("/p/999999", 404),
    ("/p/-1", 404),
    ("/z/nope", 404),
    ("/s?q=" + "手" * 10_000, 400),
    ("/o/123", 404),
    ("/buy/done/1234567890", 404),
]


@pytest.mark.parametrize("ver", ["wml", "basic", "touch"])
@pytest.mark.parametrize("url,status", BAD_REQUESTS)
def test_bad_requests_get_a_clear_page_never_a_500(client, catalogue, url, status, ver):
    response = client.get(url.format(**catalogue), headers={"Cookie": f"wsid=x; ver={ver}"})
    assert response.status_code == status
    assert "返回首页" in response.text


@pytest.mark.parametrize(
    "query",
    [
        "\x00\x01\x02",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "%%%___",
        "手机' ; DROP TABLE products;",
        "　",
        "$(sid)",
        "🙂🙂",
    ],
)
def test_absurd_searches_give_an_empty_result(client, catalogue, query):
    response = client.get("/s", query_string={"q": query, "ver": "basic"})
    assert response.status_code == 200
    assert "<script>alert" not in response.text


def test_search_finds_chinese_titles_by_words_inside_them(client, catalogue):
    for query in ("手机壳", "华为", "防摔", "透明 华为"):
        assert "华为手机壳" in client.get("/s", query_string={"q": query}).text, query
    assert "华为手机壳" not in client.get("/s", query_string={"q": "小米"}).text
