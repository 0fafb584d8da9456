"""Funnel page views are counted in memory per worker and written in batches: no database write
for a page view until the batch is due, then one upsert after the response has gone out."""

import re
from datetime import date, datetime

import pytest
import requests
from sqlalchemy import event, func, select

from conftest import LiveServer
from factories import COVERED, make_product, make_regions
from wapshop.clock import CHINA
from wapshop.extensions import db
from support.fulfilment import place_order
from wapshop.models import Product
from wapshop.models.reports import FunnelVisitor, PageViewCount
from wapshop.services import funnel as funnel_service
from wapshop.web import pageviews

UA = {
    "wml": "SAMSUNG-SGH-X100/1.0 UP.Browser/5.0 (GUI)",
    "basic": "SonyEricssonT610/R201 Profile/MIDP-1.0 Configuration/CLDC-1.0",
    "touch": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 6_1 like Mac OS X) AppleWebKit/536.26 "
        "(KHTML, like Gecko) Version/6.0 Mobile/10B143 Safari/8536.25"
    ),
}
BOT = "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def counter(app):
    """The app's view counter (TEMPORARY: set up here until create_app calls pageviews.init_app),
    flushing every 5 views or 60 s of a clock the test moves."""
    if "pageviews" not in app.extensions:
        pageviews.init_app(app)
    counter = app.extensions["pageviews"]
    counter.flush_every, counter.flush_seconds, counter.clock = 5, 60, Clock()
    return counter


@pytest.fixture
def writes(app):
    """Every INSERT, UPDATE or DELETE the app's engine sends, as it sends it."""
    seen = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def product_id(app):
    with app.app_context():
        make_regions()
        product = make_product(title="老人手机", stock=10)
        db.session.commit()
        return product.id


def view(client, url: str, rendition: str = "basic", status: int = 200) -> None:
    response = client.get(url, headers={"User-Agent": UA[rendition]})
    assert response.status_code == status, url
    response.close()  # what the server does once the body is sent: runs call_on_close


def stored(app) -> dict[tuple[str, str], int]:
    with app.app_context():
        rows = db.session.execute(
            select(PageViewCount.rendition, PageViewCount.page, PageViewCount.views)
        )
        return {(r, p): v for r, p, v in rows}


def today_cst() -> date:
    return datetime.now(CHINA).date()


def test_page_views_write_nothing_until_the_batch_is_full(app, client, counter, writes):
    for n in range(4):
        view(client, "/")
    assert writes == []  # four page views, not one database write
    assert counter.pending == 4 and stored(app) == {}
    response = client.get("/", headers={"User-Agent": UA["basic"]})
    assert writes == []  # the fifth takes the batch, written only once the response is sent
    response.close()
    # One upsert of the views, one insert-or-ignore of their visitors.
    assert len(writes) == 2 and "page_view_counts" in writes[0]
    assert "funnel_visitors" in writes[1]
    assert counter.pending == 0
    assert stored(app) == {("basic", "home"): 5}
    with app.app_context():
        assert db.session.scalar(select(PageViewCount.day)) == today_cst()


def test_a_batch_also_goes_out_when_its_oldest_view_is_old_enough(app, client, counter, writes):
    view(client, "/")
    counter.clock.now = 59
    view(client, "/", "touch")
    assert writes == [] and counter.pending == 2
    counter.clock.now = 60
    view(client, "/no-such-page", status=404)  # any request notices the batch is due
    assert len(writes) == 2
    assert stored(app) == {("basic", "home"): 1, ("touch", "home"): 1}


def test_counts_home_product_and_confirmation_views_per_rendition(app, client, counter, product_id):
    counter.flush_every = 1000
    view(client, "/", "wml")
    view(client, f"/p/{product_id}", "wml")
    view(client, f"/p/{product_id}", "touch")
    view(client, "/p/999999", "touch", status=404)  # not a product page view
    view(client, f"/buy/{product_id}?pick=1", "touch")  # the region pick list, not the confirmation
    view(client, f"/buy/{product_id}?region={COVERED}", "touch")
    view(client, f"/buy/{product_id}?region={COVERED}", "basic")
    with app.app_context():
        variant_id = db.session.get(Product, product_id).variants[0].id
    client.post("/cart/add?ver=color", data={"v": str(variant_id)})
    confirm = client.get(
        f"/cart/checkout?region={COVERED}&ver=color", headers={"User-Agent": UA["basic"]}
    )
    confirm.close()
    form = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', confirm.text))
    form |= {"name": "张三", "phone": "13800138000", "street": "人民路1号", "payment": "cod"}
    placed = client.post("/cart/checkout?ver=color", data=form, headers={"User-Agent": UA["basic"]})
    assert placed.status_code == 303, placed.text
    placed.close()
    view(client, "/cart?ver=color", "basic")  # the cart itself is not a step
    view(client, "/s?q=手机", "basic")  # not a funnel page
    client.head("/", headers={"User-Agent": UA["basic"]}).close()  # only GETs
    assert stored(app) == {}
    assert pageviews.flush(app)
    assert stored(app) == {
        ("wml", "home"): 1,
        ("wml", "product"): 1,
        ("touch", "product"): 1,
        ("touch", "confirm"): 1,
        ("basic", "confirm"): 1,
        ("color", "confirm"): 1,
    }
    with app.app_context():  # the cart's purchase is the color visitor's order step
        steps = db.session.execute(
            select(FunnelVisitor.rendition, FunnelVisitor.step).where(
                FunnelVisitor.rendition == "color"
            )
        ).all()
    assert sorted(steps) == [("color", "confirm"), ("color", "order")]


