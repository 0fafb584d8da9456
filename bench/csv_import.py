"""Time a 4 MB CSV import through the admin view (in process, SQLite), per kind: new
products, product updates, deals; a dry run, then the import. A web import that needs more
than ADMIN_IMPORT_SECONDS is refused whole (413).

Usage, from the project root: .venv/bin/python -m bench.csv_import products|updates|deals"""

import io
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, "tests")
from conftest import make_app
from factories import make_category, make_seller, make_product
from support.pages import post_form
from support.staff import log_in_as
from wapshop.extensions import db

TARGET = 4 * 1024 * 1024
HEADER = "商品ID,标题,副标题,分类,卖家,商城价,市场价,库存,规格,上架"
kind = sys.argv[1]
app = make_app(Path(tempfile.mkdtemp()), ADMIN_IMPORT_MAX_BYTES=16 * 1024 * 1024)
with app.app_context():
    top = make_category(name="鞋服")
    sub = make_category(name="男鞋", parent_id=top.id)
    sub_id = sub.id
    seller = make_seller(name="晋江鞋业批发")
    seller_id = seller.id
    db.session.commit()
client = app.test_client()
log_in_as(app, client, "operator")


def rows_until(make, header):
    lines, size, i = [header], 0, 0
    while size < TARGET:
        line = make(i)
        lines.append(line)
        size += len(line.encode()) + 1
        i += 1
    return "\n".join(lines) + "\n", i


if kind == "products":
    text, n = rows_until(
        lambda i: f",批发男鞋{i:06d}号 透气休闲,,鞋服/男鞋,晋江鞋业批发,{19 + i % 80}.90,199.00,{i % 300},尺码:39-44;颜色:黑,是",
        HEADER,
    )
    csv_kind = "products"
elif kind == "updates":
    text, n = rows_until(
        lambda i: f",批发男鞋{i:06d}号 透气休闲,,鞋服/男鞋,晋江鞋业批发,{19 + i % 80}.90,199.00,{i % 300},尺码:39-44;颜色:黑,是",
        HEADER,
    )
    with app.app_context():
        from wapshop.services import imports

        imports.import_products(text.encode(), None, dry_run=False)
        db.session.commit()
    text = (
        client.get("/admin/csv/export/products.csv").data.decode("utf-8-sig").replace(",是", ",否")
    )
    n = text.count("\n") - 1
    csv_kind = "products"
else:
    with app.app_context():
        pids = []
        for _ in range(200):
            pids.append(make_product(category_id=sub_id, seller_id=seller_id).id)
        db.session.commit()

    def deal(i):
        day = 1 + i // 200 % 28
        month = 1 + i // (200 * 28) % 12
        year = 2030 + i // (200 * 28 * 12)
        return f',{pids[i % 200]},9.90,{year}-{month:02d}-{day:02d} 10:00,{year}-{month:02d}-{day:02d} 12:00,50,2,"wml,basic,color,touch",{i % 100}'

    text, n = rows_until(deal, "特价ID,商品ID,特价,开始时间,结束时间,数量,每人限购,版本,排序")
    csv_kind = "deals"
body = text.encode()
print(f"{kind}: {len(body) / 1024 / 1024:.2f} MB, {n} rows")
for apply in (False, True):
    start = time.perf_counter()
    data = {
        "kind": csv_kind,
        "file": (io.BytesIO(body), "x.csv"),
        ("apply" if apply else "check"): "y",
    }
    r = post_form(client, "/admin/csv/", data, content_type="multipart/form-data")
    took = time.perf_counter() - start
    print(
        f"  {'import' if apply else 'dry run'}: {r.status_code} in {took:.1f} s = {n / took:,.0f} rows/s"
    )
    if r.status_code >= 400:
        import re

        print(re.findall(r"第 \d+ 行[^<]{0,80}", r.text)[:3])
