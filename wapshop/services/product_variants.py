"""A product's options (尺码, 颜色, 容量…) and its variants, one per combination of their
values, in the back office and imports.

Options are written as lines "名称:值 值 值" (values apart by spaces, commas or 、; "38-44"
is every whole number from 38 to 44). Changing options keeps the variants whose values stay,
adds the new combinations (with `initial` stock each), and retires the others: their stock
goes to zero (audited), and they are deleted unless an order line or a deal names them, in
which case they are only deactivated, so orders keep their variant. A product without options
has one variant with no values.

Stock changes only through services/stock.py, never over a sale made since the editor looked.
Functions flush and audit; the caller commits."""

import json
import re
from dataclasses import dataclass
from itertools import product as combinations

from sqlalchemy import exists, select

from wapshop.extensions import db
from wapshop.models import OrderItem, Product, Staff, Variant, deal_variants
from wapshop.services import Refusal, admin_audit, stock

MAX_OPTIONS = 3
MAX_VALUES = 30
MAX_VARIANTS = 100
NAME_MAX = 10
VALUE_MAX = 20
CODE_MAX = 40
RANGE_MAX = 40  # "1-1000" is a typing slip, not 1,000 sizes
LABEL_SEPARATOR = "/"
VALUE_SEPARATORS = re.compile(r"[\s,，、;；]+")
RANGE = re.compile(r"^(\d{1,4})-(\d{1,4})$")

Options = tuple[tuple[str, tuple[str, ...]], ...]


class VariantError(Refusal):
    """A refusal of options or a variant's figures; `field` names the form field."""


class StockMoved(VariantError):
    """A sale (or another editor) changed a variant's stock since the form was opened."""

    status = 409


def _values_of(text: str) -> list[str]:
    values: list[str] = []
    for token in VALUE_SEPARATORS.split(text.strip()):
        if not token:
            continue
        found = RANGE.match(token)
        low, high = (int(found[1]), int(found[2])) if found else (0, -1)
        if found and low < high and high - low < RANGE_MAX:
            values.extend(str(n) for n in range(low, high + 1))
        else:
            values.append(token)
    return values


def parse_options(text: str) -> Options:
    """'尺码:38-44' and '颜色:黑色 白色', one option a line (full-width ： too). Raises
    VariantError."""
    options: list[tuple[str, tuple[str, ...]]] = []
    for line in text.replace("；", "\n").replace(";", "\n").splitlines():
        if not line.strip():
            continue
        name, sep, rest = line.replace("：", ":").partition(":")
        name = name.strip()
        values = _values_of(rest)
        if not sep or not name or not values:
            raise VariantError("款式每行写成“名称:值 值 值”，例如 尺码:38-44。", "options")
        options.append((name, tuple(values)))
    return check_options(options)


def check_options(options) -> Options:
    """Options within the limits: names and values short, no value twice, not too many.
    Raises VariantError."""
    names: set[str] = set()
    for name, values in options:
        if not name or not values:
            raise VariantError("款式每行写成“名称:值 值 值”，例如 尺码:38-44。", "options")
        if len(name) > NAME_MAX or any(len(v) > VALUE_MAX or not v for v in values):
            raise VariantError(
                f"款式名称最多 {NAME_MAX} 个字，每个值最多 {VALUE_MAX} 个字。", "options"
            )
        if len(set(values)) != len(values):
            raise VariantError(f"“{name}”有重复的值。", "options")
        if len(values) > MAX_VALUES:
            raise VariantError(f"“{name}”最多 {MAX_VALUES} 个值。", "options")
        if name in names:
            raise VariantError(f"款式“{name}”写了两次。", "options")
        names.add(name)
    if len(options) > MAX_OPTIONS:
        raise VariantError(f"最多 {MAX_OPTIONS} 种款式（例如 颜色、尺码）。", "options")
    count = 1
    for _, values in options:
        count *= len(values)
    if count > MAX_VARIANTS:
        raise VariantError(f"款式组合有 {count} 种，最多 {MAX_VARIANTS} 种。", "options")
    return tuple((name, tuple(values)) for name, values in options)


def format_options(options) -> str:
    return "\n".join(f"{name}:{' '.join(values)}" for name, values in options)


def options_json(options: Options) -> str:
    return json.dumps([[name, list(values)] for name, values in options], ensure_ascii=False)


def values_json(values) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def label_of(values) -> str:
    """What buyers, pick lists and SMS read: "黑色/38"; "" without options."""
    return LABEL_SEPARATOR.join(values)


def combos(options: Options) -> list[tuple[str, ...]]:
    """Every combination of the options' values, in display order; one empty one without."""
    return list(combinations(*(values for _, values in options)))


def in_use(variant_id: int) -> bool:
    """Whether an order line or a deal names the variant (it may then only be deactivated)."""
    ordered = select(exists().where(OrderItem.variant_id == variant_id))
    dealt = select(exists().where(deal_variants.c.variant_id == variant_id))
    return bool(db.session.scalar(ordered) or db.session.scalar(dealt))


def _snapshot(variant: Variant) -> dict:
    return {
        "stock": variant.stock,
        "price_fen": variant.price_fen,
        "code": variant.code,
        "active": variant.active,
    }


