"""Stored pages answered before Flask's cycle (wapshop/web/hits.py): the very answer Flask gave,
and only where Flask would have given it again.

- every rendition, with and without a sid, gzipped or not: the same status, headers and bytes;
- the funnel counts a view answered here as Flask counts it;
- conditional requests, HEAD, ?ver=/?lang=, flashed messages, sessions due to slide forward
  and answers setting a cookie not the session's own go to Flask; a sid from another browser
  gets no one's sid; a session from a cookie gets its own cookie set again, never another's;
- a change shows on the next request, a sale within the bound, two sessions never mix;
- a failure here is Flask's to answer; hostile requests never get a 500; it is bounded."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from conftest import app_over, sid_of
from support.pagecache import CACHE_ON, NOKIA, XHTML, make_goods, set_session
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Product, WebSession
from wapshop.models.reports import PageViewCount
from wapshop.views import catalog as catalog_views
from wapshop.web import cache as page_cache
from wapshop.web import hits as page_hits
from wapshop.web.sessions import CLIENT_KEY

UA = {
    "wml": "SAMSUNG-SGH-X100/1.0 UP.Browser/5.0 (GUI)",
    "basic": NOKIA,
    "touch": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 6_1 like Mac OS X) AppleWebKit/536.26 "
        "(KHTML, like Gecko) Version/6.0 Mobile/10B143 Safari/8536.25"
    ),
}
BOT = "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"


@pytest.fixture
def app(tmp_path):
    with app_over(tmp_path, **CACHE_ON) as app:
        yield app


@pytest.fixture
def goods(app):
    return make_goods(app)


def hits_of(app) -> page_hits.PageHits:
    wrapped = app.wsgi_app
    return wrapped if isinstance(wrapped, page_hits.PageHits) else wrapped.app  # in ProxyFix


def answers_of(app) -> page_cache.PageCache:
    return app.extensions[page_hits.ANSWERS]


def three_times(client, path: str, headers: dict) -> tuple:
    """Rendered by its view, then from the stored page through Flask, then answered here."""
    hits = hits_of(client.application)
    rendered = client.get(path, headers=headers)
    through_flask = client.get(path, headers=headers)
    before = hits.answered
    answered = client.get(path, headers=headers)
    assert hits.answered == before + 1, "the third request was not answered before the cycle"
    return rendered, through_flask, answered


def same_answer(a, b) -> None:
    assert a.status == b.status
    assert a.get_data() == b.get_data()
    assert sorted(a.headers.items()) == sorted(b.headers.items())


def with_sid(client, path: str, rendition: str, headers: dict) -> str:
    plain = {k: v for k, v in headers.items() if k != "Accept-Encoding"}
    sid = sid_of(client.get(f"/?ver={rendition}", headers=plain).text)
    return f"{path}{'&' if '?' in path else '?'}sid={sid}"


@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "identity"])
@pytest.mark.parametrize(
    "rendition,kind",
    [(r, "UA only") for r in UA] + [(r, "sid in URL") for r in ("wml", "basic", "color", "touch")],
)
def test_an_answer_given_before_the_cycle_is_flasks_own(app, goods, rendition, kind, gzipped):
    client = app.test_client(use_cookies=False)
    headers = {"User-Agent": UA.get(rendition, NOKIA), "Accept": XHTML}
    if gzipped:
        headers["Accept-Encoding"] = "gzip"
    for path in ("/", f"/c/{goods['cat']}", f"/p/{goods['product']}"):
        if kind == "sid in URL":
            path = with_sid(client, path, rendition, headers)
        rendered, through_flask, answered = three_times(client, path, headers)
        same_answer(answered, through_flask)
        same_answer(answered, rendered)
        assert answered.headers.get("Content-Encoding") == ("gzip" if gzipped else None)
        if kind == "sid in URL":
            assert path.rsplit("=", 1)[1].encode() in answered.get_data() or gzipped


def test_the_funnel_counts_a_view_answered_here_as_flask_counts_it(app, goods):
    counter = app.extensions["pageviews"]
    counter.flush_every, counter.flush_seconds = 10_000, 10_000
    client = app.test_client(use_cookies=False)
    path = f"/p/{goods['product']}"
    three_times(client, path, {"User-Agent": UA["basic"]})
    client.get(path, headers={"User-Agent": UA["basic"]})
    assert counter.pending == 4
    ((key, views),) = counter._counts.items()
    assert views == 4 and key[2] == "product"  # one day, rendition and visitor for all four
    three_times(client, path, {"User-Agent": BOT})  # crawlers count nowhere, here neither
    assert counter.pending == 4


def test_a_due_batch_of_views_is_written_after_an_answer_given_here(app, goods):
    counter = app.extensions["pageviews"]
    counter.flush_every = 3
    client = app.test_client(use_cookies=False)
    *_flask, answered = three_times(client, f"/p/{goods['product']}", {"User-Agent": UA["basic"]})
    assert counter.pending == 0
    answered.close()  # what the server does once the body is sent
    with app.app_context():
        assert db.session.scalar(select(db.func.sum(PageViewCount.views))) == 3


def test_what_flask_must_answer_goes_to_flask(app, goods):
    client = app.test_client(use_cookies=False)
    headers = {"User-Agent": UA["basic"]}
    path = f"/p/{goods['product']}"
    _r, _f, answered = three_times(client, path, headers)
    hits = hits_of(app)
    before = hits.answered
    conditional = client.get(path, headers={**headers, "If-None-Match": answered.headers["ETag"]})
    assert conditional.status_code == 304
    assert client.head(path, headers=headers).status_code == 200
    chosen = client.get(f"{path}?ver=color", headers=headers)
    assert chosen.status_code == 200 and sid_of(chosen.text)  # the session was written
    english = client.get(f"{path}?lang=en", headers=headers)
    assert english.status_code == 200 and sid_of(english.text)  # the session was written
    assert hits.answered == before


def test_a_session_from_a_cookie_gets_answers_setting_its_own_cookie_alone(app, goods):
    headers = {"User-Agent": UA["touch"], "Accept-Encoding": "gzip"}
    browsers = [app.test_client() for _ in range(2)]  # each keeps our cookie
    for browser in browsers:
        browser.get("/?ver=touch", headers=headers)
    path = f"/p/{goods['product']}"
    own = []
    for browser in browsers:
        _r, through_flask, answered = three_times(browser, path, headers)
        same_answer(answered, through_flask)
        own.append(answered.headers["Set-Cookie"])
    assert own[0] != own[1] and all(c.startswith("wsid=") for c in own)
    for _round in range(3):  # interleaved: each is answered its own cookie, never the other's
        for browser, cookie in zip(browsers, own):
            assert browser.get(path, headers=headers).headers["Set-Cookie"] == cookie


def test_an_answer_setting_any_other_cookie_is_not_kept(app, goods):
    """A cookie set after the page was stored (as Flask-Login's remember cookie is: its hook
    runs after the page cache's) keeps the answer from being given again."""

    def another_cookie(response):
        response.set_cookie("seen", "1")
        return response

    app.after_request_funcs.setdefault(None, []).insert(0, another_cookie)  # runs last

    client = app.test_client(use_cookies=False)
    for _ in range(4):
        client.get(f"/p/{goods['product']}", headers={"User-Agent": UA["basic"]})
    assert len(app.extensions["page_cache"]) == 1  # stored, and served from the cache
    assert hits_of(app).answered == 0 and len(answers_of(app)) == 0


def test_flashed_messages_and_a_session_due_to_slide_go_to_flask(app, goods):
    client = app.test_client(use_cookies=False)
    headers = {"User-Agent": UA["basic"]}
    path = with_sid(client, f"/p/{goods['product']}", "basic", headers)
    sid = path.rsplit("=", 1)[1]
    three_times(client, path, headers)
    hits = hits_of(app)
    before = hits.answered
    set_session(app, sid, _flashes=[["message", "已加入购物车"]])
    assert client.get(path, headers=headers).status_code == 200
    assert hits.answered == before
    with app.app_context():
        row = db.session.get(WebSession, sid)
        row.data = json.dumps({k: v for k, v in json.loads(row.data).items() if k != "_flashes"})
        row.expires_at = utcnow() + timedelta(minutes=5)
        db.session.commit()
    client.get(path, headers=headers)
    assert hits.answered == before
    with app.app_context():
        slid = db.session.get(WebSession, sid).expires_at
    assert slid - utcnow() > app.config["SESSION_LIFETIME"] / 2  # Flask slid it forward


def test_a_sid_from_another_browser_gets_no_ones_sid(app, goods):
    client = app.test_client(use_cookies=False)
    headers = {"User-Agent": UA["basic"]}
    path = with_sid(client, f"/p/{goods['product']}", "basic", headers)
    sid = path.rsplit("=", 1)[1]
    set_session(app, sid, **{CLIENT_KEY: "granted-else"})
    three_times(client, f"/p/{goods['product']}", headers)  # the page of no session, kept
    before = hits_of(app).answered
    page = client.get(path, headers=headers)
    assert hits_of(app).answered == before + 1
    assert sid not in page.text and sid_of(page.text) is None


def test_two_sessions_interleaved_each_get_their_own_sid(app, goods):
    headers = {"User-Agent": UA["basic"]}
    clients = [app.test_client(use_cookies=False) for _ in range(2)]
    paths = [with_sid(c, f"/p/{goods['product']}", "basic", headers) for c in clients]
    sids = [p.rsplit("=", 1)[1] for p in paths]
    before = hits_of(app).answered
    for _round in range(4):
        for client, path, sid, other in zip(clients, paths, sids, reversed(sids)):
            page = client.get(path, headers=headers).text
            assert sid in page and other not in page
    assert hits_of(app).answered - before >= 4


def test_a_change_shows_on_the_next_request_after_answers_given_here(app, goods):
    headers = {"User-Agent": UA["basic"]}
    client = app.test_client(use_cookies=False)
    paths = [f"/p/{goods['product']}", with_sid(client, f"/p/{goods['product']}", "basic", headers)]
    for path in paths:
        assert "59.90" in three_times(client, path, headers)[2].text
    with app.app_context():
        db.session.get(Product, goods["product"]).shop_price_fen = 4590
        db.session.commit()
    for path in paths:
        page = client.get(path, headers=headers).text
        assert "45.90" in page and "59.90" not in page


def test_an_answer_lives_no_longer_than_its_page(app, goods, monkeypatch):
    moment = [utcnow()]
    monkeypatch.setattr(page_cache, "utcnow", lambda: moment[0])
    monkeypatch.setattr(catalog_views, "utcnow", lambda: moment[0])
    client = app.test_client(use_cookies=False)
    headers = {"User-Agent": UA["basic"]}
    path = f"/p/{goods['product']}"
    three_times(client, path, headers)
    before = hits_of(app).answered
    moment[0] += timedelta(seconds=app.config["PAGE_CACHE_SECONDS"])
    client.get(path, headers=headers)
    assert hits_of(app).answered == before  # rendered again, not answered from the old one


def test_a_failure_before_the_cycle_is_flasks_to_answer(app, goods, monkeypatch):
    client = app.test_client(use_cookies=False)
    headers = {"User-Agent": UA["basic"]}
    path = f"/p/{goods['product']}"
    _r, _f, answered = three_times(client, path, headers)
    real = page_cache.request_generation
    calls = []

    def failing_once(sess):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the database went away")
        return real(sess)

    monkeypatch.setattr(page_cache, "request_generation", failing_once)
    page = client.get(path, headers=headers)
    assert len(calls) == 2  # failed here, then Flask's own read
    same_answer(page, answered)


def test_hostile_requests_to_a_path_with_answers_never_get_a_500(app, goods):
    client = app.test_client(use_cookies=False)
    headers = {"User-Agent": UA["basic"]}
    path = f"/p/{goods['product']}"
    three_times(client, path, headers)
    hostile = [
        {"environ_overrides": {"HTTP_HOST": "a" * 10_000}},
        {"environ_overrides": {"HTTP_HOST": "evil.example\x00"}},
        {"environ_overrides": {"QUERY_STRING": "sid=%ff%fe%00&x=\xb2"}},
        {"query_string": {"sid": "²" * 16}},
        {"headers": {**headers, "Accept": "\x00" * 10_000}},
        {"headers": {**headers, "Accept-Encoding": "gzip;q=-1, ²"}},
    ]
    for extra in hostile:
        response = client.get(path, **({"headers": headers} | extra))
        assert response.status_code < 500, extra


def test_answers_and_their_paths_are_bounded(tmp_path):
    with app_over(tmp_path, **CACHE_ON, PAGE_CACHE_ENTRIES=3) as app:
        goods = make_goods(app)
        client = app.test_client(use_cookies=False)
        headers = {"User-Agent": UA["basic"]}
        for path in (
            "/",
            f"/c/{goods['cat']}",
            f"/p/{goods['product']}",
            f"/p/{goods['deal_product']}",
        ):
            three_times(client, path, headers)
            three_times(client, path, {**headers, "Accept-Encoding": "gzip"})
        assert len(answers_of(app)) == 3
        assert len(hits_of(app)._paths) == 3


def test_behind_a_proxy_answers_are_kept_per_forwarded_host_and_scheme(tmp_path):
    """Inside ProxyFix: the key holds the host and scheme the proxy forwarded, as Flask sees
    them; without a trusted proxy, forged X-Forwarded-* change nothing."""
    for hops, answers in ((1, 3), (0, 1)):
        (tmp_path / str(hops)).mkdir()
        with app_over(tmp_path / str(hops), **CACHE_ON, TRUSTED_PROXY_HOPS=hops) as app:
            path = f"/p/{make_goods(app)['product']}"
            client = app.test_client(use_cookies=False)
            for host, scheme in (
                ("shop.example", "https"),
                ("evil.example", "https"),
                ("shop.example", "http"),
            ):
                forwarded = {"X-Forwarded-Host": host, "X-Forwarded-Proto": scheme}
                _r, through_flask, answered = three_times(
                    client, path, {"User-Agent": UA["basic"], **forwarded}
                )
                same_answer(answered, through_flask)
            assert len(answers_of(app)) == answers
