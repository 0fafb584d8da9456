"""Products in the back office: editing, listing, stock warnings and images. (Categories
and collections: services/categories.py, services/collections.py.)

A seller's staff see only that seller's products: functions that take `seller_id` treat
another seller's product as not found. Every change flushes and writes the audit log; the
caller commits."""

import hashlib
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import or_, select

from wapshop import images
from wapshop.extensions import db
from wapshop.models import (
    Category,
    Product,
    Seller,
    Staff,
    Variant,
)
from wapshop.services import NotFound, Refusal, admin_audit, product_variants, search, stock
from wapshop.services.pagination import Page, paginate

PRODUCT_AUDITED = (
    "title",
    "subtitle",
    "category_id",
    "seller_id",
    "shop_price_fen",
    "market_price_fen",
    "stock",
    "specs_json",
    "options_json",
    "weight_g",
    "free_shipping",
    "active",
)
MAX_SPECS = 20
MAX_WEIGHT_G = 100_000


class ProductError(Refusal):
    """A refusal of a product; `field` names the form field (or CSV column) it belongs to.
    (No such product, or not this seller's: NotFound.)"""


# --- Products


@dataclass(frozen=True)
class ProductInput:
    title: str
    subtitle: str
    category_id: int
    seller_id: int
    shop_price_fen: int
    market_price_fen: int
    stock: int
    specs: tuple[tuple[str, str], ...]
    active: bool = True
    # None: leave as they are (an old import file); () for a product sold in one form. With
    # options, `stock` is each new variant's stock when creating, and unused when updating.
    options: product_variants.Options | None = None
    weight_g: int | None = None  # None: as it is (new products: the model's default)
    free_shipping: bool | None = None

    @property
    def specs_json(self) -> str:
        return json.dumps([list(pair) for pair in self.specs], ensure_ascii=False)


@dataclass(frozen=True)
class Lookups:
    """What product rules check against, loaded once (an import checks thousands of rows)."""

    subcategories: dict[int, Category]
    sellers: dict[int, Seller]

    @classmethod
    def load(cls) -> "Lookups":
        subs = db.session.scalars(select(Category).where(Category.parent_id.is_not(None)))
        return cls({c.id: c for c in subs}, {s.id: s for s in db.session.scalars(select(Seller))})


def check_product(data: ProductInput, lookups: Lookups) -> None:
    """The rules a product must meet; raises ProductError naming the field at fault."""
    if not data.title.strip():
        raise ProductError("请填写标题。", "title")
    if len(data.title) > 120:
        raise ProductError("标题最多 120 个字。", "title")
    if len(data.subtitle) > 200:
        raise ProductError("副标题最多 200 个字。", "subtitle")
    if data.category_id not in lookups.subcategories:
        raise ProductError("请选择一个二级分类。", "category_id")
    if data.seller_id not in lookups.sellers:
        raise ProductError("没有这个卖家。", "seller_id")
    if data.shop_price_fen <= 0:
        raise ProductError("商城价必须大于 0。", "shop_price")
    if data.market_price_fen < data.shop_price_fen:
        raise ProductError("市场价不能低于商城价。", "market_price")
    if data.stock < 0:
        raise ProductError("库存不能是负数。", "stock")
    if len(data.specs) > MAX_SPECS or any(not n or not v for n, v in data.specs):
        raise ProductError(f"规格每行“名称：值”，最多 {MAX_SPECS} 行。", "specs")
    if data.weight_g is not None and not 1 <= data.weight_g <= MAX_WEIGHT_G:
        raise ProductError(f"重量 1 到 {MAX_WEIGHT_G} 克。", "weight_g")


def parse_specs(text: str) -> tuple[tuple[str, str], ...]:
    """'颜色:黑色;产地:深圳', one per line, or with full-width ：；, → name/value pairs.
    Raises ProductError."""
    pairs = []
    for part in text.replace("；", ";").replace("\n", ";").split(";"):
        if not part.strip():
            continue
        name, sep, value = part.replace("：", ":").partition(":")
        if not sep or not name.strip() or not value.strip():
            raise ProductError(
                "规格写成“名称:值”，多项用分号或换行隔开，例如 颜色:黑色;产地:深圳。", "specs"
            )
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def format_specs(pairs) -> str:
    return ";".join(f"{name}:{value}" for name, value in pairs)


