"""CSV with one row per variant: export then import round trip (GBK too), a new product's
rows grouped into one product with its sizes, a dry run that writes nothing, and hostile or
inconsistent rows reported by line and column with nothing imported."""

import pytest
from sqlalchemy import func, select

from factories import make_product, make_product_with_options
import test_admin_imports
from test_admin_imports import send
from wapshop.extensions import db
from wapshop.models import AuditEntry, Product, Variant
from wapshop.services import imports

HEADER = "商品ID,标题,副标题,分类,卖家,商城价,市场价,库存,规格,上架,款式,款式价格,货号,款式在售"
SHOE = ",男士休闲板鞋,透气,鞋服/男鞋,晋江鞋业批发,59.90,99.00"


# The import tests' operator and shelf (鞋服/男鞋, 晋江鞋业批发).
operator, shelf = test_admin_imports.operator, test_admin_imports.shelf


def shoe_rows(*rows: str) -> str:
    """Rows of the new shoe: (stock, 款式, 款式价格, 货号, 款式在售) each, comma-joined."""
    return "\n".join(
        [HEADER, *(f"{SHOE},{row.split('|')[0]},,是,{row.split('|')[1]}" for row in rows)]
    )


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Product.id))),
            db.session.scalar(select(func.count(Variant.id))),
            db.session.scalar(select(func.count(AuditEntry.id))),
        )


def variants(app, title: str):
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.title == title))
        assert product.stock == sum(v.stock for v in product.variants)
        return product.options, [
            (v.label, v.stock, v.price_fen, v.code, v.active) for v in product.variants
        ]


def test_a_new_products_rows_become_one_product_with_its_sizes(app, client, operator, shelf):
    text = shoe_rows(
        "5|尺码:38,,XB-38,是",
        "0|尺码:39,69.90,XB-39,是",
        "7|尺码:40,,,否",
    )
    checked = send(client, text)
    assert checked.status_code == 200 and "检查通过：共 3 行，将新增 1 个" in checked.text
    assert counts(app) == (0, 0, 0)  # a dry run writes nothing
    assert send(client, text, apply=True).status_code == 303
    options, rows = variants(app, "男士休闲板鞋")
    assert options == [("尺码", ["38", "39", "40"])]
    assert rows == [
        ("38", 5, None, "XB-38", True),
        ("39", 0, 6990, "XB-39", True),
        ("40", 7, None, None, False),
    ]


def test_export_then_import_round_trips_variants_in_gbk(app, client, operator, shelf):
    with app.app_context():
        shoe = make_product_with_options("颜色:黑色 白色\n尺码:38 39", stock=4, title="板鞋")
        for n, variant in enumerate(shoe.variants):
            variant.code = f"BX-{n}"
        shoe.variants[1].price_fen = 6990
        shoe.variants[3].active = False
        make_product(title="充电宝", stock=9)
        db.session.commit()
    before_options, before = variants(app, "板鞋")
    exported = client.get("/admin/csv/export/products.csv?encoding=gbk")
    text = exported.data.decode("gbk")
    lines = text.strip().split("\r\n")
    assert len(lines) == 1 + 4 + 1  # the header, a row per variant, the power bank's row
    assert "颜色:黑色;尺码:39,69.90,BX-1,是" in text and "颜色:白色;尺码:39,,BX-3,否" in text
    # Unchanged, it changes nothing; with one stock changed, only that variant's.
    assert send(client, text, encoding="gbk", apply=True).status_code == 303
    assert variants(app, "板鞋") == (before_options, before)
    changed = text.replace(",4,", ",11,", 2)
    assert send(client, changed, encoding="gbk", apply=True).status_code == 303
    _options, after = variants(app, "板鞋")
    assert [stock for _l, stock, *_ in after] == [11, 11, 4, 4]
    assert [row[2:] for row in after] == [row[2:] for row in before]
    assert counts(app)[:2] == (2, 5)


