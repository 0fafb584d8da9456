"""Property-based fuzz of every route in the URL map: hostile path values, query strings and
bodies (wrong types, huge and negative numbers, 2**63, '²', 10 KB strings, NUL and other
control characters, CRLF, invalid UTF-8, duplicate names, big bodies), as an anonymous
visitor, a logged-in buyer and a logged-in admin. No answer may be a 5xx, and a refused
request (4xx) must leave orders, products, deals, categories and payments as they were.

Deterministic (derandomize): the same examples on every run, every rule and method covered.
WAPSHOP_FUZZ_EXAMPLES raises the examples per case for a longer local hunt."""

import os
import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter
from wtforms.fields.core import UnboundField

import wapshop.forms.accounts
import wapshop.forms.admin.categories
import wapshop.forms.admin.collections
import wapshop.forms.admin.deals
import wapshop.forms.admin.imports
import wapshop.forms.admin.aftersales
import wapshop.forms.admin.fulfilment
import wapshop.forms.admin.products
import wapshop.forms.admin.staff
import wapshop.forms.aftersales
import wapshop.forms.checkout
import wapshop.forms.orders
import wapshop.forms.payments
from support.staff import PASSWORD, make_staff
from conftest import make_app
from factories import COVERED, make_collection, make_deal, make_product, make_regions
from wapshop import create_app
from wapshop.extensions import db
from wapshop.models import Category, Deal, Order, Payment, Product, Staff
from wapshop.services import accounts, phones

EXAMPLES = int(os.environ.get("WAPSHOP_FUZZ_EXAMPLES", "3"))
BUYER_PHONE, BUYER_PASSWORD = "13800138000", "fuzz-pass-1"
CONFIG = {
    # Hostile values should reach the validators, not stop at the CSRF check.
    "WTF_CSRF_ENABLED": False,
    "SANDBOX_PAYMENTS": True,
    "SANDBOX_NOTIFY_DELAY": -1,  # no delivery threads outliving a request
}
COUNTED = (Order, Product, Deal, Category, Payment, Staff)
ROLES = ("anon", "buyer", "admin")
WRONG_METHODS = ("PUT", "DELETE", "PATCH", "BREW")


def _rules():
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", **CONFIG})
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


RULES = _rules()
CASES = [(rule, method) for rule in RULES for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def _form_field_names() -> list[str]:
    """Every field name any of the app's forms declares: what bodies are built from."""
    modules = [
        wapshop.forms.accounts,
        wapshop.forms.aftersales,
        wapshop.forms.checkout,
        wapshop.forms.orders,
        wapshop.forms.payments,
        wapshop.forms.admin.categories,
        wapshop.forms.admin.collections,
        wapshop.forms.admin.deals,
        wapshop.forms.admin.imports,
        wapshop.forms.admin.aftersales,
        wapshop.forms.admin.fulfilment,
        wapshop.forms.admin.products,
        wapshop.forms.admin.staff,
    ]
    names = set()
    for module in modules:
        for cls in vars(module).values():
            if isinstance(cls, type):
                names.update(n for n, v in vars(cls).items() if isinstance(v, UnboundField))
    return sorted(names)


FIELD_NAMES = _form_field_names()
# What views read from request.args directly, plus url_for's own keywords.
QUERY_NAMES = [
    "page", "n", "q", "start", "end", "day", "at", "threshold", "product_id", "next",
    "region", "pick", "kind", "status", "id", "entity", "encoding", "method", "carrier",
    "phone", "t", "sid", "ver", "lang", "times", "sign", "timestamp", "_external", "_scheme",
    "_anchor", "number", "category_id",
]  # fmt: skip

HOSTILE = [
    "", "0", "1", "-1", "+1", " 1 ", "1.5", "1e400", "NaN", "inf", "²", "١٢", "１２",
    str(2**31 - 1), str(2**31), str(2**63 - 1), str(2**63), str(-(2**63) - 1), "9" * 400,
    "0001-01-01", "9999-12-31", "10000-01-01", "2013-02-30", "0001-01-01T00:00",
    "9999-12-31 23:59", "a\x00b", "\x00", "\x1b[31m", "\ufffe", "\uffff", "x\r\nSet-Cookie: a=1",
    "/\t/evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)",
    "<wml>&amp;</card>", "$(x)", "' OR 1=1 --", "../../../etc/passwd", "%00", "x" * 10_240,
    "wml", "touch", "success", "card", "cod", "products", "deals", "gbk", "utf-8",
]  # fmt: skip
INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"ok\xfe\xff", b"\xe4\xb8"]

values = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(INVALID_UTF8),
    st.text(max_size=30),
    st.integers().map(str),
)
pairs = st.lists(st.tuples(st.sampled_from(QUERY_NAMES), values), max_size=6)
field_pairs = st.lists(st.tuples(st.sampled_from(FIELD_NAMES), values), max_size=10)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """One shop for the whole fuzz: a product with a deal, a collection, a buyer with an
    order, an admin; a client for each role."""
    app = make_app(tmp_path_factory.mktemp("fuzz"), **CONFIG)
    with app.app_context():
        make_regions()
        product = make_product(stock=10_000)
        deal = make_deal(product, quantity=5_000)
        collection = make_collection([product])
        proven = phones.ProvenPhone(BUYER_PHONE, accounts.REGISTER)  # as phones.prove gives
        accounts.register(proven, accounts.hash_password(BUYER_PASSWORD))
        admin = make_staff("admin")
        db.session.commit()
        known = {
            "product_id": product.id,
            "category_id": product.category_id,
            "deal_id": deal.id,
            "collection_id": collection.id,
            "staff_id": admin.id,
            "slug": collection.slug,
            "price_fen": deal.deal_price_fen,
        }
        admin_name = admin.username
    clients = {role: app.test_client() for role in ROLES}
    log_in(clients["buyer"], "buyer", admin_name)
    log_in(clients["admin"], "admin", admin_name)
    placed = clients["buyer"].post(
        f"/buy/{known['product_id']}",
        data={
            "token": "fuzz-order-token-0001",
            "price": str(known["price_fen"]),
            "deal": str(known["deal_id"]),
            "region": COVERED,
            "quantity": "1",
            "name": "张三",
            "phone": BUYER_PHONE,
            "street": "科技园路1号",
            "payment": "cod",
        },
    )
    assert placed.status_code == 303, placed.text
    with app.app_context():
        order = db.session.scalars(select(Order)).one()
        known.update(order_id=order.id, number=order.number)
    yield app, clients, known, admin_name
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def log_in(client, role: str, admin_name: str) -> None:
    if role == "buyer":
        answer = client.post("/u/login", data={"phone": BUYER_PHONE, "password": BUYER_PASSWORD})
    else:
        answer = client.post("/admin/login", data={"username": admin_name, "password": PASSWORD})
    assert answer.status_code == 303, answer.text


def counts(app) -> dict[str, int]:
    with app.app_context():
        found = {
            m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED
        }
        db.session.remove()
        return found


def path_value(draw, rule, name: str, known: dict) -> str:
    converter = type(rule._converters[name]).__name__
    if isinstance(rule._converters[name], IntegerConverter):
        number = draw(st.sampled_from([known.get(name, 1), 0, 1, 2**31, 2**63 - 1, 2**63, 10**30]))
        return str(number)
    text = draw(
        st.one_of(
            st.sampled_from([str(known.get(name, "x")), "x" * 300, "a\u00b2", "%00", ".."]),
            st.text(min_size=1, max_size=20),
        )
    )
    return quote(text, safe="/" if converter == "PathConverter" else "")


def build_path(draw, rule, known: dict) -> str:
    path = rule.rule
    for name in rule.arguments:
        pattern = rf"<(?:[^:<>]+:)?{name}>"
        path = re.sub(pattern, lambda _m: path_value(draw, rule, name, known), path)
    return path


def encode(items) -> str:
    """application/x-www-form-urlencoded; bytes values go in raw, invalid UTF-8 included."""
    return urlencode(list(items))


def body_for(draw, rule) -> dict:
    """Form fields as urlencoded bytes (raw bytes values stay raw), a multipart upload, or a
    body past MAX_CONTENT_LENGTH."""
    shape = draw(st.sampled_from(["form", "form", "form", "upload", "huge"]))
    if shape == "huge":
        return {"data": b"q=" + b"a" * 300_000, "content_type": "application/x-www-form-urlencoded"}
    fields = draw(field_pairs)
    if shape == "upload":
        content = draw(
            st.sampled_from(
                [
                    b"",
                    b"\xff\xfe\x00garbage",
                    "商品ID,标题\n,\x00坏\n".encode(),
                    "特价ID,商品ID,特价,开始时间,结束时间,数量,每人限购,版本\n"
                    ",1,1,0001-01-01 00:00,9999-12-31 23:59,1,1,wml\n".encode(),
                    b"GIF89a" + b"\x00" * 64,
                ]
            )
        )
        data = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for k, v in fields}
        for name in ("file", "image"):
            data[name] = (__import__("io").BytesIO(content), "x.csv")
        return {"data": data, "content_type": "multipart/form-data"}
    return {
        "data": encode(fields).encode("ascii"),
        "content_type": "application/x-www-form-urlencoded",
    }


def check(app, client, method: str, url: str, **kwargs) -> int:
    before = counts(app)
    answer = client.open(url, method=method, **kwargs)
    assert answer.status_code < 500, (method, url, kwargs, answer.status_code)
    if answer.status_code >= 400:
        assert counts(app) == before, ("a refused request wrote", method, url, kwargs)
    return answer.status_code


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("rule,method", CASES, ids=[f"{m} {r.rule}" for r, m in CASES])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # No shrinking: the draws are few and readable as found, and shrinking a failure on each
    # of hundreds of cases would take minutes.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_route_answers_5xx_or_half_writes_on_hostile_input(shop, role, rule, method, data):
    app, clients, known, admin_name = shop
    client = clients[role]
    if role != "anon" and rule.endpoint.endswith("logout"):
        client = app.test_client()  # keep the shared sessions logged in
        log_in(client, role, admin_name)
    path = build_path(data.draw, rule, known)
    query = encode(data.draw(pairs))
    kwargs = {"query_string": query}
    if method == "POST":
        kwargs.update(body_for(data.draw, rule))
    if data.draw(st.integers(0, 9)) == 0:
        kwargs["headers"] = {"Host": data.draw(st.sampled_from(["a" * 300, "x" * 64 + ".cn"]))}
    check(app, client, method, path, **kwargs)


@pytest.mark.parametrize("role", ("anon", "admin"))
def test_wrong_methods_on_every_route_are_4xx(shop, role):
    app, clients, known, _admin = shop
    for rule in RULES:
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(known.get(name, 1)), path)
        for method in WRONG_METHODS:
            assert check(app, clients[role], method, path) in (404, 405), (method, path)