def listing(number: int, per_page: int, seller_id: int | None = None, query: str = "") -> Page:
    """Newest first; a number finds that id, words search titles. Raises PageOutOfRange."""
    stmt = select(Product).order_by(Product.id.desc())
    if seller_id is not None:
        stmt = stmt.where(Product.seller_id == seller_id)
    query = query.strip()
    if query.isdigit():
        stmt = stmt.where(Product.id == int(query))
    elif query:
        stmt = stmt.where(or_(Product.title.contains(query), Product.subtitle.contains(query)))
    return paginate(stmt, number, per_page)


def get_product(product_id: int, seller_id: int | None = None) -> Product:
    """A product, or NotFound when it does not exist or belongs to another seller."""
    found = db.session.get(Product, product_id)
    if found is None or (seller_id is not None and found.seller_id != seller_id):
        raise NotFound("没有这个商品。")
    return found


def _new_product(data: ProductInput) -> Product:
    """A product sold in one form; create_product gives it its options."""
    product = Product(
        title=data.title,
        subtitle=data.subtitle,
        category_id=data.category_id,
        seller_id=data.seller_id,
        shop_price_fen=data.shop_price_fen,
        market_price_fen=data.market_price_fen,
        stock=0 if data.options else data.stock,
        specs_json=data.specs_json,
        active=data.active,
        variants=[] if data.options else [Variant(stock=data.stock)],
    )
    if data.weight_g is not None:
        product.weight_g = data.weight_g
    if data.free_shipping is not None:
        product.free_shipping = data.free_shipping
    return product


def create_product(data: ProductInput, actor: Staff | None) -> Product:
    """Add a product and index its title; with options, a variant per combination holding
    `data.stock` each. Raises ProductError."""
    check_product(data, Lookups.load())
    product = _new_product(data)
    db.session.add(product)
    db.session.flush()
    if data.options:
        product_variants.set_options(product, data.options, actor, initial=data.stock)
    search.reindex([product])
    after = admin_audit.snapshot(product, PRODUCT_AUDITED)
    admin_audit.record(actor, "create", "product", product.id, None, after)
    return product


def create_products(
    inputs: list[ProductInput], actor: Staff | None, lookups: Lookups, batch: int = 1000
) -> int:
    """Add many products (an import): all checked first, then inserted, indexed and audited
    a batch at a time, which keeps every statement's parameters within the database's limits.
    Raises ProductError. Returns how many were added."""
    for data in inputs:
        check_product(data, lookups)
    for start in range(0, len(inputs), batch):
        added = [_new_product(data) for data in inputs[start : start + batch]]
        db.session.add_all(added)
        db.session.flush()
        search.reindex(added)
        created = [(p.id, admin_audit.snapshot(p, PRODUCT_AUDITED)) for p in added]
        admin_audit.record_created(actor, "import", "product", created)
    return len(inputs)


def update_product(
    product: Product,
    data: ProductInput,
    seen_stock: int | None,
    actor: Staff | None,
    lookups: Lookups | None = None,
) -> None:
    """Change a product. Raises ProductError (and product_variants.VariantError).

    Checkouts take stock meanwhile, so a new stock figure is written only if the stock is
    still what the editor saw (`seen_stock`; None: whatever it is now), never over a sale.
    A product with options has its stock per variant (product_variants.update_variants):
    `data.stock` is not used; changed options keep, add and retire variants (set_options)."""
    check_product(data, lookups or Lookups.load())
    before = admin_audit.snapshot(product, PRODUCT_AUDITED)
    wanted = None if data.options is None else [(n, list(v)) for n, v in data.options]
    if wanted is not None and wanted != product.options:
        # No options any more: the product's one form starts with the stock it had in all.
        initial = 0 if data.options else data.stock
        product_variants.set_options(product, data.options, actor, initial=initial)
    elif not product.options and (data.stock != product.stock or seen_stock is not None):
        written = stock.set_sole_stock(product.id, data.stock, seen_stock)
        db.session.refresh(product)
        if not written:
            raise ProductError(
                f"库存刚刚变了（现在 {product.stock} 件），请确认后再保存。", "stock"
            )
    retitled = product.title != data.title
    product.title = data.title
    product.subtitle = data.subtitle
    product.category_id = data.category_id
    product.seller_id = data.seller_id
    product.shop_price_fen = data.shop_price_fen
    product.market_price_fen = data.market_price_fen
    product.specs_json = data.specs_json
    product.active = data.active
    if data.weight_g is not None:
        product.weight_g = data.weight_g
    if data.free_shipping is not None:
        product.free_shipping = data.free_shipping
    db.session.flush()
    if retitled:
        search.reindex([product])
    after = admin_audit.snapshot(product, PRODUCT_AUDITED)
    admin_audit.record(actor, "update", "product", product.id, before, after)


