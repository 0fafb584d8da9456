"""Staff access: a login apart from buyers', throttled, with a new sid and an idle timeout; CSRF on
every form; what each role may do (403 otherwise); sellers confined to their own products; the
audit log and the staff pages that only admins see."""

import json
import time

import pytest
from sqlalchemy import func, select

from factories import make_deal, make_product
from support.pages import csrf, post_form
from support.staff import log_in_as, login, make_staff, PASSWORD
from wapshop.extensions import db
from wapshop.models import AuditEntry, Product, Staff, ThrottleCounter, WebSession

ADMIN_PAGES = [
    "/admin/",
    "/admin/deals/",
    "/admin/deals/new",
    "/admin/deals/preview",
    "/admin/products/",
    "/admin/products/new",
    "/admin/products/stock",
    "/admin/categories/",
    "/admin/collections/",
    "/admin/csv/",
    "/admin/csv/export/products.csv",
    "/admin/staff",
    "/admin/staff/new",
    "/admin/audit/",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_every_admin_page_sends_strangers_to_the_login(client, url):
    response = client.get(url)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_a_buyer_session_is_not_a_staff_session(app, client):
    from test_account_views import login as buyer_login
    from test_account_views import register

    register(client)
    buyer_login(client)
    assert client.get("/admin/").status_code == 303


def test_login_starts_a_new_session_and_returns_to_the_page_asked_for(app, client):
    with app.app_context():
        staff = make_staff("operator", name="王运营")
        db.session.commit()
        username = staff.username
    assert client.get("/admin/deals/").status_code == 303
    token = csrf(client, "/admin/login?next=/admin/deals/")
    before = client.get_cookie("wsid").value
    response = client.post(
        "/admin/login?next=/admin/deals/",
        data={"csrf_token": token, "username": username, "password": PASSWORD},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/deals/"
    after = client.get_cookie("wsid").value
    assert after != before
    with app.app_context():
        # The old sid lives on a few minutes for a resent form's CSRF check, holding nothing
        # else: no staff id, so it is worthless to anyone who saw it.
        old = db.session.get(WebSession, before)
        assert old is None or set(json.loads(old.data)) <= {"csrf_token", "ver", "lang"}
        assert db.session.scalar(select(Staff.last_login_at)) is not None
    stale = app.test_client()
    stale.set_cookie("wsid", before)
    assert stale.get("/admin/deals/").status_code == 303
    assert "王运营" in client.get("/admin/deals/").text


def test_login_never_redirects_off_the_back_office(app, client):
    who = log_in_as(app, client, "operator")
    post_form(client, "/admin/logout", {}, form_page="/admin/")
    token = csrf(client, "/admin/login")
    response = client.post(
        "/admin/login?next=https://evil.example/",
        data={"csrf_token": token, "username": who["username"], "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"


def test_wrong_passwords_are_refused_then_throttled(app, client):
    with app.app_context():
        username = make_staff("admin").username
        db.session.commit()
    for _ in range(app.config["THROTTLE_LIMIT"]):
        response = login(client, username, "wrong-password")
        assert response.status_code == 401 and "用户名或密码不对" in response.text
    throttled = login(client, username, PASSWORD)
    assert throttled.status_code == 429 and "登录失败次数太多" in throttled.text
    with app.app_context():
        # Every try counted, under this username from this address and under the address.
        counts = db.session.scalars(select(ThrottleCounter.hits)).all()
        assert counts == [app.config["THROTTLE_LIMIT"]] * 2


def test_a_deactivated_account_cannot_log_in_or_keep_its_session(app, client):
    who = log_in_as(app, client, "operator")
    with app.app_context():
        db.session.get(Staff, who["id"]).active = False
        db.session.commit()
    assert client.get("/admin/deals/").status_code == 303
    assert login(client, who["username"]).status_code == 401


def test_passwords_are_stored_as_slow_salted_hashes(app, runner):
    result = runner.invoke(
        args=["staff", "create-admin", "boss"], input="s3cret-enough\ns3cret-enough\n"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        boss = db.session.scalar(select(Staff).where(Staff.username == "boss"))
        assert boss.role == "admin" and boss.password_hash.startswith("scrypt:")
        assert "s3cret-enough" not in boss.password_hash
    assert login(app.test_client(), "boss", "s3cret-enough").status_code == 303
    short = runner.invoke(args=["staff", "create-admin", "boss2"], input="short\nshort\n")
    assert short.exit_code != 0 and "密码至少 8 位" in short.output


def test_an_idle_staff_session_expires(app, client):
    log_in_as(app, client, "operator")
    assert client.get("/admin/deals/").status_code == 200
    idle = app.config["ADMIN_SESSION_LIFETIME"].total_seconds()
    with client.session_transaction() as session:
        session["staff_seen"] = int(time.time() - idle - 5)
    response = client.get("/admin/deals/")
    assert response.status_code == 303 and "/admin/login" in response.headers["Location"]
    assert "长时间没有操作" in client.get(response.headers["Location"]).text


def test_logout_needs_the_csrf_token(app, client):
    log_in_as(app, client, "operator")
    client.post("/admin/logout", data={})
    assert client.get("/admin/").status_code == 200
    post_form(client, "/admin/logout", {}, form_page="/admin/")
    assert client.get("/admin/").status_code == 303


@pytest.mark.parametrize("token", ["", "forged"])
def test_a_change_without_the_csrf_token_changes_nothing(app, client, token):
    log_in_as(app, client, "operator")
    with app.app_context():
        deal_id = make_deal().id
        db.session.commit()
    response = client.post(f"/admin/deals/{deal_id}/stop", data={"csrf_token": token})
    assert response.status_code == 400 and "页面已过期" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


# What each role may not do: (method, url). Forms are posted with a valid CSRF token, so a 403
# is the role check, not a missing token.
FORBIDDEN = {
    "operator": [
        ("GET", "/admin/staff"),
        ("POST", "/admin/staff/new"),
        ("GET", "/admin/audit/"),
    ],
    "service": [
        ("GET", "/admin/deals/"),
        ("POST", "/admin/deals/new"),
        ("POST", "/admin/deals/copy-yesterday"),
        ("GET", "/admin/deals/preview"),
        ("GET", "/admin/products/"),
        ("POST", "/admin/products/new"),
        ("GET", "/admin/products/stock"),
        ("GET", "/admin/categories/"),
        ("GET", "/admin/collections/"),
        ("POST", "/admin/csv/"),
        ("GET", "/admin/csv/export/products.csv"),
        ("GET", "/admin/staff"),
        ("GET", "/admin/audit/"),
    ],
    "seller": [
        ("GET", "/admin/deals/"),
        ("POST", "/admin/deals/new"),
        ("POST", "/admin/deals/copy-yesterday"),
        ("GET", "/admin/categories/"),
        ("POST", "/admin/categories/new"),
        ("GET", "/admin/collections/"),
        ("POST", "/admin/collections/new"),
        ("GET", "/admin/csv/"),
        ("GET", "/admin/csv/export/deals.csv"),
        ("GET", "/admin/staff"),
        ("GET", "/admin/audit/"),
    ],
}


@pytest.mark.parametrize(
    "role,method,url", [(r, m, u) for r, pages in FORBIDDEN.items() for m, u in pages]
)
def test_each_role_gets_403_outside_its_work(app, client, role, method, url):
    log_in_as(app, client, role)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf(client, "/admin/")})
    assert response.status_code == 403 and "没有权限" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


@pytest.mark.parametrize("role", ["admin", "operator", "service", "seller"])
def test_the_navigation_offers_only_what_the_role_may_open(app, client, role):
    log_in_as(app, client, role)
    page = client.get("/admin/").text
    nav = page[page.index("<nav>") : page.index("</nav>")]
    links = [
        url
        for url in ("/admin/deals/week", "/admin/products/", "/admin/staff", "/admin/audit/")
        if f'href="{url}"' in nav
    ]
    for url in links:
        assert client.get(url).status_code == 200
    expected = {
        "admin": 4,
        "operator": 2,
        "service": 0,
        "seller": 1,
    }
    assert len(links) == expected[role]


@pytest.fixture
def two_sellers(app, client):
    who = log_in_as(app, client, "seller")
    with app.app_context():
        own = make_product(seller_id=who["seller_id"], title="自家商品", stock=3)
        other = make_product(title="别家商品", stock=2)
        db.session.commit()
        return {
            "who": who,
            "own": own.id,
            "other": other.id,
            "other_seller": other.seller_id,
            "category": own.category_id,
        }


def product_fields(category_id, seller_id, **overrides) -> dict:
    return {
        "title": "改过的标题",
        "subtitle": "",
        "category_id": str(category_id),
        "seller_id": str(seller_id),
        "shop_price": "59.90",
        "market_price": "99.00",
        "stock": "10",
        "specs": "颜色:黑色",
        "active": "y",
        **overrides,
    }


def test_a_seller_sees_and_changes_only_its_own_products(app, client, two_sellers):
    s = two_sellers
    listing = client.get("/admin/products/").text
    assert "自家商品" in listing and "别家商品" not in listing
    stock = client.get("/admin/products/stock").text
    assert "自家商品" in stock and "别家商品" not in stock

    own_fields = product_fields(s["category"], s["who"]["seller_id"], seen_stock="3")
    assert post_form(client, f"/admin/products/{s['own']}", own_fields).status_code == 303

    other_url = f"/admin/products/{s['other']}"
    assert client.get(other_url).status_code == 404
    assert client.get(f"/admin/products/{s['other'] + 1000}").status_code == 404
    token = csrf(client, "/admin/products/new")
    stolen = product_fields(s["category"], s["who"]["seller_id"], seen_stock="2")
    assert client.post(other_url, data={"csrf_token": token, **stolen}).status_code == 404
    upload = client.post(f"{other_url}/image", data={"csrf_token": token})
    assert upload.status_code == 404
    with app.app_context():
        assert db.session.get(Product, s["other"]).title == "别家商品"
        assert db.session.get(Product, s["own"]).title == "改过的标题"


def test_a_seller_cannot_hand_a_product_to_another_seller(app, client, two_sellers):
    s = two_sellers
    fields = product_fields(s["category"], s["other_seller"], seen_stock="3")
    response = post_form(client, f"/admin/products/{s['own']}", fields)
    assert response.status_code == 400 and "请从列表里选择" in response.text
    created = post_form(
        client, "/admin/products/new", product_fields(s["category"], s["other_seller"])
    )
    assert created.status_code == 400
    with app.app_context():
        assert db.session.get(Product, s["own"]).seller_id == s["who"]["seller_id"]
        assert db.session.scalar(select(func.count(Product.id))) == 2


def test_admins_read_the_audit_log_of_every_change(app, client):
    operator_client = app.test_client()
    operator = log_in_as(app, operator_client, "operator")
    with app.app_context():
        product = make_product(title="旧标题", stock=7)
        db.session.commit()
        fields = product_fields(
            product.category_id, product.seller_id, title="新标题", seen_stock="7"
        )
    post_form(operator_client, f"/admin/products/{product.id}", fields)

    log_in_as(app, client, "admin")
    page = client.get(f"/admin/audit/?entity=product&id={product.id}").text
    assert operator["username"] in page and "修改" in page
    assert "旧标题" in page and "新标题" in page
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry))
        assert entry.before == {
            "title": "旧标题",
            "stock": 7,
            "specs_json": entry.before["specs_json"],
        }
        assert entry.after["title"] == "新标题" and entry.after["stock"] == 10


def test_admins_manage_staff_but_cannot_lock_themselves_out(app, client):
    me = log_in_as(app, client, "admin")
    with app.app_context():
        seller_id = make_product().seller_id
        db.session.commit()
    created = post_form(
        client,
        "/admin/staff/new",
        {
            "username": "li.seller",
            "name": "李卖家",
            "role": "seller",
            "seller_id": str(seller_id),
            "active": "y",
            "password": "long-enough-1",
        },
    )
    assert created.status_code == 303
    no_seller = post_form(
        client,
        "/admin/staff/new",
        {
            "username": "bad",
            "name": "x",
            "role": "seller",
            "seller_id": "0",
            "password": "long-enough-1",
        },
    )
    assert no_seller.status_code == 409 and "必须选择所属卖家" in no_seller.text
    demote = post_form(
        client,
        f"/admin/staff/{me['id']}",
        {
            "username": me["username"],
            "name": "我",
            "role": "operator",
            "seller_id": "0",
            "active": "y",
        },
    )
    assert demote.status_code == 409 and "不能取消自己的管理员权限" in demote.text
    with app.app_context():
        seller = db.session.scalar(select(Staff).where(Staff.username == "li.seller"))
        assert (seller.role, seller.seller_id) == ("seller", seller_id)
        assert db.session.get(Staff, me["id"]).role == "admin"
        actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "staff"))
        assert list(actions) == ["create"]
    assert login(app.test_client(), "li.seller", "long-enough-1").status_code == 303
