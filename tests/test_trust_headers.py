"""Faults and headers (issue 12): a health check that means "can take an order", security
headers on every response, private pages never stored or revalidated, the session cookie
Secure behind a trusted HTTPS proxy only, and formula-safe CSV in every export."""

import csv
import io
import os
import re
import sqlite3

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import SQLAlchemyError

from conftest import PG_URL, sibling_app
from factories import make_deal, make_product, make_regions, make_seller
from support.buyers import confirm_form
from support.history import make_history
from support.staff import log_in_as
from wapshop.extensions import db
from wapshop.models import OrderItem, Product, Seller
from wapshop.services import csvfiles

EVIL = '=HYPERLINK("http://evil","x")'


def dispose(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- /healthz ------------------------------------------------------------------------------


def test_healthz_is_ok_when_the_shop_can_take_an_order(client):
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")
    assert response.headers["Cache-Control"] == "no-store"


def read_only_engine(app) -> dict:
    """Engine options for the same database, opened read-only."""
    if PG_URL:
        return {"connect_args": {"options": "-c default_transaction_read_only=on"}}
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    assert os.path.exists(path)
    # What a read-only file or mount gives; chmod would not do, the tests run as root.
    return {"creator": lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True)}


def test_healthz_fails_when_the_database_refuses_writes(app):
    read_only = sibling_app(app, SQLALCHEMY_ENGINE_OPTIONS=read_only_engine(app))
    try:
        with read_only.app_context():  # the pages do fail: nothing can be written
            with pytest.raises(SQLAlchemyError, match="(?i)read-?only"):
                make_regions()
                db.session.flush()
            db.session.rollback()
        response = read_only.test_client().get("/healthz")
    finally:
        dispose(read_only)
    assert response.status_code == 503
    assert response.text == "database refuses writes\n"
    assert response.headers["Cache-Control"] == "no-store"
    assert app.test_client().get("/healthz").status_code == 200  # the writable one is fine


def test_healthz_fails_when_the_schema_is_gone(app):
    dispose(app)
    if PG_URL:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:  # the file is deleted: SQLite opens a new, empty one
        os.remove(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    client = app.test_client()
    assert client.get("/").status_code == 500  # every page fails…
    response = client.get("/healthz")  # …and so does the health check
    assert (response.status_code, response.text) == (503, "database schema missing\n")


# --- Security headers on every response ----------------------------------------------------


@pytest.fixture
def product_id(app):
    with app.app_context():
        make_regions()
        pid = make_product().id
        db.session.commit()
    return pid


@pytest.mark.parametrize(
    "path",
    ["/?ver=wml", "/?ver=basic", "/?ver=color", "/?ver=touch", "/o/find", "/admin/login",
     "/no/such/page", "/healthz", "/?ver=iphone"],
)  # fmt: skip
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "default-src 'self'" in policy and "unsafe-eval" not in policy
    assert "script-src" not in policy  # scripts fall back to default-src 'self': none inline
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Cookie-less phones carry the sid in the URL: a Referer may name the origin, no more.
    assert response.headers["Referrer-Policy"] == "strict-origin"


def test_static_files_and_csv_carry_the_headers_too(app, client):
    page = client.get("/?ver=touch").text
    css = re.search(r'rel="stylesheet" href="([^"]+)"', page).group(1)
    with client.get(css) as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    log_in_as(app, client, "operator")
    export = client.get("/admin/csv/export/products.csv")
    assert export.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in export.headers


def test_a_real_bank_gateway_may_receive_the_payment_form(tmp_path):
    """The bank payment is a POST answered by a redirect to the bank: form-action allows it."""
    from conftest import make_app

    app = make_app(tmp_path, BANK_GATEWAY_URL="https://pay.bank.example/gateway?x=1")
    try:
        policy = app.test_client().get("/").headers["Content-Security-Policy"]
    finally:
        dispose(app)
    assert "form-action 'self' https://pay.bank.example;" in policy


# --- Caching: private pages never stored, never a 304 ---------------------------------------


def assert_never_stored(client, path):
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code)
    assert first.headers["Cache-Control"] == "no-store", path
    assert "ETag" not in first.headers and "Last-Modified" not in first.headers, path
    again = client.get(path, headers={"If-None-Match": "*"})
    assert again.status_code == 200 and again.data, path


def test_buyer_pages_with_a_session_s_data_are_never_stored(app, client, product_id):
    pages = [f"/buy/{product_id}?ver=touch", "/o/find", "/u/login", "/u/register", "/o"]
    form = confirm_form(client, product_id)
    placed = client.post(f"/buy/{product_id}", data=form)
    number = re.search(r"/buy/done/(\d{10})", placed.headers["Location"]).group(1)
    pages += [f"/buy/done/{number}", f"/o/{number}", f"/o/{number}?ver=wml", f"/o/{number}/help"]
    for path in pages:
        assert_never_stored(client, path)


def test_the_pay_page_is_never_stored(tmp_path):
    from conftest import make_app
    from test_payments import place

    app = make_app(tmp_path, SANDBOX_PAYMENTS=True, SANDBOX_NOTIFY_DELAY=-1)
    try:
        with app.app_context():
            make_regions()
            pid = make_product(stock=5).id
            db.session.commit()
        client = app.test_client()
        number = place(client, pid, "card")
        assert_never_stored(client, f"/pay/{number}")
        assert_never_stored(client, f"/pay/{number}?ver=wml")
    finally:
        dispose(app)


