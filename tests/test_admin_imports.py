"""CSV import and export: UTF-8 (with or without BOM) and GBK; a dry run that reports every
bad row by line and column and imports nothing; all-or-nothing imports; 10,000 rows from the
command line."""

import io

import pytest
from sqlalchemy import func, select

from factories import make_category, make_deal, make_product, make_seller
from support.pages import post_form
from support.staff import log_in_as
from wapshop.extensions import db
from wapshop.models import AuditEntry, Deal, Product
from wapshop.services import imports

HEADER = "商品ID,标题,副标题,分类,卖家,商城价,市场价,库存,规格,上架"


@pytest.fixture
def shelf(app):
    with app.app_context():
        top = make_category(name="鞋服")
        make_category(name="男鞋", parent_id=top.id)
        make_category(name="女鞋", parent_id=top.id)
        make_seller(name="晋江鞋业批发")
        db.session.commit()


@pytest.fixture
def operator(app, client):
    return log_in_as(app, client, "operator")


def product_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Product.id)))


def send(client, text: str, encoding="utf-8", kind="products", apply=False):
    data = {
        "kind": kind,
        "file": (io.BytesIO(text.encode(encoding)), "products.csv"),
        ("apply" if apply else "check"): "y",
    }
    return post_form(client, "/admin/csv/", data, content_type="multipart/form-data")


GOOD_AND_BAD = "\n".join(
    [
        HEADER,
        ",男士休闲板鞋,透气,鞋服/男鞋,晋江鞋业批发,59.90,99.00,120,颜色:黑色;尺码:39-44,是",  # 2 good
        ",女士单鞋,,女鞋,晋江鞋业批发,abc,99.00,10,,是",  # 3 price not an amount (F)
        ",,,鞋服/男鞋,晋江鞋业批发,59.90,99.00,5,,是",  # 4 no title (B)
        ",马丁靴,,鞋服/童鞋,晋江鞋业批发,89.00,159.00,5,,是",  # 5 no such category (D)
        ',"雪地靴\n加厚",,鞋服/女鞋,无名卖家,89.00,159.00,-1,,是',  # 6-7 seller (E), stock (H)
        ",帆布鞋,,鞋服/男鞋,晋江鞋业批发,49.00,29.00,5,颜色,也许",  # 8 market (G), specs (I), active (J)
        "",
        ",男款跑步鞋,,鞋服/男鞋,晋江鞋业批发,79.00,129.00,30,,否",  # 10 good
    ]
)


def test_a_dry_run_reports_every_bad_row_by_line_and_column_and_imports_nothing(
    app, client, operator, shelf
):
    response = send(client, GOOD_AND_BAD)
    assert response.status_code == 422
    with app.app_context():
        report = imports.import_products(GOOD_AND_BAD.encode(), None, dry_run=True)
        db.session.rollback()
    where = [(e.line, e.letter) for e in report.errors]
    assert where == [(3, "F"), (4, "B"), (5, "D"), (6, "E"), (6, "H"), (8, "I"), (8, "J")]
    for error in report.errors:
        assert f'<td class="n">{error.line}</td><td>{error.letter}（{error.column}）</td>' in (
            response.text
        )
    assert report.rows == 7 and "什么都没有导入" in response.text
    assert product_count(app) == 0


def test_domain_rules_are_reported_per_row_once_cells_parse(app, shelf):
    text = HEADER + "\n,帆布鞋,,鞋服/男鞋,晋江鞋业批发,49.00,29.00,5,,是\n"
    with app.app_context():
        report = imports.import_products(text.encode(), None, dry_run=True)
    assert [str(e) for e in report.errors] == ["第 2 行，G 列（市场价）：市场价不能低于商城价。"]


def test_an_import_with_a_bad_row_imports_nothing(app, client, operator, shelf):
    response = send(client, GOOD_AND_BAD, apply=True)
    assert response.status_code == 422
    assert product_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_a_clean_file_is_checked_then_imported(app, client, operator, shelf):
    text = "\n".join([HEADER, GOOD_AND_BAD.split("\n")[1], GOOD_AND_BAD.split("\n")[-1]])
    checked = send(client, text)
    assert checked.status_code == 200 and "检查通过：共 2 行，将新增 2 个" in checked.text
    assert product_count(app) == 0
    imported = send(client, text, apply=True)
    assert imported.status_code == 303
    assert "已导入商品：新增 2 个，更新 0 个" in client.get(imported.headers["Location"]).text
    with app.app_context():
        shoes = db.session.scalar(select(Product).where(Product.title == "男士休闲板鞋"))
        assert (shoes.shop_price_fen, shoes.stock, shoes.active) == (5990, 120, True)
        assert shoes.specs == [("颜色", "黑色"), ("尺码", "39-44")]
        assert shoes.category.name == "男鞋" and shoes.seller.name == "晋江鞋业批发"
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 2
    assert "男士休闲板鞋" in app.test_client().get("/s?q=板鞋&ver=touch").text


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_gbk_and_utf8_files_with_or_without_bom_import_alike(
    app, client, operator, shelf, encoding
):
    text = "\r\n".join([HEADER, GOOD_AND_BAD.split("\n")[1]]) + "\r\n"
    assert send(client, text, encoding=encoding, apply=True).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Product.title)).all() == ["男士休闲板鞋"]


