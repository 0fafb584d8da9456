"""The catalogue in the back office: products (searchable under their new titles, stock never
written over a sale), two-level categories, collections with rendition targeting, stock
warnings."""

import pytest
from sqlalchemy import func, select

from factories import make_category, make_collection, make_product, make_seller
from test_admin_access import product_fields
from support.pages import post_form
from support.staff import log_in_as
from wapshop.extensions import db
from wapshop.services import stock
from wapshop.models import Category, Collection, Product


@pytest.fixture
def operator(app, client):
    return log_in_as(app, client, "operator")


@pytest.fixture
def shelf(app):
    """A top-level category with a subcategory, and a seller."""
    with app.app_context():
        top = make_category(name="3C数码")
        sub = make_category(name="手机", parent_id=top.id)
        seller = make_seller(name="深圳华强数码")
        db.session.commit()
        return {"top": top.id, "sub": sub.id, "seller": seller.id}


def search(app, query: str) -> str:
    return app.test_client().get("/s", query_string={"q": query, "ver": "touch"}).text


def test_a_new_product_is_on_sale_and_found_by_its_title(app, client, operator, shelf):
    fields = product_fields(
        shelf["sub"], shelf["seller"], title="三防超长待机手机", specs="颜色：黑色\n电池:3000毫安"
    )
    response = post_form(client, "/admin/products/new", fields)
    assert response.status_code == 303
    with app.app_context():
        product = db.session.scalar(select(Product))
        assert product.specs == [("颜色", "黑色"), ("电池", "3000毫安")]
        assert (product.shop_price_fen, product.market_price_fen, product.stock) == (5990, 9900, 10)
    assert response.headers["Location"] == f"/admin/products/{product.id}"
    assert "三防超长待机手机" in search(app, "待机")


def test_a_retitled_product_is_found_by_its_new_title_only(app, client, operator, shelf):
    with app.app_context():
        product_id = make_product(
            title="直板学生手机", category_id=shelf["sub"], seller_id=shelf["seller"], stock=10
        ).id
        db.session.commit()
    fields = product_fields(
        shelf["sub"], shelf["seller"], title="老人手机 大字大声", seen_stock="10"
    )
    assert post_form(client, f"/admin/products/{product_id}", fields).status_code == 303
    assert "老人手机" in search(app, "老人")
    assert "老人手机" not in search(app, "学生")


def test_a_sale_since_the_form_was_opened_is_not_written_over(app, client, operator, shelf):
    with app.app_context():
        product_id = make_product(category_id=shelf["sub"], seller_id=shelf["seller"], stock=10).id
        db.session.commit()
    url = f"/admin/products/{product_id}"
    page = client.get(url).text
    assert 'name="seen_stock" type="hidden" value="10"' in page
    with app.app_context():  # a buyer takes 2 while the operator types
        stock.set_sole_stock(product_id, 8)
        db.session.commit()
    fields = product_fields(shelf["sub"], shelf["seller"], stock="50", seen_stock="10")
    response = post_form(client, url, fields)
    assert response.status_code == 409 and "库存刚刚变了（现在 8 件）" in response.text
    assert 'name="seen_stock" type="hidden" value="8"' in response.text
    with app.app_context():
        assert db.session.get(Product, product_id).stock == 8
    fields["seen_stock"] = "8"
    assert post_form(client, url, fields).status_code == 303
    with app.app_context():
        assert db.session.get(Product, product_id).stock == 50


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"title": ""}, "请填写标题"),
        ({"shop_price": "-1"}, "金额必须大于 0"),
        ({"market_price": "10.00"}, "市场价不能低于商城价"),
        ({"stock": "-3"}, "库存 0 到 10000000"),
        ({"specs": "只有名称"}, "规格写成“名称:值”"),
    ],
)
def test_product_form_refuses_bad_input(app, client, operator, shelf, overrides, message):
    fields = product_fields(shelf["sub"], shelf["seller"], **overrides)
    response = post_form(client, "/admin/products/new", fields)
    assert response.status_code in (400, 409) and message in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Product.id))) == 0


def test_products_sit_in_second_level_categories(app, client, operator, shelf):
    response = post_form(
        client, "/admin/products/new", product_fields(shelf["top"], shelf["seller"])
    )
    assert response.status_code == 400


