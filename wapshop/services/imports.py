"""CSV import and export of products and deals, as Chinese spreadsheets save them: UTF-8 with
or without a BOM, or GBK. Headers may be the Chinese ones we export or English field names.

An import checks every row and reports each bad one by line and column. It is all or nothing:
the caller commits only when the report is clean and it is not a dry run, and rolls back
otherwise (deal rows are checked by writing them, because a row may clash with an earlier one)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from wapshop.clock import from_china, to_china
from wapshop.extensions import db
from wapshop.models import Deal, Product, Staff
from wapshop.money import parse_yuan, yuan_text
from wapshop.parsing import bad_character, parse_datetime, parse_int
from wapshop.renditions import RENDITIONS
from wapshop.services import NotFound, csvfiles, deals, products
from wapshop.services.csvfiles import FileRefused

KINDS = ("products", "deals")
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")
WRITE_BATCH = 1000
YES = {"是", "1", "true", "yes", "y", "上架"}
NO = {"否", "0", "false", "no", "n", "下架"}


class TooSlow(Exception):
    """Raised by a caller's progress callback to give up (a web request out of time); the
    caller rolls back, so nothing of the file is kept."""


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # written on export
    aliases: tuple[str, ...] = ()
    required: bool = True
    text: bool = False  # free text: guarded against spreadsheet formulas


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
)
DEAL_COLUMNS = (
    Column("id", "特价ID", ("id",), required=False),
    Column("product_id", "商品ID", ("product_id",)),
    Column("deal_price", "特价", ("deal_price",)),
    Column("starts_at", "开始时间", ("starts_at",)),
    Column("ends_at", "结束时间", ("ends_at",)),
    Column("quantity", "数量", ("quantity",)),
    Column("per_buyer_limit", "每人限购", ("per_buyer_limit",)),
    Column("renditions", "版本", ("renditions",)),
    Column("position", "排序", ("position",), required=False),
)
COLUMNS = {"products": PRODUCT_COLUMNS, "deals": DEAL_COLUMNS}
# Service error fields that are not column keys.
FIELD_COLUMNS = {"category_id": "category", "seller_id": "seller"}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None  # the header as written in the file
    letter: str | None  # the spreadsheet column, A, B, … AA
    message: str

    def __str__(self) -> str:
        where = f"第 {self.line} 行"
        if self.column:
            where += f"，{self.letter} 列（{self.column}）"
        return f"{where}：{self.message}"


@dataclass
class Report:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class BadCell(ValueError):
    """A cell that does not parse; the message says what it should look like."""


# --- Reading


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]  # column key → stripped text


class Sheet:
    """The rows of a CSV text under a header naming the kind's columns."""

    def __init__(self, text: str, kind: str):
        self.columns = COLUMNS[kind]
        self._reader = csvfiles.reader(text)
        header = next(self._reader, None)
        if header is None:
            raise FileRefused("文件是空的。")
        self.positions: dict[str, int] = {}
        self.headers: dict[str, str] = {}
        by_name = {n.lower(): c for c in self.columns for n in (c.header, *c.aliases)}
        unknown = []
        for index, name in enumerate(header):
            column = by_name.get(name.strip().lower())
            if column is None:
                if name.strip():
                    unknown.append(name.strip())
                continue
            self.positions[column.key] = index
            self.headers[column.key] = name.strip()
        missing = [c.header for c in self.columns if c.required and c.key not in self.positions]
        if missing or unknown:
            expected = "、".join(c.header for c in self.columns)
            problems = []
            if missing:
                problems.append(f"缺少列：{'、'.join(missing)}")
            if unknown:
                problems.append(f"不认识的列：{'、'.join(unknown)}")
            raise FileRefused(f"第 1 行表头不对（{'；'.join(problems)}）。应有：{expected}。")

    def rows(self) -> Iterable[Row]:
        """Non-blank data rows with the line each starts on (a quoted cell may span lines)."""
        line = self._reader.line_num + 1
        for values in self._reader:
            if any(v.strip() for v in values):
                cells = {
                    key: csvfiles.unguard(values[i].strip()) if i < len(values) else ""
                    for key, i in self.positions.items()
                }
                yield Row(line, cells)
            line = self._reader.line_num + 1

    def error(self, row: Row, key: str | None, message: str) -> RowError:
        key = FIELD_COLUMNS.get(key, key)
        if key not in self.positions:
            return RowError(row.line, None, None, message)
        return RowError(row.line, self.headers[key], _letter(self.positions[key]), message)


