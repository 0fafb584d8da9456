"""更多特价: when more deals run than a rendition's home shows (WML 4), the home links to a page
listing every deal running for that rendition, a page at a time, on all four renditions,
valid and within budget; ended, future, stopped and other renditions' deals stay off it."""

from datetime import timedelta

import pytest

from factories import make_deal, make_product
from test_markup import BUDGET, PHONES, validate, with_params
from wapclient import FlaskTransport, WapClient, only_sid
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.renditions import RENDITIONS

TITLES = [f"特价好货{n}号" for n in range(1, 6)]


@pytest.fixture
def five_deals(app):
    with app.app_context():
        now = utcnow()
        for position, title in enumerate(TITLES):
            make_deal(make_product(title=title), position=position)
        make_deal(make_product(title="只给触屏看"), renditions="touch")
        make_deal(make_product(title="明天才开始"), starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))  # fmt: skip
        make_deal(make_product(title="昨天结束了"), starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))  # fmt: skip
        make_deal(make_product(title="已经停止了"), stopped=True)
        db.session.commit()


def phone(app, rendition: str) -> WapClient:
    client = WapClient(FlaskTransport(app), *PHONES[rendition])
    client.open(f"/?ver={rendition}")
    return client


def titles_on(page) -> list[str]:
    text = page.visible_text
    return [
        t for t in [*TITLES, "只给触屏看", "明天才开始", "昨天结束了", "已经停止了"] if t in text
    ]


def check_markup(page, rendition: str) -> None:
    assert page.status == 200
    assert len(page.body) <= BUDGET[rendition]
    if rendition != "touch":
        validate(page.body)


def test_wml_home_shows_four_and_links_to_all_five(app, five_deals):
    wml = phone(app, "wml")
    assert titles_on(wml.page) == TITLES[:4]
    first = wml.follow("更多特价")
    check_markup(first, "wml")
    assert titles_on(first) == TITLES[:4]
    second = wml.follow("下页")
    check_markup(second, "wml")
    assert titles_on(second) == TITLES[4:]


@pytest.mark.parametrize("rendition", ["basic", "color", "touch"])
def test_more_deals_lists_every_running_deal_of_the_rendition(app, five_deals, rendition):
    client = phone(app, rendition)
    shown = TITLES + (["只给触屏看"] if rendition == "touch" else [])
    assert titles_on(client.page) == shown
    assert "更多特价" not in client.page.visible_text  # the home has room for them all
    page = client.open(with_params("/deals", sid=only_sid(client.page)))
    check_markup(page, rendition)
    assert titles_on(page) == shown


def test_more_deals_with_no_deals_says_so_and_past_the_last_page_is_404(app, client):
    for rendition in RENDITIONS:
        page = client.get(f"/deals?ver={rendition}")
        assert page.status_code == 200 and "今天的特价已抢完" in page.text
    assert client.get("/deals?page=2").status_code == 404
    assert client.get("/deals?page=x").status_code == 400
