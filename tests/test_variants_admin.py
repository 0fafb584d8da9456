"""Options and variants in the catalogue admin: a shoe in sizes 38-44, each size's stock
never written over a sale, variants deactivated rather than destroyed once ordered, stock
warnings per variant, weight and 全国包邮 on the form."""

import json

import pytest
from lxml import html
from sqlalchemy import func, select

from factories import (
    make_product,
    make_product_with_options,
    make_regions,
)
from support.history import make_order
from support.pages import form_fields, post_form
import test_admin_catalog
from test_admin_access import product_fields
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import AuditEntry, Product, Variant
from wapshop.services import stock


# The catalogue tests' operator and shelf (a subcategory and a seller).
operator, shelf = test_admin_catalog.operator, test_admin_catalog.shelf


def variants_of(app, product_id):
    with app.app_context():
        return [
            (v.label, v.stock, v.price_fen, v.code, v.active)
            for v in db.session.get(Product, product_id).variants
        ]


def product_stock(app, product_id) -> int:
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert product.stock == sum(v.stock for v in product.variants)
        return product.stock


def variant_rows(page_text: str, product_id: int) -> dict:
    """The variants form as the page shows it: every field's value, by name."""
    fields = dict(form_fields(page_text, f"/admin/products/{product_id}/variants"))
    doc = html.fromstring(page_text)
    form = next(f for f in doc.forms if f.action == f"/admin/products/{product_id}/variants")
    for element in form.inputs:
        kind = getattr(element, "type", "")
        if kind == "checkbox":
            if element.checked:
                fields[element.name] = "y"
        elif element.name:
            fields[element.name] = element.value or ""
    return fields


def test_a_shoe_is_created_with_sizes_38_to_44(app, client, operator, shelf):
    fields = product_fields(
        shelf["sub"],
        shelf["seller"],
        title="男士休闲板鞋",
        stock="6",
        options="尺码：38-44",
        weight_g="900",
        free_shipping="y",
    )
    response = post_form(client, "/admin/products/new", fields)
    assert response.status_code == 303, response.text
    with app.app_context():
        product = db.session.scalar(select(Product))
        assert product.options == [("尺码", ["38", "39", "40", "41", "42", "43", "44"])]
        assert (product.weight_g, product.free_shipping) == (900, True)
        product_id = product.id
    assert variants_of(app, product_id) == [(str(n), 6, None, None, True) for n in range(38, 45)]
    assert product_stock(app, product_id) == 42
    page = client.get(f"/admin/products/{product_id}").text
    assert "保存款式" in page and "尺码:38 39 40 41 42 43 44" in page


def test_a_product_without_options_is_unchanged(app, client, operator, shelf):
    response = post_form(
        client, "/admin/products/new", product_fields(shelf["sub"], shelf["seller"])
    )
    assert response.status_code == 303
    with app.app_context():
        product = db.session.scalar(select(Product))
        assert (product.options_json, product.stock, product.weight_g) == ("[]", 10, 500)
        assert [(v.values_json, v.label, v.stock) for v in product.variants] == [("[]", "", 10)]
        product_id = product.id
    assert "保存款式" not in client.get(f"/admin/products/{product_id}").text


def test_a_variants_stock_is_never_written_over_a_sale(app, client, operator, shelf):
    with app.app_context():
        product = make_product_with_options(
            "尺码:38-40", stock=10, category_id=shelf["sub"], seller_id=shelf["seller"]
        )
        product_id, ids = product.id, [v.id for v in product.variants]
        db.session.commit()
    url = f"/admin/products/{product_id}"
    fields = variant_rows(client.get(url).text, product_id)
    assert [fields[f"rows-{i}-seen_stock"] for i in range(3)] == ["10", "10", "10"]
    with app.app_context():  # a buyer takes two pairs of 39 while the operator types
        assert stock.take(ids[1], 2)
        db.session.commit()
    fields.update({"rows-0-stock": "30", "rows-0-code": "XB-38", "rows-1-stock": "50"})
    response = client.post(f"{url}/variants", data=fields)
    assert response.status_code == 409
    assert "「39」的库存刚刚变了（现在 8 件）" in response.text
    assert variants_of(app, product_id) == [
        ("38", 10, None, None, True),
        ("39", 8, None, None, True),
        ("40", 10, None, None, True),
    ]
    again = variant_rows(response.text, product_id)
    assert again["rows-1-seen_stock"] == "8" and again["rows-1-stock"] == "50"
    assert client.post(f"{url}/variants", data=again).status_code == 303
    assert variants_of(app, product_id)[:2] == [
        ("38", 30, None, "XB-38", True),
        ("39", 50, None, None, True),
    ]
    assert product_stock(app, product_id) == 90


def test_a_variant_is_deactivated_and_priced_on_its_own(app, client, operator, shelf):
    with app.app_context():
        product = make_product_with_options(
            "容量:64G 128G", stock=3, category_id=shelf["sub"], seller_id=shelf["seller"]
        )
        product_id, first = product.id, product.variants[0].id
        db.session.commit()
    url = f"/admin/products/{product_id}"
    fields = variant_rows(client.get(url).text, product_id)
    del fields["rows-0-active"]
    fields["rows-1-price"] = "79.90"
    assert client.post(f"{url}/variants", data=fields).status_code == 303
    assert variants_of(app, product_id) == [
        ("64G", 3, None, None, False),
        ("128G", 3, 7990, None, True),
    ]
    with app.app_context():
        assert not stock.take(first, 1)  # not on sale
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (entry.entity, entry.entity_id) == ("product", str(product_id))
        assert json.loads(entry.after_json)["64G"]["active"] is False