def count_rows(data: bytes) -> int:
    """Data rows in a file, for a progress bar (an upper bound: blank rows count)."""
    return max(sum(1 for _ in csvfiles.reader(csvfiles.decode(data))) - 1, 0)


# --- Cells


def _int(text: str, low: int = 0) -> int:
    if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
        raise BadCell(f"不能小于 {low}。")
    try:
        return parse_int(text, low)
    except ValueError:
        raise BadCell(f"请填 {low} 或以上的整数。") from None


def _fen(text: str) -> int:
    try:
        fen = parse_yuan(text)
    except ValueError:
        raise BadCell("请填金额，单位元，例如 29.90。") from None
    if fen <= 0:
        raise BadCell("金额必须大于 0。")
    return fen


def _bool(text: str) -> bool:
    if text.lower() in YES or text == "":
        return True
    if text.lower() in NO:
        return False
    raise BadCell("请填“是”或“否”。")


def _time(text: str) -> datetime:
    try:
        return from_china(parse_datetime(text, TIME_FORMATS))
    except ValueError:
        raise BadCell("请填北京时间，例如 2013-05-01 10:00。") from None


def _renditions(text: str) -> tuple[str, ...]:
    """'wml,basic' (also with ，、; between)."""
    for separator in ("，", "、", ";"):
        text = text.replace(separator, ",")
    chosen = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    if not chosen or not set(chosen) <= set(RENDITIONS):
        raise BadCell("请填版本，用逗号分开：wml,basic,color,touch。")
    return chosen


class _Cells:
    """Parses a row's cells, collecting one error per bad cell instead of stopping."""

    def __init__(self, sheet: Sheet, row: Row):
        self.sheet, self.row, self.errors = sheet, row, []

    def get(self, key: str, parse, default=None):
        text = self.row.cells.get(key, "")
        # A quoted cell may span lines (the tests' 雪地靴 title does): only what XML refuses.
        found = bad_character(text, multiline=True)
        if found is not None:
            message = f"不能含有控制字符（U+{ord(found):04X}）。"
            self.errors.append(self.sheet.error(self.row, key, message))
            return None
        if text == "" and default is not None:
            return default
        if text == "" and parse is not str:
            self.errors.append(self.sheet.error(self.row, key, "不能为空。"))
            return None
        try:
            return parse(text)
        except (BadCell, products.ProductError) as bad:
            self.errors.append(self.sheet.error(self.row, key, str(bad)))
            return None


# --- Products


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
            return _int(text, 1)
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
            return _int(text, 1)
        if text not in self.sellers:
            raise BadCell("没有这个卖家。")
        return self.sellers[text]


def category_path(category) -> str:
    return f"{category.parent.name}/{category.name}" if category.parent else category.name