def low_stock(number: int, per_page: int, threshold: int, seller_id: int | None = None) -> Page:
    """Active variants (of active products) with stock at or below the threshold, emptiest
    first: a page of Variant, each with its product."""
    return paginate(product_variants.low_stock_statement(threshold, seller_id), number, per_page)


def sellers() -> list[Seller]:
    return list(db.session.scalars(select(Seller).order_by(Seller.name)))


# --- Product images


class ImageRefused(Refusal):
    """The upload is not an image we take; the message says why, for the uploader."""

    field = "image"
    status = 422


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    max_side: int

    @classmethod
    def from_config(cls, config: Mapping) -> "ImageLimits":
        return cls(
            config["ADMIN_IMAGE_MAX_BYTES"],
            config["ADMIN_IMAGE_MAX_PIXELS"],
            config["ADMIN_IMAGE_MAX_SIDE"],
        )


ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
# Byte budgets of the variants. `color` pages may carry 10 KB of markup and 20 KB in all, and
# list up to 8 thumbnails, so a thumbnail gets (20480 - 10240) / 8 bytes; `touch` has no fixed
# image budget, 24 KB keeps a product page quick on a 2G/3G connection.
VARIANT_BUDGETS = {"s": 1280, "t": 4096, "t2": 12288, "m": 24576}


def read_image(stream, limits: ImageLimits) -> tuple[bytes, Image.Image, str]:
    """Read and check an upload: size, type by content, pixel dimensions, decompression bombs.

    Returns the original bytes, the decoded image (upright per its EXIF) and its file
    extension. Raises ImageRefused with the reason."""
    data = stream.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise ImageRefused(f"图片文件太大：最大 {limits.max_bytes // 1024 // 1024} MB。")
    if not data:
        raise ImageRefused("请选择一个图片文件。")
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse outright.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(BytesIO(data)) as probe:
                kind = probe.format
                width, height = probe.size
                if kind in ALLOWED_FORMATS:
                    probe.verify()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
            raise ImageRefused("图片像素多得异常（疑似解压炸弹），已拒绝。") from bomb
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as bad:
            raise ImageRefused("这不是图片，或图片已损坏：请上传 JPEG、PNG、GIF 或 WebP。") from bad
        if kind not in ALLOWED_FORMATS:
            raise ImageRefused(f"不支持 {kind} 格式：请上传 JPEG、PNG、GIF 或 WebP。")
        if max(width, height) > limits.max_side or width * height > limits.max_pixels:
            raise ImageRefused(
                f"图片尺寸 {width}×{height} 太大：边长不超过 {limits.max_side} 像素，"
                f"总像素不超过 {limits.max_pixels // 1_000_000} 百万。"
            )
        try:
            image = Image.open(BytesIO(data))
            image.load()
        except (OSError, SyntaxError, ValueError) as bad:
            raise ImageRefused("图片已损坏，无法读取。") from bad
    return data, ImageOps.exif_transpose(image), ALLOWED_FORMATS[kind]


def store_image(product: Product, stream, limits: ImageLimits, actor) -> dict:
    """Check an upload, keep the original (as "originals/…", never served), store the
    per-rendition variants and point the product at them. Raises ImageRefused. Flushes.

    Returns each variant's size in bytes and whether it is within VARIANT_BUDGETS."""
    data, image, extension = read_image(stream, limits)
    digest = hashlib.sha1(data).hexdigest()[:12]
    original = f"originals/p{product.id}-{digest}.{extension}"
    images.store(original, "image/" + extension.replace("jpg", "jpeg"), data)
    before = {"image": product.image}
    product.image = images.write_variants(image, f"p{product.id}")
    db.session.flush()
    after = {"image": product.image, "original": original}
    admin_audit.record(actor, "image", "product", product.id, before, after)
    sizes = {}
    for size in images.IMAGE_SIZES:
        written = len(images.stored(images.image_path(product.image, size)))
        sizes[size] = (written, written <= VARIANT_BUDGETS[size])
    return sizes
