"""Search pages without a count of the matches (issue 18, growth): a page reads one row more
than it shows to know whether there is a next one, the pager shows 上页/下页 and the page
number alone, in every rendition, reached by ?after= / ?before= keys or a bare ?page=N."""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import event

from factories import make_category, make_product
from test_featurephone_flows import PHONES
from wapclient import FlaskTransport, WapClient, rendition_of
from wapshop.extensions import db
from wapshop.models import Product
from wapshop.services import catalog
from wapshop.services.pagination import Position

PER_PAGE = 4
WORD = "翻盖手机"
MATCHES = 11  # 3 pages of 4, 4, 3


@pytest.fixture
def shelf(app):
    app.config["PAGE_SIZE"] = {r: PER_PAGE for r in app.config["PAGE_SIZE"]}
    with app.app_context():
        sub = make_category(parent_id=make_category().id)
        ids = []
        for n in range(MATCHES + 3):
            ids.append(make_product(title=f"{WORD}{n}号", category_id=sub.id).id)
            make_product(title=f"蓝牙耳机{n}", category_id=sub.id)  # not a match
        hidden = [ids.pop(3), ids.pop(7), ids.pop(9)]  # off sale: never shown
        for product_id in hidden:
            db.session.get(Product, product_id).active = False
        db.session.commit()
    assert len(ids) == MATCHES
    return {"ids": sorted(ids, reverse=True), "hidden": hidden}


def expected_pages(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + PER_PAGE] for i in range(0, len(ids), PER_PAGE)]


def shown(page) -> list[int]:
    """The products a page lists, in order, each once (touch links a card twice)."""
    found = [int(n) for n in re.findall(r"/p/(\d+)", " ".join(link.href for link in page.links()))]
    return list(dict.fromkeys(found))


def pager(page) -> str:
    """The pager's words: 上页, the page number, 下页 (the text around its links)."""
    for a in page.find("a"):
        if "".join(a.itertext()).strip() in ("上页", "下页"):
            return " ".join("".join(a.getparent().itertext()).split())
    return ""


def phone(app, rendition: str) -> WapClient:
    return WapClient(FlaskTransport(app), *PHONES[rendition])


@pytest.mark.parametrize("rendition", ["wml", "basic", "color", "touch"])
def test_a_phone_pages_forward_and_back_through_every_match_once(app, shelf, rendition):
    client = phone(app, rendition)
    page = client.open("/s?" + urlencode({"q": WORD, "ver": rendition}))
    assert rendition_of(page) == rendition
    forward = [shown(page)]
    links = [{link.text for link in page.links()}]
    while "下页" in links[-1]:
        page = client.follow("下页")
        assert page.status == 200
        assert "after" in parse_qs(urlsplit(page.url).query)  # found by key, not by offset
        forward.append(shown(page))
        links.append({link.text for link in page.links()})
    assert forward == expected_pages(shelf["ids"])
    assert not set(shelf["hidden"]) & set(sum(forward, []))
    assert "上页" not in links[0] and "上页" in links[-1]  # the last page: 上页, no 下页
    # The page number alone: no "of N" where nothing was counted.
    assert pager(page).replace(" ", "") == f"上页{len(forward)}"
    backward = [shown(page)]
    while "上页" in {link.text for link in page.links()}:
        page = client.follow("上页")
        assert page.status == 200
        backward.append(shown(page))
    assert backward[::-1] == forward
    assert pager(page).replace(" ", "") == "1下页"


@pytest.mark.parametrize("rendition", ["basic", "color"])
def test_a_typed_page_number_shows_that_page_and_past_the_last_is_a_404(
    app, client, shelf, rendition
):
    url = "/s?" + urlencode({"q": WORD, "ver": rendition})
    for number, ids in enumerate(expected_pages(shelf["ids"]), start=1):
        page = client.get(f"{url}&page={number}")
        assert page.status_code == 200
        assert [int(n) for n in dict.fromkeys(re.findall(r'href="/p/(\d+)', page.text))] == ids
        assert ("下页" in page.text) == (number < 3)
    assert client.get(f"{url}&page=4").status_code == 404
    assert client.get(f"{url}&page=10000").status_code == 404
    # A key past the last match: an empty page past the first is past the end too.
    assert client.get(f"{url}&page=4&after={shelf['ids'][-1]}").status_code == 404


def test_no_page_starts_past_the_most_matches_a_search_pages_through(
    app, client, shelf, monkeypatch
):
    monkeypatch.setattr(catalog, "SEARCH_MAX_HITS", 2 * PER_PAGE)
    url = "/s?" + urlencode({"q": WORD, "ver": "basic"})
    second = client.get(f"{url}&page=2")
    assert second.status_code == 200 and "下页" not in second.text
    assert client.get(f"{url}&page=3").status_code == 404


def statements_of(app, client, url: str) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_search_page_counts_nothing_and_bounds_every_joined_key(app, client, shelf):
    url = "/s?" + urlencode({"q": WORD, "ver": "touch"})
    middle = shelf["ids"][PER_PAGE - 1]
    for path in (url, f"{url}&page=2", f"{url}&page=2&after={middle}", f"{url}&before={middle}"):
        run = statements_of(app, client, path)
        searched = [s for s in run if "search_terms" in s]
        assert searched, path
        assert not [s for s in run if re.search(r"\bcount\(", s, re.I)], path
        assert len(searched) == 1, path  # the page's rows and the one after, in one read
    # A keyed page bounds the product's id as well as the term's: PostgreSQL does not carry
    # `<` across the join, and its merge join walked the products index from the end.
    keyed = [s for s in statements_of(app, client, f"{url}&page=2&after={middle}")]
    assert any("products.id <" in s for s in keyed)


def test_the_service_reads_one_row_more_than_a_page_to_know_there_is_a_next(app, shelf):
    with app.app_context():
        first = catalog.search_products(WORD, Position(1), PER_PAGE)
        assert first.total is None and first.pages is None
        assert [p.id for p in first.items] == shelf["ids"][:PER_PAGE]
        assert first.has_next and not first.has_prev
        last = catalog.search_products(
            WORD, Position(3, after=shelf["ids"][2 * PER_PAGE - 1]), PER_PAGE
        )
        assert [p.id for p in last.items] == shelf["ids"][2 * PER_PAGE :]
        assert last.has_prev and not last.has_next
        exactly = catalog.search_products(
            WORD, Position(2, after=shelf["ids"][MATCHES - PER_PAGE - 1]), PER_PAGE
        )
        assert len(exactly.items) == PER_PAGE and not exactly.has_next  # ends on a full page
        back = catalog.search_products(WORD, Position(1, before=shelf["ids"][PER_PAGE]), PER_PAGE)
        assert [p.id for p in back.items] == shelf["ids"][:PER_PAGE] and back.has_next
