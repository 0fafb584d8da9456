"""The catalogue's page cache (wapshop/web/cache.py): correctness, not speed.

- two sessions interleaved never see each other's sid, CSRF token, name or cart;
- an admin's price or stock change shows on the next request, on this machine and another;
- a sale shows within PAGE_CACHE_SECONDS (3 s), as do a deal's remaining units and countdown;
- the cache is bounded."""

import json
from datetime import timedelta

import pytest
from flask import render_template_string
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update

from conftest import app_over, sibling_app, sid_of
from factories import make_deal, make_product
from support.pagecache import CACHE_ON, NOKIA, XHTML, cache_of, generation, make_goods, phone
from support.pagecache import set_session
from wapclient import sids
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import CacheGeneration, Deal, Product, WebSession
from wapshop.services import stock
from wapshop.views import catalog as catalog_views
from wapshop.web import cache as page_cache
from wapshop.web.reads import reads


@pytest.fixture
def app(tmp_path):
    with app_over(tmp_path, **CACHE_ON) as app:
        yield app


@pytest.fixture
def goods(app):
    return make_goods(app)


@pytest.fixture
def clock(monkeypatch):
    """One moment for the views' countdowns and the cache's age; .move(seconds)."""

    class Clock:
        now = utcnow()

        def move(self, seconds):
            self.now += timedelta(seconds=seconds)

    moment = Clock()
    monkeypatch.setattr(page_cache, "utcnow", lambda: moment.now)
    monkeypatch.setattr(catalog_views, "utcnow", lambda: moment.now)
    return moment


def test_two_cookieless_sessions_interleaved_each_see_only_their_own_sid(app, goods):
    a, b = phone(app), phone(app)
    sid_a = next(iter(sids(a.open("/?ver=basic"))))
    sid_b = next(iter(sids(b.open("/?ver=basic"))))
    assert sid_a != sid_b
    paths = ["/", f"/c/{goods['cat']}", f"/p/{goods['product']}", f"/p/{goods['deal_product']}"]
    for path in paths * 2:
        for buyer, own in ((a, sid_a), (b, sid_b)):
            page = buyer.open(f"{path}?sid={own}")
            assert page.status == 200
            # Every link and field carries this buyer's sid and no other.
            assert sids(page) == {own}, (path, sids(page))
            assert (sid_b if own == sid_a else sid_a).encode() not in page.body
    assert len(cache_of(app)) >= len(paths)  # they were served from the cache
    # The same pages without a sid carry none.
    c = phone(app)
    for path in paths:
        assert sids(c.open(path)) == set()


def test_a_cart_or_a_login_in_the_session_gets_a_page_of_its_own(app, goods):
    a, b = phone(app), phone(app)
    sid_a = next(iter(sids(a.open("/?ver=basic"))))
    sid_b = next(iter(sids(b.open("/?ver=basic"))))
    a.open(f"/?sid={sid_a}")
    before = len(cache_of(app))
    set_session(app, sid_b, cart=[[goods["product"], 1]], _user_id="7")
    page = b.open(f"/?sid={sid_b}")
    assert sids(page) == {sid_b}
    assert len(cache_of(app)) == before + 1  # not served the page of an empty session
    keys = {key[-1] for key in cache_of(app)._pages}
    assert any('"cart"' in k and '"_user_id": "7"' in k for k in keys)


def test_a_csrf_token_on_a_cached_page_is_each_sessions_own(app, goods, monkeypatch):
    """A form with a CSRF token (the product page's 加入购物车): the token is cut out of the
    stored page and each session gets its own, valid for it."""

    @app.get("/cache-form")
    def cache_form():
        return render_template_string(
            "<form>{{ csrf_token() }} {{ url_for('catalog.home') }}</form>"
        )

    app.jinja_env.globals["csrf_token"] = generate_csrf
    monkeypatch.setattr(page_cache, "CACHED_ENDPOINTS", {"cache_form"})
    client_a, client_b = app.test_client(), app.test_client()
    client_a.get("/cache-form")  # starts the session: its cookie comes back from now on
    a1 = client_a.get("/cache-form").text
    assert len(cache_of(app)) == 1
    client_b.get("/cache-form")
    b1 = client_b.get("/cache-form").text
    a2 = client_a.get("/cache-form").text
    assert page_cache.CSRF_MARK not in a1 + b1 + a2
    token_a, token_b = a1.split()[0][6:], b1.split()[0][6:]
    assert token_a != token_b
    with app.app_context():
        secrets = {json.loads(d)["csrf_token"] for d in db.session.scalars(select(WebSession.data))}
    assert len(secrets) == 2
    s = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
    assert {s.loads(token_a), s.loads(token_b)} == secrets
    assert s.loads(a2.split()[0][6:]) == s.loads(token_a)


