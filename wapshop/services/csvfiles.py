"""CSV files as spreadsheets in China read and write them: UTF-8 with or without a BOM, or GBK
(read and written as GB18030, its superset). The one place files are decoded and encoded, for
catalogue imports, shipping uploads, processors' statements and every export.

Exports are formula-safe (OWASP "CSV injection"): a text cell that a spreadsheet would run as a
formula (= + - @, tab, CR first) is written with a ' before it, which the spreadsheet shows as
text. A cell that is a plain number (a refund of -12.50, a share of -5.0%) is left alone: it
cannot run anything, and a quote would turn a figure into text that no longer adds up."""

import csv
import io
import re
from collections.abc import Iterable

from wapshop.services import Refusal

# Export encodings by the name a user picks; a BOM so Excel reads UTF-8 as such.
ENCODINGS = {"utf-8": "utf-8-sig", "gbk": "gb18030"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?%?", re.ASCII)


class FileRefused(Refusal):
    """The file as a whole cannot be read (encoding, header); the message says why."""

    field = "file"
    status = 422


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GBK read as GB18030. Raises FileRefused."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRefused("文件编码无法识别：请另存为 CSV（UTF-8 或 GBK）。") from exc


def reader(text: str):
    """A csv.reader over decoded text (its line_num counts lines, quoted cells may span
    several). Cells come as written: pass text cells of our own exports through unguard."""
    return csv.reader(io.StringIO(text, newline=""))


def records(text: str) -> list[dict[str, str]]:
    """The rows of decoded text as dicts keyed by the header row (a processor's statement)."""
    return list(csv.DictReader(io.StringIO(text, newline="")))


def safe(cell: str) -> str:
    """The cell as a spreadsheet will show, never run: a ' before formula-leading text."""
    if cell.startswith(FORMULA_START) and not NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def unguard(cell: str) -> str:
    """A cell as it was before safe() (reading back a file we exported)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_START else cell


def write(rows: Iterable[Iterable[str]], lineterminator: str = "\r\n") -> str:
    """CSV text of the rows, every cell formula-safe."""
    buffer = io.StringIO(newline="")
    out = csv.writer(buffer, lineterminator=lineterminator)
    for row in rows:
        out.writerow([safe(cell) for cell in row])
    return buffer.getvalue()


def encode(rows: Iterable[Iterable[str]], encoding: str = "utf-8") -> bytes:
    """CSV bytes in one of ENCODINGS (UTF-8 with a BOM, or GBK), every cell formula-safe."""
    return write(rows).encode(ENCODINGS[encoding])