def test_batches_add_to_the_stored_counts(app, client, counter):
    for n in range(10):
        view(client, "/")
    view(client, "/")
    pageviews.flush(app)
    assert stored(app) == {("basic", "home"): 11}
    with app.app_context():
        funnel_service.record_views({(today_cst(), "basic", "home", "v" * 32): 4})
        db.session.commit()
    assert stored(app) == {("basic", "home"): 15}


def test_a_failed_write_keeps_the_counts_for_the_next_batch(app, client, counter, monkeypatch):
    def broken(counts):
        raise RuntimeError("database away")

    monkeypatch.setattr(funnel_service, "record_views", broken)
    for n in range(5):
        view(client, "/")
    assert counter.pending == 5 and stored(app) == {}
    monkeypatch.undo()
    view(client, "/")  # the five given back and this one are due: all six go out
    assert counter.pending == 0
    assert stored(app) == {("basic", "home"): 6}


@pytest.mark.server
@pytest.mark.parametrize("threads", [1, 4])  # sync workers, and gthread workers
def test_a_graceful_stop_writes_every_worker_s_counted_views(app, product_id, threads):
    # Batches far larger than the views served: only the workers' exit can write them.
    server = LiveServer(app, workers=2, threads=threads, FUNNEL_FLUSH_EVERY=10_000)
    try:
        with requests.Session() as http:
            for i in range(40):
                url = f"{server.url}/p/{product_id}" if i % 2 else f"{server.url}/"
                response = http.get(url, headers={"User-Agent": UA["basic"]}, timeout=10)
                assert response.status_code == 200
        assert stored(app) == {}
    finally:
        server.stop()  # SIGTERM to the master: a graceful stop
    log = server.final_log
    assert stored(app) == {("basic", "home"): 20, ("basic", "product"): 20}, log


def visitors(app) -> dict[tuple[str, str], int]:
    """Distinct visitors stored per (rendition, step)."""
    with app.app_context():
        rows = db.session.execute(
            select(FunnelVisitor.rendition, FunnelVisitor.step, func.count())
            .group_by(FunnelVisitor.rendition, FunnelVisitor.step)
        )  # fmt: skip
        return {(r, s): n for r, s, n in rows}


def test_steps_count_visitors_once_a_day_not_views_and_bots_not_at_all(
    app, client, counter, product_id
):
    counter.flush_every = 1000
    client.environ_base["HTTP_USER_AGENT"] = UA["touch"]  # place_order's pages too
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    bot = app.test_client()
    for _ in range(2):
        view(client, "/", "touch")
        view(other, "/", "touch")
        bot.get("/", headers={"User-Agent": BOT}).close()
    for _ in range(3):
        view(client, f"/p/{product_id}", "touch")
        bot.get(f"/p/{product_id}", headers={"User-Agent": BOT}).close()
    place_order(app, product_id, client=client)  # confirmation page, then the order
    place_order(app, product_id, client=client)  # a second order: still one visitor
    assert pageviews.flush(app)
    assert visitors(app) == {
        ("touch", "home"): 2,
        ("touch", "product"): 1,
        ("touch", "confirm"): 1,
        ("touch", "order"): 1,
    }
    assert stored(app) == {("touch", "home"): 4, ("touch", "product"): 3, ("touch", "confirm"): 2}
    with app.app_context():
        keys = db.session.scalars(select(FunnelVisitor.visitor)).all()
    assert all(len(key) == 32 and "10.0.0.2" not in key for key in keys)


def test_the_visitor_key_is_a_keyed_hash_of_address_browser_and_day():
    day = date(2025, 3, 1)
    key = pageviews.visitor_key("s1", "10.0.0.1", UA["basic"], day)
    assert key == pageviews.visitor_key("s1", "10.0.0.1", UA["basic"], day)
    assert len(key) == 32 and "10.0.0.1" not in key
    assert key != pageviews.visitor_key("s2", "10.0.0.1", UA["basic"], day)
    assert key != pageviews.visitor_key("s1", "10.0.0.2", UA["basic"], day)
    assert key != pageviews.visitor_key("s1", "10.0.0.1", UA["touch"], day)
    assert key != pageviews.visitor_key("s1", "10.0.0.1", UA["basic"], date(2025, 3, 2))
