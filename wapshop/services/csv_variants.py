"""One CSV row per variant (services/imports.py): the rows of a product share its product
columns, and each gives one variant's option values ("颜色:黑色;尺码:38"), stock, price and
code (货号). A product sold in one form is one row with an empty 款式 cell.

A product's options are its rows' option names (the same in every row) with the values in
the order the rows give them; combinations no row gives are added with no stock. An existing
product's variants are found by their values; a 货号 already on another of its variants is
refused, so a code always names the same variant."""

from dataclasses import dataclass
from typing import Any

from wapshop.models import Product, Variant
from wapshop.services import product_variants
from wapshop.services.product_variants import Options, VariantEdit, VariantError

SEPARATOR = ";"


class LineError(Exception):
    """A row of a product's group at fault: its Row, the column key, the message."""

    def __init__(self, row: Any, key: str | None, message: str):
        super().__init__(message)
        self.row, self.key, self.message = row, key, message


def parse_values(text: str) -> tuple[tuple[str, str], ...]:
    """'颜色:黑色;尺码:38' (full-width ：； too) → (name, value) pairs. Raises VariantError."""
    pairs = []
    for part in text.replace("；", SEPARATOR).split(SEPARATOR):
        if not part.strip():
            continue
        name, sep, value = part.replace("：", ":").partition(":")
        if not sep or not name.strip() or not value.strip():
            raise VariantError("款式写成“名称:值”，多项用分号隔开，例如 颜色:黑色;尺码:38。")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def format_values(product: Product, variant: Variant) -> str:
    names = [name for name, _ in product.options]
    return SEPARATOR.join(f"{n}:{v}" for n, v in zip(names, variant.values, strict=False))


@dataclass(frozen=True)
class VariantLine:
    """A row's variant cells; None where the file has no such column (left as it is)."""

    row: Any
    pairs: tuple[tuple[str, str], ...] | None
    stock: int
    price_fen: int | None
    code: str | None
    active: bool | None
    has_price: bool = False  # the file has the price column (an empty cell: the product's)


def options_of(lines: list[VariantLine]) -> Options | None:
    """The options a product's rows give, None when the file has no 款式 column. Raises
    LineError."""
    first = lines[0]
    if first.pairs is None:
        return None
    names = [name for name, _ in first.pairs]
    values: dict[str, list[str]] = {name: [] for name in names}
    seen: dict[tuple[str, ...], int] = {}
    for line in lines:
        if [name for name, _ in line.pairs or ()] != names:
            shown = "、".join(names) or "无款式"
            message = f"款式名称要和第 {first.row.line} 行一样（{shown}）。"
            raise LineError(line.row, "options", message)
        key = tuple(value for _, value in line.pairs)
        if key in seen:
            raise LineError(line.row, "options", f"这个款式在第 {seen[key]} 行已出现过。")
        seen[key] = line.row.line
        for name, value in line.pairs:
            if value not in values[name]:
                values[name].append(value)
    try:
        return product_variants.check_options([(n, tuple(values[n])) for n in names])
    except VariantError as refused:
        raise LineError(first.row, "options", refused.message) from None


def edits_for(product: Product, lines: list[VariantLine]) -> list[VariantEdit]:
    """Each row's figures for the product's variant with its values (the product's options
    set already). Rows of a file without 款式 for a product with options change nothing.
    Raises LineError."""
    by_values = {v.values_json: v for v in product.variants}
    by_code = {v.code: v for v in product.variants if v.code}
    edits = []
    for line in lines:
        key = product_variants.values_json(value for _, value in line.pairs or ())
        variant = by_values.get(key)
        if variant is None:
            continue
        other = by_code.get(line.code or "")
        if other is not None and other is not variant:
            message = f"货号 {line.code} 是款式「{other.label}」的，和这一行的款式不一样。"
            raise LineError(line.row, "code", message)
        edits.append(
            VariantEdit(
                variant_id=variant.id,
                stock=line.stock,
                seen_stock=None,
                price_fen=line.price_fen if line.has_price else variant.price_fen,
                code=variant.code or "" if line.code is None else line.code,
                active=variant.active if line.active is None else line.active,
            )
        )
    return edits