def test_a_file_that_is_neither_utf8_nor_gbk_or_has_a_wrong_header_is_refused(
    app, client, operator
):
    binary = post_form(
        client,
        "/admin/csv/",
        {"kind": "products", "file": (io.BytesIO(b"\xff\xfe\x00\x81\x30"), "x.csv"), "check": "y"},
        content_type="multipart/form-data",
    )
    assert binary.status_code == 422 and "文件编码无法识别" in binary.text
    wrong = send(client, "name,price\n鞋,1\n")
    assert (
        wrong.status_code == 422
        and "缺少列：标题" in wrong.text
        and "不认识的列：name" in wrong.text
    )


def test_export_then_import_updates_products_in_place(app, client, operator, shelf):
    with app.app_context():
        product = make_product(title='=HYPERLINK("x")', stock=5)
        product_id = product.id
        db.session.commit()
    exported = client.get("/admin/csv/export/products.csv?encoding=gbk")
    assert exported.status_code == 200 and "charset=gbk" in exported.headers["Content-Type"]
    text = exported.data.decode("gbk")
    assert "'=HYPERLINK" in text  # a spreadsheet shows it as text, never runs it
    changed = text.replace(",5,颜色", ",77,颜色")
    assert send(client, changed, encoding="gbk", apply=True).status_code == 303
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.stock, product.title) == (77, '=HYPERLINK("x")')
        assert db.session.scalar(select(func.count(Product.id))) == 1


def test_utf8_export_has_a_bom_for_excel(app, client, operator):
    exported = client.get("/admin/csv/export/deals.csv")
    assert exported.data.startswith(b"\xef\xbb\xbf")
    assert exported.data.decode("utf-8-sig").startswith("特价ID,商品ID,特价,开始时间")


def test_deal_rows_follow_the_deal_rules_and_clash_with_earlier_rows(app, client, operator):
    with app.app_context():
        product = make_product(shop_price_fen=5990, stock=500)
        product_id = product.id
        db.session.commit()
    header = "商品ID,特价,开始时间,结束时间,数量,每人限购,版本"
    rows = [
        f'{product_id},29.90,2030-05-01 10:00,2030-05-01 22:00,100,2,"wml,basic"',  # good
        f"{product_id},29.90,2030-05-01 20:00,2030-05-02 08:00,100,2,touch",  # overlaps line 2
        f"{product_id},69.90,2030/5/3 10:00,2030/5/3 22:00,100,2,touch",  # not below shop price
        f"{product_id},29.90,2030-05-04 10:00,2030-05-04 09:00,100,2,touch",  # ends before start
        f"{product_id},29.90,明天,2030-05-05 22:00,0,2,iphone",  # time, quantity, renditions
    ]
    text = "\n".join([header, *rows])
    response = send(client, text, kind="deals")
    assert response.status_code == 422
    with app.app_context():
        report = imports.import_deals(text.encode(), None, dry_run=True)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Deal.id))) == 0
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "开始时间"),
        (4, "特价"),
        (5, "结束时间"),
        (6, "开始时间"),
        (6, "数量"),
        (6, "版本"),
    ]
    good = "\n".join([header, rows[0]])
    assert send(client, good, kind="deals", apply=True).status_code == 303
    with app.app_context():
        deal = db.session.scalar(select(Deal))
        assert (deal.renditions, deal.deal_price_fen) == ("wml,basic", 2990)
        assert deal.starts_at.hour == 2  # 10:00 in Beijing is 02:00 UTC


def test_deals_export_and_reimport_round_trip(app, client, operator):
    with app.app_context():
        deal = make_deal(renditions="color,touch", sold=3)
        deal_id = deal.id
        db.session.commit()
    text = client.get("/admin/csv/export/deals.csv").data.decode("utf-8-sig")
    assert send(client, text.replace(",50,", ",60,"), kind="deals", apply=True).status_code == 303
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        assert (deal.quantity, deal.sold, deal.renditions) == (60, 3, "color,touch")


def test_ten_thousand_rows_import_from_the_command_line(app, runner, shelf, tmp_path):
    rows = [
        f",批发男鞋{i:05d}号,,鞋服/男鞋,晋江鞋业批发,{19 + i % 80}.90,199.00,{i % 300},尺码:39-44,是"
        for i in range(10_000)
    ]
    path = tmp_path / "bulk.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("gbk"))

    dry = runner.invoke(args=["catalog", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run: 10000 to add" in dry.output
    assert product_count(app) == 0

    result = runner.invoke(args=["catalog", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 10000 rows: 10000 added" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Product.id))) == 10_000
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 10_000
    assert "批发男鞋09999号" in app.test_client().get("/s?q=09999&ver=touch").text


def test_a_command_line_import_with_bad_rows_imports_nothing(app, runner, shelf, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path)])
    assert result.exit_code != 0
    assert (
        "第 3 行，F 列（商城价）" in result.output
        and "7 bad rows; nothing imported" in result.output
    )
    assert product_count(app) == 0
