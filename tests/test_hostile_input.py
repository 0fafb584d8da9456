"""Issue 12, "Bad input: 0 responses >= 500": one named table per cause the fuzz found. Each
answer is a 4xx (or the page, ignoring what it cannot use) with a message, never a 500, and
nothing refused is written."""

import io
import re

import pytest
from sqlalchemy import func, select

from support.pages import csrf, post_form
from support.staff import PASSWORD, log_in_as, make_staff
from factories import COVERED, make_category, make_deal, make_product, make_regions, make_seller
from support.buyers import register
from wapshop.extensions import db
from wapshop.models import Category, Deal, Order, Product
from wapshop.parsing import parse_date, parse_int

HUGE = str(2**63)  # one past the largest BIGINT
BUYER_PHONE, BUYER_PASSWORD = "13912345678", "s3cret-pass"


@pytest.fixture
def shop(app):
    with app.app_context():
        make_regions()
        product = make_product()
        deal = make_deal(product)
        db.session.commit()
        return {"product": product.id, "category": product.category_id, "deal": deal.id}


@pytest.fixture
def admin(app, client, shop):
    return log_in_as(app, client, "admin")


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- 1. Ids beyond 64 bits in paths: the URL map refuses them, every route at once


@pytest.mark.parametrize("number", [HUGE, "99999999999999999999999", "١٢"])
@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/p/{}"),
        ("GET", "/c/{}"),
        ("GET", "/buy/{}"),
        ("POST", "/buy/{}"),
        ("GET", "/o/1234567890/help/{}"),
        ("GET", "/admin/products/{}"),
        ("POST", "/admin/deals/{}/stop"),
        ("POST", "/admin/orders/{}/cancel"),
    ],
)
def test_ids_beyond_64_bits_in_paths_are_not_found(app, client, admin, method, path, number):
    # 405 where another rule has that path shape for other methods
    assert client.open(path.format(number), method=method).status_code in (404, 405)


@pytest.mark.parametrize("number", [2**31 - 1, 2**31, 2**63 - 1])
def test_ids_up_to_what_an_integer_column_holds_are_looked_up_and_past_it_not_found(
    client, shop, number
):
    """Id columns are INTEGER: 32 bits on PostgreSQL, where 2**31 overflowed in the driver."""
    assert client.get(f"/p/{number}").status_code == 404
    assert client.post(f"/admin/orders/{number}/cancel").status_code in (302, 303, 404)
    assert client.get(f"/p/{shop['product']}").status_code == 200


# --- 2. Numbers: ASCII digits only, within what the column holds


@pytest.mark.parametrize(
    "text,lo,hi,expected",
    [
        ("12", 0, 99, 12),
        (" 7 ", 1, 9, 7),
        ("²", 0, 99, ValueError),
        ("١٢", 0, 99, ValueError),
        ("１２", 0, 99, ValueError),
        ("-1", 0, 99, ValueError),
        ("+1", 0, 99, ValueError),
        ("1_0", 0, 99, ValueError),
        (HUGE, 0, 2**63 - 1, ValueError),
        ("100", 0, 99, ValueError),
        ("", 0, 99, ValueError),
    ],
)
def test_parse_int_takes_ascii_digits_within_bounds(text, lo, hi, expected):
    if expected is ValueError:
        with pytest.raises(ValueError):
            parse_int(text, lo, hi)
    else:
        assert parse_int(text, lo, hi) == expected


def test_parse_int_stops_at_what_an_integer_column_holds():
    assert parse_int(str(2**31 - 1)) == 2**31 - 1
    with pytest.raises(ValueError):
        parse_int(str(2**31))


@pytest.mark.parametrize("page", ["%C2%B2", "%D9%A1", HUGE, "0", "-1", "1e3"])
@pytest.mark.parametrize("path", ["/c/{category}", "/s?q=测试", "/"])
def test_a_page_number_that_is_not_one_is_a_400_with_a_message(client, shop, path, page):
    url = path.format(**shop)
    answer = client.get(f"{url}{'&' if '?' in url else '?'}page={page}")
    if path == "/":
        assert answer.status_code == 200  # the home page has no pages
    else:
        assert answer.status_code == 400 and "页码不对" in answer.text