@pytest.mark.parametrize(
    "cell,value,message",
    [
        ("stock", "-1", "库存 0 到 10000000"),
        ("stock", "１２", "请填数字"),
        ("stock", "99999999999999999999", "请填数字"),
        ("price", "0", "金额必须大于 0"),
        ("price", "²", "请填金额"),
        ("price", "9" * 15, "请填金额"),
        ("price", "2000000", "最多 1000000 元"),
        ("code", "A\x00B", "控制字符"),
        ("code", "长" * 5000, "40"),
        ("variant_id", "999999", "不属于这个商品"),
    ],
)
def test_hostile_variant_cells_are_refused(app, client, operator, shelf, cell, value, message):
    with app.app_context():
        product = make_product_with_options(
            "尺码:S M", stock=4, category_id=shelf["sub"], seller_id=shelf["seller"]
        )
        product_id = product.id
        db.session.commit()
    url = f"/admin/products/{product_id}"
    before = variants_of(app, product_id)
    fields = variant_rows(client.get(url).text, product_id)
    fields["rows-0-price"] = "1.00"
    fields[f"rows-1-{cell}"] = value
    response = client.post(f"{url}/variants", data=fields)
    assert response.status_code in (400, 409) and message in response.text
    assert variants_of(app, product_id) == before


def test_a_code_belongs_to_one_variant(app, client, operator, shelf):
    with app.app_context():
        other = make_product_with_options("尺码:S", stock=1)
        other.variants[0].code = "HX-1"
        product_id = make_product_with_options("尺码:S M", stock=1).id
        db.session.commit()
    url = f"/admin/products/{product_id}"
    fields = variant_rows(client.get(url).text, product_id)
    fields["rows-0-code"] = "HX-1"
    response = client.post(f"{url}/variants", data=fields)
    assert response.status_code == 409 and "货号 HX-1 已被商品" in response.text
    fields["rows-0-code"] = fields["rows-1-code"] = "HX-2"
    response = client.post(f"{url}/variants", data=fields)
    assert response.status_code == 409 and "货号 HX-2 写了两次" in response.text


def test_changing_options_keeps_ordered_variants_deactivated(app, client, operator, shelf):
    with app.app_context():
        product = make_product_with_options(
            "尺码:38-40", stock=5, category_id=shelf["sub"], seller_id=shelf["seller"]
        )
        product_id = product.id
        make_regions()
        make_order(utcnow(), product=product, unit_fen=5990)  # an order for size 38
        db.session.commit()
    fields = product_fields(
        shelf["sub"], shelf["seller"], options="尺码:39 40 41\n颜色:黑色", seen_stock="15"
    )
    response = post_form(client, f"/admin/products/{product_id}", fields)
    assert response.status_code == 303, response.text
    with app.app_context():
        variants = db.session.get(Product, product_id).variants
        shown = {(v.label, v.stock, v.active) for v in variants}
        # 38/39/40 became 39/黑色… : the ordered 38 stays, off sale and empty; the rest go.
        assert shown == {("38", 0, False), ("39/黑色", 0, True), ("40/黑色", 0, True),
                         ("41/黑色", 0, True)}  # fmt: skip
        assert db.session.scalar(select(func.count(Variant.id))) == 4
    assert product_stock(app, product_id) == 0
    # Back to 38: the same variant, on sale again.
    fields["options"] = "尺码:38"
    assert post_form(client, f"/admin/products/{product_id}", fields).status_code == 303
    assert variants_of(app, product_id) == [("38", 0, None, None, True)]


@pytest.mark.parametrize(
    "options,message",
    [
        ("尺码", "款式每行写成"),
        ("尺码:38 38", "有重复的值"),
        ("a:1\nb:1\nc:1\nd:1", "最多 3 种款式"),
        ("尺码:1-30\n颜色:" + " ".join(f"c{i}" for i in range(10)), "最多 100 种"),
        ("尺码:" + "长" * 30, "每个值最多 20 个字"),
        ("尺码:38\x00", "控制字符"),
    ],
)
def test_bad_options_are_refused(app, client, operator, shelf, options, message):
    fields = product_fields(shelf["sub"], shelf["seller"], options=options)
    response = post_form(client, "/admin/products/new", fields)
    assert response.status_code == 400 and message in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Product.id))) == 0


def test_stock_warnings_list_variants(app, client, operator):
    with app.app_context():
        shoe = make_product_with_options("颜色:黑色 白色\n尺码:38 39", stock=100, title="板鞋")
        low = shoe.variants[1]
        stock.set_stock(low.id, 3)
        make_product(title="老人手机", stock=2)
        make_product(title="充足的手机", stock=500)
        db.session.commit()
    page = client.get("/admin/products/stock?threshold=5").text
    assert "板鞋 — 黑色/39" in page and "老人手机" in page
    assert "黑色/38" not in page and "充足的手机" not in page and "老人手机 —" not in page


def test_removing_every_option_leaves_one_form_with_the_stock(app, client, operator, shelf):
    with app.app_context():
        product = make_product_with_options(
            "尺码:38 39", stock=4, category_id=shelf["sub"], seller_id=shelf["seller"]
        )
        product_id = product.id
        db.session.commit()
    page = client.get(f"/admin/products/{product_id}").text
    assert 'name="stock" type="hidden" value="8"' in page
    fields = product_fields(shelf["sub"], shelf["seller"], options="", stock="8")
    assert post_form(client, f"/admin/products/{product_id}", fields).status_code == 303
    assert variants_of(app, product_id) == [("", 8, None, None, True)]
    assert product_stock(app, product_id) == 8