def test_back_office_pages_and_csv_are_never_stored(app, client):
    log_in_as(app, client, "admin")
    for path in ["/admin/", "/admin/csv/", "/admin/csv/export/products.csv",
                 "/admin/reports/daily/daily.csv", "/admin/reports/daily"]:  # fmt: skip
        assert_never_stored(client, path)


def test_catalogue_pages_keep_their_validators(client, product_id):
    client.get("/?ver=basic")  # the session and its cookie exist: links no longer change
    first = client.get(f"/p/{product_id}?ver=basic")
    assert first.headers["Cache-Control"] == "private, no-cache" and first.headers["ETag"]
    again = client.get(
        f"/p/{product_id}?ver=basic", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


# --- The session cookie behind a proxy ------------------------------------------------------


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("wsid=")]
    assert len(cookies) == 1, cookies
    return cookies[0]


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(client):
    response = client.get("/?ver=touch", headers=FORWARDED)
    assert "secure" not in session_cookie(response).lower()


def test_the_cookie_is_secure_behind_a_trusted_https_proxy(app):
    proxied = sibling_app(app, TRUSTED_PROXY_HOPS=1)
    try:
        client = proxied.test_client()
        over_https = client.get("/?ver=touch", headers=FORWARDED)
        assert "; secure" in session_cookie(over_https).lower()
        plain = proxied.test_client().get("/?ver=touch", headers={"X-Forwarded-Proto": "http"})
        assert "secure" not in session_cookie(plain).lower()
    finally:
        dispose(proxied)


def test_the_proxy_hops_setting_comes_from_the_environment(app, monkeypatch):
    monkeypatch.setenv("WAPSHOP_TRUSTED_PROXY_HOPS", "1")
    proxied = sibling_app(app)
    try:
        assert proxied.config["TRUSTED_PROXY_HOPS"] == 1
        over_https = proxied.test_client().get("/?ver=touch", headers=FORWARDED)
        assert "; secure" in session_cookie(over_https).lower()
    finally:
        dispose(proxied)


# --- Formula-safe CSV in every export -------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (EVIL, "'" + EVIL),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-12.50", "-12.50"),  # a refund: a number stays a number
        ("-1,234.50", "-1,234.50"),
        ("-5.0%", "-5.0%"),
        ("+86", "+86"),
        ("-٣", "'-٣"),  # digits, but not ones a spreadsheet reads as a number
        ("男士休闲板鞋", "男士休闲板鞋"),
        ("a=b", "a=b"),
    ],
)
def test_text_that_would_run_as_a_formula_is_quoted_and_numbers_are_not(cell, written):
    assert csvfiles.safe(cell) == written
    assert csvfiles.unguard(csvfiles.safe(cell)) == cell


def cells(data: bytes, encoding: str) -> list[str]:
    text = data.decode("utf-8-sig" if encoding == "utf-8" else "gb18030")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def assert_formula_safe(found: list[str], where: str) -> None:
    for cell in found:
        assert not cell.startswith(csvfiles.FORMULA_START) or csvfiles.NUMBER.fullmatch(cell), (
            where,
            cell,
        )


@pytest.fixture
def evil_shop(app):
    """The reports' history, every product title and seller name a formula, and a deal."""
    with app.app_context():
        make_history()
        db.session.execute(update(Product).values(title=EVIL, subtitle="-" + EVIL))
        db.session.execute(update(OrderItem).values(title=EVIL))
        db.session.execute(update(Seller).values(name="@SUM(1)" + Seller.name))
        make_deal(make_product(title=EVIL, seller_id=make_seller(name="+evil").id))
        db.session.commit()


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_every_export_neutralises_formulas(app, client, evil_shop, encoding):
    log_in_as(app, client, "admin")
    exports = [
        f"/admin/csv/export/{kind}.csv?encoding={encoding}" for kind in ("products", "deals")
    ]
    for page in ["", "daily", "payments", "funnel"]:
        html = client.get(f"/admin/reports/{page}?start=2025-03-01&end=2025-03-04").text
        links = re.findall(r'href="([^"]+\.csv[^"]*)"', html)
        assert links, page
        exports += [
            f"{link.replace('&amp;', '&')}&encoding={encoding}"
            for link in links
            if "encoding=" not in link
        ]
    titles = 0
    for path in exports:
        response = client.get(path)
        assert response.status_code == 200, path
        found = cells(response.data, encoding)
        assert_formula_safe(found, path)
        titles += found.count("'" + EVIL)
    assert titles >= 2  # the product export and the product report show the titles, quoted


def test_the_product_export_reads_back_as_it_was(app, client, evil_shop):
    log_in_as(app, client, "admin")
    exported = client.get("/admin/csv/export/products.csv").data
    rows = list(csvfiles.reader(csvfiles.decode(exported)))
    assert [csvfiles.unguard(c) for c in rows[1][1:3]] == [EVIL, "-" + EVIL]


def test_a_processor_statement_in_gbk_is_reconciled(runner, tmp_path):
    statement = tmp_path / "statement.csv"
    statement.write_bytes(
        "reference,transaction_id,amount_fen,status,备注\nPstranger,B8,500,success,网银\n".encode(
            "gbk"
        )
    )
    result = runner.invoke(args=["payments", "reconcile", str(statement)])
    assert result.exit_code == 1  # a mismatch, not a decoding error
    assert "Pstranger\tin the statement, not in the shop" in result.output
    statement.write_bytes(b"\xff\xfe\x00\x81\x30")
    result = runner.invoke(args=["payments", "reconcile", str(statement)])
    assert result.exit_code == 1 and "文件编码无法识别" in result.output