@pytest.mark.parametrize("n", ["%C2%B2", HUGE, "-1", "x"])
def test_a_region_pick_index_that_is_not_a_number_shows_the_pick_list(client, shop, n):
    answer = client.get(f"/buy/{shop['product']}?n={n}")
    assert answer.status_code == 200


@pytest.mark.parametrize("quantity", ["²", "１", HUGE, "0", "-1", "1e2"])
def test_an_order_quantity_that_is_not_1_to_99_is_refused_and_nothing_is_ordered(
    app, client, shop, quantity
):
    page = client.get(f"/buy/{shop['product']}?region={COVERED}")
    fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', page.text))
    fields.update(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    fields.update(name="张三", phone="13800138000", street="科技园路1号", payment="cod")
    answer = client.post(f"/buy/{shop['product']}", data={**fields, "quantity": quantity})
    assert answer.status_code == 400 and "数量请填1到" in answer.text
    assert count(app, Order) == 0


@pytest.mark.parametrize(
    "field,value",
    [
        ("product_id", HUGE),
        ("product_id", "²"),
        ("quantity", "99999999999999999999"),
        ("deal_price", HUGE),
        ("deal_price", "1e30"),
    ],
)
def test_deal_form_numbers_past_what_the_database_holds_are_form_errors(
    app, client, admin, shop, field, value
):
    fields = {
        "product_id": str(shop["product"]),
        "deal_price": "9.90",
        "starts_at": "2030-05-01 10:00",
        "ends_at": "2030-05-01 12:00",
        "quantity": "10",
        "per_buyer_limit": "2",
        "renditions": "touch",
        "position": "0",
    }
    answer = post_form(client, "/admin/deals/new", {**fields, field: value})
    assert answer.status_code == 400
    assert count(app, Deal) == 1


@pytest.mark.parametrize("field,value", [("stock", "²"), ("stock", HUGE), ("shop_price", HUGE)])
def test_product_form_numbers_past_what_the_database_holds_are_form_errors(
    app, client, admin, shop, field, value
):
    with app.app_context():
        seller = make_seller().id
        db.session.commit()
    fields = {
        "title": "新商品",
        "category_id": str(shop["category"]),
        "seller_id": str(seller),
        "shop_price": "10",
        "market_price": "20",
        "stock": "5",
        "active": "y",
    }
    answer = post_form(client, "/admin/products/new", {**fields, field: value})
    assert answer.status_code == 400
    assert count(app, Product) == 1


def test_settlement_ids_that_are_not_ids_are_ignored(client, admin):
    answer = post_form(
        client,
        "/admin/settlement/",
        {"carrier": "顺丰", "order_ids": ["²", HUGE], "reference": "x", "fee": "1"},
        form_page="/admin/settlement/?carrier=顺丰",
    )
    assert answer.status_code == 400


@pytest.mark.parametrize("threshold", ["²", HUGE, "-5"])
def test_a_stock_threshold_that_is_not_a_number_uses_the_default(client, admin, threshold):
    assert client.get(f"/admin/products/stock?threshold={threshold}").status_code == 200


# --- 3. Dates: years Python and the database hold, with room for a range or a time zone


@pytest.mark.parametrize("text", ["0001-01-01", "1899-12-31", "9999-12-31", "２０１３-05-01"])
def test_parse_date_refuses_years_out_of_range(text):
    with pytest.raises(ValueError):
        parse_date(text)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/reports/?end=0001-01-01",
        "/admin/reports/?start=0001-01-01&end=0001-01-02",
        "/admin/reports/daily?start=9999-12-31",
        "/admin/reports/overview/days.csv?end=0001-01-01",
        "/admin/deals/?day=0001-01-01",
        "/admin/deals/?day=9999-12-31",
        "/admin/deals/preview?at=0001-01-01+00:00",
    ],
)
def test_dates_out_of_range_in_back_office_filters_are_a_400_with_a_message(client, admin, url):
    answer = client.get(url)
    assert answer.status_code == 400
    assert "格式不对" in answer.text