def set_options(product: Product, options: Options, actor: Staff | None, initial: int = 0):
    """Give the product these options (checked by parse_options): see the module's doc.
    Returns the labels of the variants retired. Raises StockMoved."""
    wanted = combos(options)
    existing = {v.values_json: v for v in product.variants}
    had = {values_json(c) for c in combos(tuple(product.options))}
    keys = {values_json(c) for c in wanted}
    retired, before, after = [], {}, {}
    for variant in sorted(existing.values(), key=lambda v: v.id):  # lock order: ascending id
        if variant.values_json in keys:
            continue
        name = variant.label or "（无款式）"
        before[name] = _snapshot(variant)
        if variant.stock and not stock.set_stock(variant.id, 0, variant.stock):
            raise StockMoved("有款式的库存刚刚变了，请刷新后再改款式。", "options")
        if in_use(variant.id):
            variant.active = False
            db.session.flush()
            db.session.refresh(variant)
            after[name] = _snapshot(variant)
        else:
            db.session.delete(variant)
            after[name] = None
        retired.append(name)
    db.session.flush()
    added = []
    for position, values in enumerate(wanted):
        key = values_json(values)
        variant = existing.get(key)
        if variant is None:
            variant = Variant(product_id=product.id, values_json=key, stock=0)
            db.session.add(variant)
            added.append(variant)
        elif key not in had:
            variant.active = True  # a value put back: on sale again
        variant.label = label_of(values)
        variant.position = position
    product.options_json = options_json(options)
    db.session.flush()
    for variant in added:
        if initial:
            stock.set_stock(variant.id, initial, 0)
        db.session.refresh(variant)
        before[variant.label or "（无款式）"] = None
        after[variant.label or "（无款式）"] = _snapshot(variant)
    db.session.refresh(product)
    if before or after:
        admin_audit.record(actor, "update", "product", product.id, before, after)
    return retired


@dataclass(frozen=True)
class VariantEdit:
    """An editor's figures for one variant; `seen_stock` is the stock the editor saw."""

    variant_id: int
    stock: int
    seen_stock: int | None
    price_fen: int | None  # None: the product's price
    code: str  # "" for none
    active: bool


def update_variants(product: Product, edits: list[VariantEdit], actor: Staff | None) -> int:
    """Write the editor's figures for the product's variants, all or nothing (the caller
    rolls back on a refusal). Returns how many variants changed. Raises VariantError, and
    StockMoved when a sale changed a variant's stock since the editor saw it."""
    mine = {v.id: v for v in product.variants}
    codes = {}
    for edit in edits:
        variant = mine.get(edit.variant_id)
        if variant is None:
            raise VariantError("这个款式不属于这个商品，请刷新后再改。")
        name = variant.label or product.title
        if not 0 <= edit.stock <= 10_000_000:
            raise VariantError(f"「{name}」库存 0 到 10000000。")
        if edit.price_fen is not None and edit.price_fen <= 0:
            raise VariantError(f"「{name}」价格必须大于 0。")
        code = edit.code.strip()
        if len(code) > CODE_MAX:
            raise VariantError(f"「{name}」货号最多 {CODE_MAX} 个字符。")
        if code and code in codes:
            raise VariantError(f"货号 {code} 写了两次（「{codes[code]}」和「{name}」）。")
        if code:
            codes[code] = name
            taken = db.session.scalar(
                select(Variant).where(Variant.code == code, Variant.id != variant.id)
            )
            if taken is not None:
                raise VariantError(f"货号 {code} 已被商品 #{taken.product_id} 用了。")
    changed, before, after = 0, {}, {}
    for edit in sorted(edits, key=lambda e: e.variant_id):  # lock order: ascending id
        variant = mine[edit.variant_id]
        name = variant.label or "（无款式）"
        was = _snapshot(variant)
        seen = variant.stock if edit.seen_stock is None else edit.seen_stock
        if edit.stock != seen and not stock.set_stock(variant.id, edit.stock, seen):
            db.session.refresh(variant)
            raise StockMoved(
                f"「{name}」的库存刚刚变了（现在 {variant.stock} 件），请确认后再保存。"
            )
        db.session.refresh(variant)
        variant.price_fen = edit.price_fen
        variant.code = edit.code.strip() or None
        variant.active = edit.active
        db.session.flush()
        now = _snapshot(variant)
        if now != was:
            changed += 1
            before[name], after[name] = was, now
    db.session.refresh(product)
    if changed:
        admin_audit.record(actor, "update", "product", product.id, before, after)
    return changed


def low_stock_statement(threshold: int, seller_id: int | None = None):
    """Active variants of active products with stock at or below the threshold, emptiest
    first."""
    stmt = (
        select(Variant)
        .join(Product, Product.id == Variant.product_id)
        .where(Product.active.is_(True), Variant.active.is_(True), Variant.stock <= threshold)
        .order_by(Variant.stock, Product.id, Variant.position, Variant.id)
    )
    if seller_id is not None:
        stmt = stmt.where(Product.seller_id == seller_id)
    return stmt
