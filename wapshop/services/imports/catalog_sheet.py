"""Products in CSV: one row per variant (services/csv_variants.py), rows of one product
grouped; a product sold in one form is one row, as in files of before."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wapshop.extensions import db
from wapshop.models import Product, Staff, Variant
from wapshop.money import yuan_text
from wapshop.services import csv_variants, csvfiles, product_variants, products
from wapshop.services.csv_variants import LineError, VariantLine
from wapshop.services.imports.sheets import (
    WRITE_BATCH,
    BadCell,
    Cells,
    Column,
    Report,
    Row,
    Sheet,
    bool_cell,
    fen_cell,
    int_cell,
)

PRODUCT_COLUMNS = (
    Column("id", "商品ID", ("id",), required=False),
    Column("title", "标题", ("title",), text=True),
    Column("subtitle", "副标题", ("subtitle",), required=False, text=True),
    Column("category", "分类", ("category", "category_id")),
    Column("seller", "卖家", ("seller", "seller_id")),
    Column("shop_price", "商城价", ("shop_price",)),
    Column("market_price", "市场价", ("market_price",)),
    Column("stock", "库存", ("stock",)),
    Column("specs", "规格", ("specs",), required=False, text=True),
    Column("active", "上架", ("active",), required=False),
    # One row per variant (services/csv_variants.py); 库存 is then the variant's stock.
    Column("options", "款式", ("options",), required=False, text=True),
    Column("variant_price", "款式价格", ("variant_price",), required=False),
    Column("code", "货号", ("code", "sku"), required=False, text=True),
    Column("variant_active", "款式在售", ("variant_active",), required=False),
    Column("weight_g", "重量（克）", ("weight_g", "重量"), required=False),
    Column("free_shipping", "全国包邮", ("free_shipping",), required=False),
)


class _Resolver:
    """Category and seller cells: an id, or a name ('一级/二级' or a unique subcategory name)."""

    def __init__(self, lookups: products.Lookups):
        self.paths: dict[str, int] = {}
        self.names: dict[str, list[int]] = {}
        for sub in lookups.subcategories.values():
            self.paths[category_path(sub)] = sub.id
            self.names.setdefault(sub.name, []).append(sub.id)
        self.sellers = {s.name: s.id for s in lookups.sellers.values()}

    def category(self, text: str) -> int:
        if text.isascii() and text.isdigit():
            return int_cell(text, 1)
        if "/" in text:
            found = self.paths.get("/".join(p.strip() for p in text.split("/")))
        else:
            ids = self.names.get(text, [])
            if len(ids) > 1:
                raise BadCell("有几个同名的二级分类：请写成“一级/二级”。")
            found = ids[0] if ids else None
        if found is None:
            raise BadCell("没有这个二级分类。")
        return found

    def seller(self, text: str) -> int:
        if text.isascii() and text.isdigit():
            return int_cell(text, 1)
        if text not in self.sellers:
            raise BadCell("没有这个卖家。")
        return self.sellers[text]


def category_path(category) -> str:
    return f"{category.parent.name}/{category.name}" if category.parent else category.name


@dataclass
class _Group:
    """The rows of one product: one, or one per variant."""

    first: Row
    product_id: int
    values: products.ProductInput
    lines: list[VariantLine]

    @property
    def plain(self) -> bool:
        """A new product sold in one form with nothing to say of its variant: added in bulk."""
        line = self.lines[0]
        return (
            not self.product_id
            and not line.pairs
            and not line.code
            and line.price_fen is None
            and line.active is not False
        )


def _code(text: str) -> str:
    if len(text) > product_variants.CODE_MAX:
        raise BadCell(f"货号最多 {product_variants.CODE_MAX} 个字符。")
    return text


def _read_row(sheet: Sheet, row: Row, resolve: "_Resolver", lookups) -> tuple:
    """(product id, ProductInput, VariantLine, errors) of one row."""
    cells = Cells(sheet, row)
    product_id = cells.get("id", lambda t: int_cell(t, 1), default=0)
    values = products.ProductInput(
        title=cells.get("title", str),
        subtitle=cells.get("subtitle", str, default=""),
        category_id=cells.get("category", resolve.category),
        seller_id=cells.get("seller", resolve.seller),
        shop_price_fen=cells.get("shop_price", fen_cell),
        market_price_fen=cells.get("market_price", fen_cell),
        stock=cells.get("stock", int_cell),
        specs=cells.get("specs", products.parse_specs, default=()),
        active=cells.get("active", bool_cell, default=True),
        weight_g=cells.optional("weight_g", lambda t: int_cell(t, 1)),
        free_shipping=cells.optional("free_shipping", bool_cell),
    )
    has = sheet.positions
    line = VariantLine(
        row=row,
        pairs=cells.get("options", csv_variants.parse_values, default=())
        if "options" in has
        else None,
        stock=values.stock,
        price_fen=cells.optional("variant_price", fen_cell),
        code=cells.get("code", _code, default="") if "code" in has else None,
        active=cells.optional("variant_active", bool_cell),
        has_price="variant_price" in has,
    )
    if not cells.errors:
        try:
            products.check_product(values, lookups)
        except products.ProductError as refused:
            cells.errors.append(sheet.error(row, refused.field, refused.message))
    return product_id, values, line, cells.errors


def _group_rows(sheet: Sheet, report: Report, lookups, progress) -> dict:
    """Every row read and checked, grouped by product: rows with option values of one
    product id, or of one new title/seller/category; any other row is a product of its own."""
    resolve = _Resolver(lookups)
    groups: dict[tuple, _Group] = {}
    for row in sheet.rows():
        report.rows += 1
        product_id, values, line, errors = _read_row(sheet, row, resolve, lookups)
        if progress:
            progress(1)
        if errors:
            report.errors.extend(errors)
            continue
        if product_id:
            key: tuple = ("id", product_id)
        elif line.pairs:
            key = ("new", values.title, values.seller_id, values.category_id)
        else:
            key = ("row", row.line)
        group = groups.get(key)
        if group is None:
            groups[key] = _Group(row, product_id, values, [line])
        elif not line.pairs or not group.lines[0].pairs:
            message = f"商品ID {product_id} 在第 {group.first.line} 行已出现过。"
            report.errors.append(sheet.error(row, "id", message))
        elif differs := _first_difference(values, group.values):
            message = f"同一商品的各行，商品的列要和第 {group.first.line} 行一样。"
            report.errors.append(sheet.error(row, differs, message))
        else:
            group.lines.append(line)
    return groups


# ProductInput fields as the columns they come from.
INPUT_COLUMNS = {
    "title": "title",
    "subtitle": "subtitle",
    "category_id": "category",
    "seller_id": "seller",
    "shop_price_fen": "shop_price",
    "market_price_fen": "market_price",
    "specs": "specs",
    "active": "active",
    "weight_g": "weight_g",
    "free_shipping": "free_shipping",
}


def _first_difference(one: products.ProductInput, other: products.ProductInput) -> str | None:
    """The column of the first product field two rows of one product disagree on."""
    return next(
        (key for name, key in INPUT_COLUMNS.items() if getattr(one, name) != getattr(other, name)),
        None,
    )


def _check_codes(sheet: Sheet, report: Report, groups: list[_Group]) -> None:
    """A 货号 once in the file, and not another product's."""
    owner: dict[str, tuple[_Group, Row]] = {}
    for group in groups:
        for line in group.lines:
            if not line.code:
                continue
            if line.code in owner and owner[line.code][0] is not group or line.code in owner:
                earlier = owner[line.code][1].line
                message = f"货号 {line.code} 在第 {earlier} 行已出现过。"
                report.errors.append(sheet.error(line.row, "code", message))
            owner.setdefault(line.code, (group, line.row))
    codes = list(owner)
    for start in range(0, len(codes), 500):
        found = select(Variant.code, Variant.product_id).where(
            Variant.code.in_(codes[start : start + 500])
        )
        for code, product_id in db.session.execute(found):
            group, row = owner[code]
            if group.product_id != product_id:
                message = f"货号 {code} 已被商品 #{product_id} 用了。"
                report.errors.append(sheet.error(row, "code", message))