@pytest.mark.parametrize("when", ["0001-01-01 00:00", "9999-12-31 23:59"])
def test_deal_times_out_of_range_are_form_errors(app, client, admin, shop, when):
    fields = {
        "product_id": str(shop["product"]),
        "deal_price": "9.90",
        "starts_at": when,
        "ends_at": "2030-05-01 12:00",
        "quantity": "10",
        "per_buyer_limit": "2",
        "renditions": "touch",
    }
    answer = post_form(client, "/admin/deals/new", fields)
    assert answer.status_code == 400 and "年份不对" in answer.text
    assert count(app, Deal) == 1


# --- 4. A Host header no URL can be built for


@pytest.mark.parametrize("host", ["a" * 300, "x" * 64 + ".cn", "shop." + "y" * 70 + ".cn"])
@pytest.mark.parametrize("path", ["/", "/p/1", "/admin/login", "/no-such-page"])
def test_a_host_header_no_url_can_be_built_for_is_a_400(client, shop, host, path):
    answer = client.get(path, headers={"Host": host})
    assert answer.status_code == 400
    assert "请求有误" in answer.get_data(as_text=True)


# --- 5. CRLF and other control characters in redirect targets


def buyer_login(client, next_url: str):
    register(client, BUYER_PHONE, BUYER_PASSWORD)
    client.post("/u/logout", data={"csrf_token": _token(client, "/u")})
    return client.post(
        f"/u/login?next={next_url}",
        data={
            "csrf_token": _token(client, "/u/login"),
            "phone": BUYER_PHONE,
            "password": BUYER_PASSWORD,
        },
    )


def _token(client, url: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(url).text).group(1)


@pytest.mark.parametrize(
    "target", ["/o%0D%0ASet-Cookie:%20x=1", "/o%0Ax", "/%09/evil.example", "/%00", "/o%5C"]
)
def test_control_characters_in_a_redirect_target_are_percent_encoded(app, client, target):
    answer = buyer_login(client, target)
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert not re.search(r"[\x00-\x20\x7f\\]", location)
    assert "Set-Cookie" not in answer.headers or "x=1" not in answer.headers["Set-Cookie"]


def test_control_characters_in_a_back_office_next_are_percent_encoded(app, client, shop):
    with app.app_context():
        staff = make_staff("admin")
        db.session.commit()
        name = staff.username
    answer = client.post(
        "/admin/login?next=/admin/%0D%0AX-Evil:%201",
        data={"csrf_token": csrf(client, "/admin/login"), "username": name, "password": PASSWORD},
    )
    assert answer.status_code == 303
    assert "\r" not in answer.headers["Location"] and "X-Evil" not in answer.headers


# --- 6. Control characters and what XML cannot carry are never stored


@pytest.mark.parametrize("name", ["耳机\x00", "耳\x1b机", "耳机\ufffe", "耳机\uffff", "耳\n机"])
def test_a_category_name_with_a_control_character_is_refused(app, client, admin, name):
    before = count(app, Category)
    answer = post_form(
        client, "/admin/categories/new", {"name": name, "parent_id": "0", "position": "0"}
    )
    assert answer.status_code == 400 and "不能含有控制字符" in answer.text
    assert count(app, Category) == before
    assert client.get("/?ver=wml").status_code == 200


def test_a_product_title_with_nul_is_refused_but_specs_may_span_lines(app, client, admin, shop):
    with app.app_context():
        seller = make_seller().id
        db.session.commit()
    fields = {
        "category_id": str(shop["category"]),
        "seller_id": str(seller),
        "shop_price": "10",
        "market_price": "20",
        "stock": "5",
        "specs": "颜色:黑色\r\n产地:深圳",
        "active": "y",
    }
    refused = post_form(client, "/admin/products/new", {**fields, "title": "坏\x00商品"})
    assert refused.status_code == 400 and "U+0000" in refused.text
    saved = post_form(client, "/admin/products/new", {**fields, "title": "好商品"})
    assert saved.status_code == 303
    assert count(app, Product) == 2