def test_an_admin_price_or_stock_change_shows_on_the_next_request(app, goods):
    client = app.test_client()
    path = f"/p/{goods['product']}?ver=basic"
    assert "59.90" in client.get(path).text
    client.get(path)
    with app.app_context():
        db.session.get(Product, goods["product"]).shop_price_fen = 4590
        db.session.commit()
    assert "45.90" in client.get(path).text
    with app.app_context():
        assert stock.set_sole_stock(goods["product"], 0)
        db.session.commit()
    assert "已售完" in client.get(path).text


def test_a_change_shows_on_the_next_request_with_a_sid_in_the_url_and_without_a_session(app, goods):
    """The generation read with the session row (a sid in the URL) and read alone (no
    session: the rendition from the User-Agent) both see the change at once."""
    with_sid = app.test_client(use_cookies=False)
    sid = sid_of(with_sid.get("/?ver=basic").text)
    paths = {with_sid: f"/p/{goods['product']}?sid={sid}"}
    anonymous = app.test_client(use_cookies=False)
    paths[anonymous] = f"/p/{goods['product']}"
    headers = {"User-Agent": NOKIA}
    for client, path in paths.items():
        assert "59.90" in client.get(path, headers=headers).text
    assert len(cache_of(app)) == 3  # the home page, and the product page for each client
    with app.app_context():
        db.session.get(Product, goods["product"]).shop_price_fen = 4590
        db.session.commit()
    for client, path in paths.items():
        page = client.get(path, headers=headers).text
        assert "45.90" in page and "59.90" not in page
    assert f"sid={sid}" in with_sid.get(paths[with_sid], headers=headers).text


@pytest.mark.parametrize("client_kind", ["UA only", "sid in URL"])
def test_a_page_from_the_cache_is_answered_as_the_rendered_one_was(app, goods, client_kind):
    """Same body, content type, Vary (every header the rendition was chosen from), validators
    and security headers whether the page was rendered or came from the cache."""
    client = app.test_client(use_cookies=False)
    headers = {"User-Agent": NOKIA, "Accept": XHTML, "Accept-Encoding": "gzip"}
    path = f"/p/{goods['product']}"
    if client_kind == "sid in URL":
        path += "?sid=" + sid_of(client.get("/?ver=color").text)
    rendered = client.get(path, headers=headers)
    assert len(cache_of(app)) >= 1
    cached = client.get(path, headers=headers)
    assert rendered.status_code == cached.status_code == 200
    assert cached.get_data() == rendered.get_data()
    assert sorted(cached.headers.items()) == sorted(rendered.headers.items())
    assert "User-Agent" in rendered.headers["Vary"] or client_kind == "sid in URL"
    again = client.get(path, headers={**headers, "If-None-Match": cached.headers["ETag"]})
    assert again.status_code == 304