def import_products(
    data: bytes,
    actor: Staff | None,
    dry_run: bool,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Check every row, then (not a dry run, no errors) add new products and update those with
    an id, with their variants (one row each: services/csv_variants.py). Raises FileRefused."""
    sheet = Sheet(csvfiles.decode(data), PRODUCT_COLUMNS)
    report = Report("products")
    lookups = products.Lookups.load()
    groups = list(_group_rows(sheet, report, lookups, progress).values())
    existing = _existing_products([g.product_id for g in groups if g.product_id])
    for group in groups:
        if group.product_id and group.product_id not in existing:
            message = f"没有 ID 为 {group.product_id} 的商品。"
            report.errors.append(sheet.error(group.first, "id", message))
            continue
        try:
            options = csv_variants.options_of(group.lines)
        except LineError as bad:
            report.errors.append(sheet.error(bad.row, bad.key, bad.message))
            continue
        stock = 0 if options else group.values.stock
        group.values = replace(group.values, options=options, stock=stock)
    _check_codes(sheet, report, groups)
    report.errors.sort(key=lambda e: e.line)
    new = [g for g in groups if g.plain]
    others = [g for g in groups if not g.plain]
    if report.errors or dry_run:
        report.created = sum(1 for g in groups if not g.product_id)
        report.updated = len(groups) - report.created
        return report
    for start in range(0, len(new), WRITE_BATCH):
        batch = [g.values for g in new[start : start + WRITE_BATCH]]
        report.created += products.create_products(batch, actor, lookups)
        if progress:
            progress(0)  # written, not newly checked: only a chance to give up
    for n, group in enumerate(others, 1):
        _write_group(sheet, report, group, existing, actor, lookups)
        if progress and n % WRITE_BATCH == 0:
            progress(0)
    return report


def _write_group(sheet, report, group: _Group, existing, actor, lookups) -> None:
    try:
        if group.product_id:
            product = existing[group.product_id]
            products.update_product(product, group.values, None, actor, lookups)
            report.updated += 1
        else:
            product = products.create_product(group.values, actor)
            report.created += 1
        edits = csv_variants.edits_for(product, group.lines)
        product_variants.update_variants(product, edits, actor)
    except LineError as bad:
        report.errors.append(sheet.error(bad.row, bad.key, bad.message))
    except (products.ProductError, product_variants.VariantError) as refused:
        report.errors.append(sheet.error(group.first, refused.field, refused.message))


def _existing_products(ids: list[int]) -> dict[int, Product]:
    found: dict[int, Product] = {}
    for start in range(0, len(ids), 500):
        batch = select(Product).where(Product.id.in_(ids[start : start + 500]))
        found.update((p.id, p) for p in db.session.scalars(batch))
    return found


def _products_by_id(seller_id: int | None, batch: int = 1000) -> Iterable[Product]:
    """Every product (a seller's only, given one) by id, a batch at a time with its category,
    seller and variants: memory stays flat however big the catalogue. (Keyset batches, not
    yield_per, which the ORM refuses beside the page cache's statement hook.)"""
    last = 0
    while True:
        stmt = (
            select(Product)
            .options(
                selectinload(Product.category),
                selectinload(Product.seller),
                selectinload(Product.variants),
            )
            .where(Product.id > last)
            .order_by(Product.id)
            .limit(batch)
        )
        if seller_id is not None:
            stmt = stmt.where(Product.seller_id == seller_id)
        found = db.session.scalars(stmt).all()
        yield from found
        if len(found) < batch:
            return
        last = found[-1].id  # the session's identity map holds rows weakly: done ones go


def product_rows(seller_id: int | None = None) -> Iterable[list[str]]:
    """The header, then a row per variant of every product (a seller's only, given one), in
    the import's format."""
    yield [c.header for c in PRODUCT_COLUMNS]
    for p in _products_by_id(seller_id):
        columns = [
            str(p.id),
            p.title,
            p.subtitle,
            category_path(p.category),
            p.seller.name,
            yuan_text(p.shop_price_fen),
            yuan_text(p.market_price_fen),
        ]
        for v in p.variants:
            yield [
                *columns,
                str(v.stock),
                products.format_specs(p.specs),
                "是" if p.active else "否",
                csv_variants.format_values(p, v),
                "" if v.price_fen is None else yuan_text(v.price_fen),
                v.code or "",
                "是" if v.active else "否",
                str(p.weight_g),
                "是" if p.free_shipping else "否",
            ]
