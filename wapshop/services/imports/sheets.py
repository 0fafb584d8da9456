"""Reading CSV sheets for imports: the header, rows with their line numbers, cells parsed
with one error per bad cell, and the report of an import."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from wapshop.money import parse_yuan
from wapshop.parsing import bad_character, parse_int
from wapshop.services import csvfiles, product_variants, products
from wapshop.services.csvfiles import FileRefused

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

    def __init__(self, text: str, columns: tuple[Column, ...]):
        self.columns = columns
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


def int_cell(text: str, low: int = 0) -> int:
    if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
        raise BadCell(f"不能小于 {low}。")
    try:
        return parse_int(text, low)
    except ValueError:
        raise BadCell(f"请填 {low} 或以上的整数。") from None


def fen_cell(text: str) -> int:
    try:
        fen = parse_yuan(text)
    except ValueError:
        raise BadCell("请填金额，单位元，例如 29.90。") from None
    if fen <= 0:
        raise BadCell("金额必须大于 0。")
    return fen


def bool_cell(text: str) -> bool:
    if text.lower() in YES or text == "":
        return True
    if text.lower() in NO:
        return False
    raise BadCell("请填“是”或“否”。")


class Cells:
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
        except (BadCell, products.ProductError, product_variants.VariantError) as bad:
            message = bad.message if hasattr(bad, "message") else str(bad)
            self.errors.append(self.sheet.error(self.row, key, str(message)))
            return None

    def optional(self, key: str, parse):
        """None for an empty cell or a column the file does not have."""
        return None if self.row.cells.get(key, "") == "" else self.get(key, parse)