def test_an_added_size_in_the_file_adds_a_variant_and_keeps_the_others(app, client, operator):
    with app.app_context():
        shoe = make_product_with_options("尺码:38 39", stock=3, title="帆布鞋")
        shoe_id = shoe.id
        db.session.commit()
    text = client.get("/admin/csv/export/products.csv").data.decode("utf-8-sig")
    row_39 = next(line for line in text.splitlines() if "尺码:39" in line)
    text = text.rstrip("\r\n") + "\r\n" + row_39.replace("尺码:39", "尺码:40").replace(",3,", ",8,")
    assert send(client, text, apply=True).status_code == 303
    _options, rows = variants(app, "帆布鞋")
    assert [(label, stock) for label, stock, *_ in rows] == [("38", 3), ("39", 3), ("40", 8)]
    with app.app_context():
        assert db.session.get(Product, shoe_id).options == [("尺码", ["38", "39", "40"])]


@pytest.mark.parametrize(
    "rows,where,message",
    [
        (["1|尺码:38,,,是", "1|颜色:黑色,,,是"], (3, "K"), "款式名称要和第 2 行一样"),
        (["1|尺码:38,,,是", "1|尺码:38,,,是"], (3, "K"), "这个款式在第 2 行已出现过"),
        (["1|尺码38,,,是"], (2, "K"), "款式写成“名称:值”"),
        (["1|尺码:38,,A1,是", "1|尺码:39,,A1,是"], (3, "M"), "货号 A1 在第 2 行已出现过"),
        (["1|尺码:38,,TAKEN,是"], (2, "M"), "货号 TAKEN 已被商品"),
        (["1|尺码:38,," + "长" * 41 + ",是"], (2, "M"), "货号最多 40 个字符"),
        (["1|尺码:38,-5,,是"], (2, "L"), "金额"),
        (["1|尺码:38,,,也许"], (2, "N"), "请填“是”或“否”"),
        (["1|尺码:3\x008,,,是"], (2, "K"), "控制字符"),
        ([f"1|尺码:{n},,,是" for n in range(40)], (2, "K"), "最多 30 个值"),
    ],
)
def test_hostile_variant_rows_are_reported_and_nothing_imported(
    app, client, operator, shelf, rows, where, message
):
    with app.app_context():
        make_product_with_options("尺码:S", stock=1).variants[0].code = "TAKEN"
        db.session.commit()
    before = counts(app)
    text = shoe_rows(*rows)
    with app.app_context():
        report = imports.import_products(text.encode(), None, dry_run=False)
        db.session.rollback()
    assert [(e.line, e.letter) for e in report.errors][:1] == [where]
    assert message in report.errors[0].message
    assert send(client, text, apply=True).status_code == 422
    assert counts(app) == before


def test_a_products_rows_must_agree_on_the_product(app, shelf):
    text = "\n".join(
        [
            HEADER,
            f"{SHOE},1,,是,尺码:38,,,是",
            f"{SHOE.replace('59.90', '49.90')},1,,是,尺码:39,,,是",
        ]
    )
    with app.app_context():
        report = imports.import_products(text.encode(), None, dry_run=True)
    assert [(e.line, e.letter, e.message) for e in report.errors] == [
        (3, "F", "同一商品的各行，商品的列要和第 2 行一样。")
    ]
    with app.app_context():
        by_id = make_product(title="已有商品")
        db.session.commit()
        rows = "\n".join(
            [
                HEADER,
                f"{by_id.id},已有商品,,鞋服/男鞋,晋江鞋业批发,59.90,99.00,1,,是,尺码:38,,,是",
                f"{by_id.id},改了标题,,鞋服/男鞋,晋江鞋业批发,59.90,99.00,1,,是,尺码:39,,,是",
            ]
        )
        report = imports.import_products(rows.encode(), None, dry_run=True)
    assert [(e.line, e.letter, e.message) for e in report.errors] == [
        (3, "B", "同一商品的各行，商品的列要和第 2 行一样。")
    ]