@pytest.mark.parametrize("cell", ["坏\x00标题", "标题\x07", "标题\ufffe"])
def test_a_csv_import_with_a_control_character_imports_nothing(app, client, admin, cell):
    with app.app_context():
        top = make_category(name="鞋服")
        make_category(name="男鞋", parent_id=top.id)
        make_seller(name="晋江鞋业批发")
        db.session.commit()
    before = count(app, Product)
    text = (
        "商品ID,标题,副标题,分类,卖家,商城价,市场价,库存,规格,上架\n"
        f",{cell},,鞋服/男鞋,晋江鞋业批发,59.90,99.00,120,,是\n"
    )
    answer = post_form(
        client,
        "/admin/csv/",
        {"kind": "products", "file": (io.BytesIO(text.encode()), "p.csv"), "apply": "y"},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422 and "不能含有控制字符" in answer.text
    assert count(app, Product) == before


def test_a_buyer_address_with_nul_is_refused_in_the_buyers_language(app, client, shop):
    page = client.get(f"/buy/{shop['product']}?region={COVERED}")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    fields.update(name="张\x00三", phone="13800138000", street="科技园路1号", payment="cod")
    answer = client.post(f"/buy/{shop['product']}", data={**fields, "quantity": "1"})
    assert answer.status_code == 400 and "不能含有控制字符" in answer.text
    assert count(app, Order) == 0


# --- 7. Invalid UTF-8 in query strings and form bodies


@pytest.mark.parametrize(
    "method,url,body",
    [
        ("GET", "/s?q=%FF%FE", None),
        ("GET", "/c/{category}?page=%FF", None),
        ("GET", "/buy/{product}?region=%C3%28&n=%ED%A0%80", None),
        ("POST", "/o/find", b"phone=%FF%FE&number=%C3%28"),
        ("POST", "/u/login", b"phone=%FF&password=%ED%A0%80"),
        ("POST", "/buy/{product}", b"name=%FF&street=%FE%FF&quantity=%C2%B2"),
    ],
)
def test_invalid_utf8_in_query_and_form_values_is_never_a_500(client, shop, method, url, body):
    answer = client.open(
        url.format(**shop),
        method=method,
        data=body,
        content_type="application/x-www-form-urlencoded" if body else None,
    )
    assert answer.status_code < 500


@pytest.mark.parametrize(
    "url", ["/s", "/c/{category}", "/p/{product}", "/buy/{product}", "/cart", "/"]
)
def test_raw_bytes_past_ascii_in_a_query_string_are_never_a_500(client, shop, url):
    """A search typed on an old phone arrives as raw GBK bytes, unescaped ("手机" is
    CAB6 BBFA); the server hands them on as Latin-1 characters."""
    raw = b"q=\xca\xd6\xbb\xfa&page=\xb2&sid=\xff".decode("latin-1")
    answer = client.get(url.format(**shop), environ_overrides={"QUERY_STRING": raw})
    assert answer.status_code < 500, answer.status_code


# --- Query names that collide with the page's own or with url_for's keywords


@pytest.mark.parametrize(
    "query", ["product_id=2", "_external=1&_scheme=javascript", "_anchor=x&_method=POST"]
)
def test_query_names_that_collide_with_url_building_still_render_the_page(client, shop, query):
    answer = client.get(f"/p/{shop['product']}?{query}")
    assert answer.status_code == 200
    assert "javascript:" not in answer.text


# --- 8. A CSV import too big for one request is refused whole, not left to the worker timeout


def test_a_web_import_out_of_time_is_refused_whole(tmp_path):
    from conftest import make_app

    app = make_app(tmp_path, ADMIN_IMPORT_SECONDS=0)
    client = app.test_client()
    with app.app_context():
        top = make_category(name="鞋服")
        make_category(name="男鞋", parent_id=top.id)
        make_seller(name="晋江鞋业批发")
        make_staff("operator", username="op")
        db.session.commit()
    log_in_as(app, client, "operator")
    rows = [f",男鞋{i},,鞋服/男鞋,晋江鞋业批发,59.90,99.00,1,,是" for i in range(50)]
    text = "\n".join(["商品ID,标题,副标题,分类,卖家,商城价,市场价,库存,规格,上架", *rows])
    answer = post_form(
        client,
        "/admin/csv/",
        {"kind": "products", "file": (io.BytesIO(text.encode()), "p.csv"), "apply": "y"},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 413 and "命令行" in answer.text
    assert count(app, Product) == 0
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