def import_products(
    data: bytes,
    actor: Staff | None,
    dry_run: bool,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Check every row, then (not a dry run, no errors) add new products and update those with
    an id. Raises FileRefused."""
    sheet = Sheet(csvfiles.decode(data), "products")
    report = Report("products")
    lookups = products.Lookups.load()
    resolve = _Resolver(lookups)
    new: list[products.ProductInput] = []
    changes: list[tuple[Row, int, products.ProductInput]] = []
    seen_ids: dict[int, int] = {}
    for row in sheet.rows():
        report.rows += 1
        cells = _Cells(sheet, row)
        product_id = cells.get("id", lambda t: _int(t, 1), default=0)
        values = products.ProductInput(
            title=cells.get("title", str),
            subtitle=cells.get("subtitle", str, default=""),
            category_id=cells.get("category", resolve.category),
            seller_id=cells.get("seller", resolve.seller),
            shop_price_fen=cells.get("shop_price", _fen),
            market_price_fen=cells.get("market_price", _fen),
            stock=cells.get("stock", _int),
            specs=cells.get("specs", products.parse_specs, default=()),
            active=cells.get("active", _bool, default=True),
        )
        if not cells.errors:
            try:
                products.check_product(values, lookups)
            except products.ProductError as refused:
                cells.errors.append(sheet.error(row, refused.field, refused.message))
        if product_id and not cells.errors:
            if product_id in seen_ids:
                message = f"商品ID {product_id} 在第 {seen_ids[product_id]} 行已出现过。"
                cells.errors.append(sheet.error(row, "id", message))
            seen_ids.setdefault(product_id, row.line)
        report.errors.extend(cells.errors)
        if not cells.errors and product_id:
            changes.append((row, product_id, values))
        elif not cells.errors:
            new.append(values)
        if progress:
            progress(1)
    existing = _existing_products([pid for _row, pid, _v in changes])
    for row, product_id, _values in changes:
        if product_id not in existing:
            report.errors.append(sheet.error(row, "id", f"没有 ID 为 {product_id} 的商品。"))
    report.errors.sort(key=lambda e: e.line)
    if report.errors or dry_run:
        report.created, report.updated = len(new), len(changes)
        return report
    for start in range(0, len(new), WRITE_BATCH):
        report.created += products.create_products(new[start : start + WRITE_BATCH], actor, lookups)
        if progress:
            progress(0)  # written, not newly checked: only a chance to give up
    for n, (row, product_id, values) in enumerate(changes, 1):
        try:
            products.update_product(existing[product_id], values, None, actor, lookups)
        except products.ProductError as refused:
            report.errors.append(sheet.error(row, refused.field, refused.message))
        if progress and n % WRITE_BATCH == 0:
            progress(0)
    report.updated = len(changes)
    return report


def _existing_products(ids: list[int]) -> dict[int, Product]:
    found: dict[int, Product] = {}
    for start in range(0, len(ids), 500):
        batch = select(Product).where(Product.id.in_(ids[start : start + 500]))
        found.update((p.id, p) for p in db.session.scalars(batch))
    return found


# --- Deals


def import_deals(
    data: bytes,
    actor: Staff | None,
    dry_run: bool,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Create deals (no id) and change existing ones (id), each by the deal rules, in file
    order, so a row that clashes with an earlier row is reported. Raises FileRefused."""
    sheet = Sheet(csvfiles.decode(data), "deals")
    report = Report("deals")
    for row in sheet.rows():
        report.rows += 1
        cells = _Cells(sheet, row)
        deal_id = cells.get("id", lambda t: _int(t, 1), default=0)
        values = deals.DealInput(
            product_id=cells.get("product_id", lambda t: _int(t, 1)),
            deal_price_fen=cells.get("deal_price", _fen),
            starts_at=cells.get("starts_at", _time),
            ends_at=cells.get("ends_at", _time),
            quantity=cells.get("quantity", lambda t: _int(t, 1)),
            per_buyer_limit=cells.get("per_buyer_limit", lambda t: _int(t, 1)),
            renditions=cells.get("renditions", _renditions),
            position=cells.get("position", _int, default=0),
        )
        if not cells.errors:
            try:
                if deal_id:
                    deals.update_deal(deals.get(deal_id), values, actor)
                    report.updated += 1
                else:
                    deals.create_deal(values, actor, action="import")
                    report.created += 1
            except NotFound:
                cells.errors.append(sheet.error(row, "id", f"没有 ID 为 {deal_id} 的特价。"))
            except deals.DealError as refused:
                cells.errors.append(sheet.error(row, refused.field, refused.message))
        report.errors.extend(cells.errors)
        if progress:
            progress(1)
    return report


def import_file(kind: str, data: bytes, actor, dry_run: bool, progress=None) -> Report:
    """import_products or import_deals by kind. Raises FileRefused."""
    importer = import_products if kind == "products" else import_deals
    return importer(data, actor, dry_run, progress)


# --- Export


def product_rows(seller_id: int | None = None) -> Iterable[list[str]]:
    """The header, then every product (a seller's only, given one), in the import's format."""
    yield [c.header for c in PRODUCT_COLUMNS]
    stmt = (
        select(Product)
        .options(joinedload(Product.category), joinedload(Product.seller))
        .order_by(Product.id)
        .execution_options(yield_per=1000)
    )
    if seller_id is not None:
        stmt = stmt.where(Product.seller_id == seller_id)
    for p in db.session.scalars(stmt):
        yield [
            str(p.id),
            p.title,
            p.subtitle,
            category_path(p.category),
            p.seller.name,
            yuan_text(p.shop_price_fen),
            yuan_text(p.market_price_fen),
            str(p.stock),
            products.format_specs(p.specs),
            "是" if p.active else "否",
        ]


def deal_rows() -> Iterable[list[str]]:
    """The header, then every deal, times in China Standard Time."""
    yield [c.header for c in DEAL_COLUMNS]
    for d in db.session.scalars(select(Deal).order_by(Deal.starts_at, Deal.position, Deal.id)):
        yield [
            str(d.id),
            str(d.product_id),
            yuan_text(d.deal_price_fen),
            to_china(d.starts_at).strftime(TIME_FORMATS[0]),
            to_china(d.ends_at).strftime(TIME_FORMATS[0]),
            str(d.quantity),
            str(d.per_buyer_limit),
            d.renditions,
            str(d.position),
        ]