def test_categories_have_two_levels(app, client, operator, shelf):
    new = post_form(
        client,
        "/admin/categories/new",
        {"name": "耳机", "parent_id": str(shelf["top"]), "position": "2"},
    )
    assert new.status_code == 303
    with app.app_context():
        earphones = db.session.scalar(select(Category).where(Category.name == "耳机"))
        assert earphones.parent_id == shelf["top"]
        earphones_id = earphones.id
    third_level = post_form(
        client,
        "/admin/categories/new",
        {"name": "蓝牙耳机", "parent_id": str(earphones_id), "position": "0"},
    )
    assert third_level.status_code == 400
    top_with_children = post_form(
        client,
        f"/admin/categories/{shelf['top']}",
        {"name": "3C数码", "parent_id": str(earphones_id), "position": "0"},
        form_page=f"/admin/categories/{shelf['top']}",
    )
    assert top_with_children.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(Category.id))) == 3


def test_only_an_empty_category_can_be_deleted(app, client, operator, shelf):
    with app.app_context():
        make_product(category_id=shelf["sub"])
        empty_id = make_category(name="空分类", parent_id=shelf["top"]).id
        db.session.commit()
    refused = post_form(
        client, f"/admin/categories/{shelf['sub']}/delete", {}, form_page="/admin/categories/"
    )
    assert "分类下还有子分类或商品" in client.get(refused.headers["Location"]).text
    post_form(client, f"/admin/categories/{empty_id}/delete", {}, form_page="/admin/categories/")
    with app.app_context():
        assert db.session.get(Category, shelf["sub"]) is not None
        assert db.session.get(Category, empty_id) is None


def test_a_collection_is_shown_only_to_the_renditions_it_targets(app, client, operator):
    with app.app_context():
        gifts = [make_product(title=f"情侣礼物{i}") for i in range(3)]
        ids = [p.id for p in gifts]
        db.session.commit()
    fields = {
        "slug": "couples",
        "name": "情侣礼物",
        "blurb": "送给TA",
        "renditions": ["color", "touch"],
        "position": "0",
        "active": "y",
        "product_ids": f"{ids[2]}, {ids[0]}\n{ids[1]}",
    }
    assert post_form(client, "/admin/collections/new", fields).status_code == 303
    with app.app_context():
        collection = db.session.scalar(select(Collection))
        assert [p.id for p in collection.products] == [ids[2], ids[0], ids[1]]
        collection_id = collection.id
    buyer = app.test_client()
    assert "情侣礼物" in buyer.get("/?ver=touch").text
    assert "情侣礼物" not in buyer.get("/?ver=basic").text
    assert buyer.get("/z/couples?ver=wml").status_code == 404

    missing = {**fields, "product_ids": f"{ids[0]} 999999"}
    response = post_form(client, f"/admin/collections/{collection_id}", missing)
    assert response.status_code == 409 and "没有这些商品：999999" in response.text


def test_collection_slugs_are_unique(app, client, operator):
    with app.app_context():
        make_collection(slug="phones")
        db.session.commit()
    fields = {"slug": "phones", "name": "手机", "renditions": ["touch"], "product_ids": ""}
    response = post_form(client, "/admin/collections/new", fields)
    assert response.status_code == 409 and "网址名已被别的专场使用" in response.text


def test_stock_warnings_list_products_at_or_below_the_threshold(app, client, operator):
    with app.app_context():
        for stock in (0, 7, 50, 51, 3000):
            make_product(title=f"库存{stock}件", stock=stock)
        make_product(title="下架商品", stock=1, active=False)
        db.session.commit()
    page = client.get("/admin/products/stock").text
    shown = [s for s in (0, 7, 50, 51, 3000) if f"库存{s}件" in page]
    assert shown == [0, 7, 50] and "下架商品" not in page
    assert page.index("库存0件") < page.index("库存7件") < page.index("库存50件")
    tighter = client.get("/admin/products/stock?threshold=5").text
    assert "库存0件" in tighter and "库存7件" not in tighter
    assert "3 个商品库存不超过 50 件" in client.get("/admin/").text
