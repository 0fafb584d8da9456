"""Keyset paging of the category and search lists (services/pagination.keyed_page): the pager's
plain GET links carry ?after= / ?before=, and every way of reaching a page shows the same
products as counting rows from the start would."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from factories import make_category, make_product
from test_stock_locks import statements
from wapshop.extensions import db
from wapshop.models import Product
from wapshop.services import catalog, stock
from wapshop.services.pagination import Position, paginate

PER_PAGE = 5  # basic's page size is set to this here


@pytest.fixture
def shelf(app):
    app.config["PAGE_SIZE"] = {**app.config["PAGE_SIZE"], "basic": PER_PAGE}
    with app.app_context():
        top = make_category()
        sub = make_category(parent_id=top.id)
        other = make_category(parent_id=top.id)
        ids = [
            make_product(title=f"按键手机{n}", category_id=(sub if n % 3 else other).id).id
            for n in range(23)
        ]
        hidden = make_product(title="按键手机下架", category_id=sub.id, active=False)
        db.session.commit()
        return {"top": top.id, "ids": sorted(ids, reverse=True), "hidden": hidden.id}


def product_ids(page_text: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/p/(\d+)', page_text)]


def link(page_text: str, label: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]*>{label}</a>', page_text)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(client, first_url: str) -> tuple[list[list[int]], list[str]]:
    """Follow 下页 to the end; each page's products and URL."""
    pages, urls, url = [], [], first_url
    while url:
        text = client.get(url).text
        pages.append(product_ids(text))
        urls.append(url)
        url = link(text, "下页")
    return pages, urls


@pytest.mark.parametrize("path", ["/c/{top}?ver=basic", "/s?q=按键手机&ver=basic"])
def test_next_and_previous_links_walk_the_same_pages_as_counting(app, client, shelf, path):
    url = path.format(top=shelf["top"])
    pages, urls = walk(client, url)
    expected = [shelf["ids"][i : i + PER_PAGE] for i in range(0, len(shelf["ids"]), PER_PAGE)]
    assert pages == expected
    assert all("after=" in u for u in urls[1:])  # the next pages were found by key
    assert shelf["hidden"] not in sum(pages, [])
    # Back from the last page with 上页, each page as it was on the way forward.
    text = client.get(urls[-1]).text
    for number in range(len(pages) - 2, -1, -1):
        previous = link(text, "上页")
        query = parse_qs(urlsplit(previous).query)
        assert query["page"] == [str(number + 1)]
        assert ("before" in query) == (number > 0)
        text = client.get(previous).text
        assert product_ids(text) == pages[number]
    # A typed ?page=N (no key) shows the same page, the last read from the other end.
    for number, shown in enumerate(pages, start=1):
        assert product_ids(client.get(f"{url}&page={number}").text) == shown


def test_keyed_pages_match_offset_paging_in_the_service(app, shelf):
    with app.app_context():
        top = catalog.category(shelf["top"])
        ids = [top.id, *(c.id for c in top.children)]
        stmt = (
            select(Product)
            .where(Product.category_id.in_(ids), Product.active.is_(True))
            .order_by(Product.id.desc())
        )
        for number in range(1, 6):
            counted = [p.id for p in paginate(stmt, number, PER_PAGE).items]
            bare = catalog.category_products(top, Position(number), PER_PAGE)
            assert [p.id for p in bare.items] == counted
            assert (bare.first_key, bare.last_key) == (counted[0], counted[-1])
        page_two = catalog.category_products(top, Position(2), PER_PAGE)
        after = catalog.category_products(top, Position(3, after=page_two.last_key), PER_PAGE)
        assert [p.id for p in after.items] == [p.id for p in paginate(stmt, 3, PER_PAGE).items]
        before = catalog.category_products(top, Position(2, before=after.first_key), PER_PAGE)
        assert [p.id for p in before.items] == [p.id for p in page_two.items]


@pytest.mark.parametrize(
    "query",
    ["after=-1", "after=%C2%B2", "after=99999999999", "before=x", "after=3&before=4", "after="],
)
def test_hostile_keys_are_a_400(client, shelf, query):
    response = client.get(f"/c/{shelf['top']}?ver=basic&page=2&{query}")
    assert response.status_code == 400
    assert "页码不对" in response.text


def test_a_page_past_the_last_is_a_404_with_or_without_a_key(client, shelf):
    assert client.get(f"/c/{shelf['top']}?ver=basic&page=6").status_code == 404
    assert client.get(f"/c/{shelf['top']}?ver=basic&page=6&after=1").status_code == 404


def test_a_category_is_counted_once_until_the_catalogue_changes(app, client, shelf):
    url = f"/c/{shelf['top']}?ver=basic"

    def counted_pages() -> tuple[str, int]:
        with app.app_context(), statements() as seen:
            text = client.get(url).text
        return re.search(r"1/(\d+)", text).group(1), sum("count(" in s for s in seen)

    assert counted_pages() == ("5", 1)  # 23 products, 5 a page
    assert counted_pages() == ("5", 0)  # the figure kept: no COUNT
    with app.app_context():
        for n in range(3):  # a staff change: 26 products
            make_product(title=f"按键手机新{n}", category_id=shelf["top"])
        db.session.commit()
    assert counted_pages() == ("6", 1)
    with app.app_context():
        for product_id in shelf["ids"][:6]:  # taken off sale: 20
            db.session.get(Product, product_id).active = False
        db.session.commit()
    assert counted_pages() == ("4", 1)
    with app.app_context():
        variant = stock.sole_variant(shelf["ids"][7])
        assert stock.take(variant.id, 1)  # a sale moves no figure
        db.session.commit()
    assert counted_pages() == ("4", 0)
