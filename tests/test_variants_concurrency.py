"""Twenty editors saving the same size's stock at once against a real server (gunicorn):
exactly one figure is written, the others are told the stock changed (409), none is a 500,
and the product's stock is still the sum of its variants'. SQLite or PostgreSQL alike."""

import re
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import LiveServer
from factories import make_product_with_options
from support.staff import PASSWORD, add_staff
from wapshop.extensions import db
from wapshop.models import AuditEntry, Product, Variant

EDITORS = 20
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def save(base_url: str, username: str, product_id: int, variant_id: int, new: int) -> int:
    """One editor: log in, open the product, save a new stock for the first size."""
    with requests.Session() as browser:
        login = browser.get(f"{base_url}/admin/login", timeout=60)
        browser.post(
            f"{base_url}/admin/login",
            data={"csrf_token": TOKEN.search(login.text)[1], "username": username,
                  "password": PASSWORD},
            timeout=60,
        )  # fmt: skip
        page = browser.get(f"{base_url}/admin/products/{product_id}", timeout=60)
        form = {
            "csrf_token": TOKEN.search(page.text)[1],
            "rows-0-variant_id": str(variant_id),
            "rows-0-seen_stock": "10",
            "rows-0-stock": str(new),
            "rows-0-active": "y",
        }
        saved = browser.post(
            f"{base_url}/admin/products/{product_id}/variants",
            data=form,
            timeout=60,
            allow_redirects=False,
        )
        return saved.status_code


def test_twenty_editors_saving_one_sizes_stock_write_one_figure(app):
    with app.app_context():
        product = make_product_with_options("尺码:38", stock=10)
        product_id, variant_id = product.id, product.variants[0].id
        db.session.commit()
    names = [add_staff(app, "operator") for _ in range(EDITORS)]
    server = LiveServer(app, workers=4, threads=4)
    try:
        with ThreadPoolExecutor(max_workers=EDITORS) as pool:
            statuses = list(
                pool.map(
                    lambda i: save(server.url, names[i], product_id, variant_id, 100 + i),
                    range(EDITORS),
                )
            )
    finally:
        server.stop()
    assert sorted(statuses) == [303] + [409] * (EDITORS - 1), statuses
    with app.app_context():
        variant = db.session.get(Variant, variant_id)
        product = db.session.get(Product, product_id)
        assert 100 <= variant.stock < 100 + EDITORS
        assert product.stock == variant.stock
        written = db.session.query(AuditEntry).filter_by(entity="product").count()
        assert written == 1 + 1  # the options given at creation, and the one save