def test_another_machine_sees_a_change_made_through_a_third(app, goods):
    """Two application machines, each with its own cache, over one database: a change made
    by a third (an admin's machine) shows on both at their next request."""
    one = sibling_app(app, **CACHE_ON)
    two = sibling_app(app, **CACHE_ON)
    admin = sibling_app(app)
    path = f"/p/{goods['product']}?ver=wml"
    for machine in (one, two, one, two):
        assert "59.90" in machine.test_client().get(path).text
    with admin.app_context():
        db.session.execute(
            update(Product).where(Product.id == goods["product"]).values(title="新标题手机")
        )
        db.session.commit()
    for machine in (one, two):
        assert "新标题手机" in machine.test_client().get(path).text
    for other in (one, two, admin):
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_sale_shows_within_the_bound_and_does_not_empty_the_cache(app, goods, clock):
    client = app.test_client()
    client.get("/?ver=basic")  # the session's cookie comes back from now on
    path = f"/p/{goods['deal_product']}"
    first = client.get(path).text
    assert "剩50件" in first and "还剩 3小时12分" in first
    seen = generation(app)
    with app.app_context():  # what an order does: stock and deal units moved, not set
        variant = stock.sole_variant(goods["deal_product"])
        assert stock.take(variant.id, 2)
        db.session.execute(update(Deal).values(sold=Deal.sold + 2))
        db.session.commit()
    assert generation(app) == seen  # a sale is no catalogue edit
    clock.move(app.config["PAGE_CACHE_SECONDS"] - 0.5)
    assert client.get(path).text == first  # within the bound: may still be the stored page
    clock.move(0.5)
    later = client.get(path).text
    assert "剩48件" in later  # PAGE_CACHE_SECONDS after it was rendered: never older
    clock.move(60 * 13)
    assert "还剩 2小时59分" in client.get(path).text  # the countdown moves too


def test_stock_set_by_an_editor_bumps_the_generation_but_a_return_does_not(app, goods):
    seen = generation(app)
    with app.app_context():
        variant = stock.sole_variant(goods["product"]).id
        stock.give_back(variant, 1)
        db.session.commit()
    assert generation(app) == seen
    with app.app_context():
        assert stock.set_stock(variant, 7)
        db.session.commit()
    assert generation(app) == seen + 1
    with app.app_context():  # a rolled-back edit changes nothing
        db.session.get(Product, goods["product"]).title = "不会保存"
        db.session.flush()
        db.session.rollback()
        db.session.get(Product, goods["product"])
        db.session.commit()
    assert generation(app) == seen + 1


def test_home_shows_a_deal_starting_within_the_bound(app, goods, clock):
    with app.app_context():
        product = make_product(title="十点开抢电饭煲")
        make_deal(product, starts_at=clock.now + timedelta(seconds=1))
        db.session.commit()
    client = app.test_client()
    assert "十点开抢电饭煲" not in client.get("/?ver=wml").text
    clock.move(app.config["PAGE_CACHE_SECONDS"])
    assert "十点开抢电饭煲" in client.get("/?ver=wml").text


def test_the_cache_is_bounded(app, goods):
    client = app.test_client()
    cache = cache_of(app)
    cache.entries = 5
    for n in range(12):
        assert client.get(f"/s?q=手机{n}&ver=basic").status_code == 200
    assert len(cache) == 5
    cache.max_bytes = 10
    cache.clear()
    client.get("/?ver=touch")
    assert len(cache) == 0


def test_a_missing_generation_row_counts_from_zero(app, goods):
    with app.app_context():
        db.session.execute(CacheGeneration.__table__.delete())
        db.session.commit()
        assert page_cache.current_generation() == 0
        db.session.get(Product, goods["product"]).title = "改名"
        db.session.commit()
        assert page_cache.current_generation() == 1


def test_error_pages_and_flashed_messages_are_never_stored(app, goods):
    client = app.test_client()
    assert client.get("/c/999999?ver=basic").status_code == 404
    assert client.get(f"/c/{goods['cat']}?page=99&ver=basic").status_code == 404
    assert len(cache_of(app)) == 0


def test_the_outside_reads_connection_never_joins_the_pool_and_closes_with_the_engine(app, goods):
    """The generation and the session row are read on one connection per thread and engine
    (web/reads.py), in autocommit, detached from the pool, closed when the engine is."""
    client = app.test_client(use_cookies=False)
    sid = sid_of(client.get("/?ver=basic").get_data(as_text=True))
    for _ in range(3):
        client.get(f"/?sid={sid}")
    with app.app_context():
        engine = db.engine
    assert len(reads._open[id(engine)]) == 1  # one per worker thread, kept
    with app.app_context():  # pooled connections still roll back (none was left in autocommit)
        db.session.get(Product, goods["product"]).title = "回滚的标题"
        db.session.flush()
        db.session.rollback()
        assert db.session.get(Product, goods["product"]).title == "老人手机"
        db.session.remove()
        db.engine.dispose()
    assert id(engine) not in reads._open
    assert f"sid={sid}" in client.get(f"/?sid={sid}").get_data(as_text=True)  # read anew
    assert len(reads._open[id(engine)]) == 1
