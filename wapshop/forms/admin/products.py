from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from wapshop.forms import ShopForm, WholeNumberField, plain_text
from wapshop.forms.admin import CHOOSE_FROM_LIST, YuanField
from wapshop.models import Product
from wapshop.money import parse_yuan, yuan_text
from wapshop.parsing import parse_int
from wapshop.services import product_variants, products
from wapshop.services.product_variants import VariantEdit
from wapshop.services.products import ProductInput


class ProductForm(ShopForm):
    title = StringField("标题", validators=[DataRequired("请填写标题。"), Length(max=120)])
    subtitle = StringField("副标题", validators=[Length(max=200)])
    category_id = SelectField("分类", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    seller_id = SelectField("卖家", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    shop_price = YuanField("商城价（元）")
    market_price = YuanField("市场价（元）")
    # With options, stock is per variant: on a new product, each variant's first stock.
    stock = WholeNumberField(
        "库存",
        validators=[Optional(), NumberRange(0, 10_000_000, "库存 0 到 10000000。")],
    )
    # The stock the editor saw: a sale since then must not be overwritten.
    seen_stock = HiddenField()
    specs = TextAreaField("规格（每行一项，名称:值）")
    options = TextAreaField("款式（每行一种，名称:值 值 值）")
    weight_g = WholeNumberField(
        "重量（克）",
        default=500,
        validators=[
            Optional(),  # not sent: as it is
            NumberRange(1, products.MAX_WEIGHT_G, f"重量 1 到 {products.MAX_WEIGHT_G} 克。"),
        ],
    )
    free_shipping = BooleanField("全国包邮")
    active = BooleanField("上架", default=True)

    def __init__(self, *args, categories=(), sellers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = [
            SelectChoice(sub.id, sub.name, optgroup=top.name)
            for top in categories
            for sub in top.children
        ]
        self.seller_id.choices = [SelectChoice(s.id, s.name) for s in sellers]

    @classmethod
    def for_product(cls, product: Product, **choices) -> "ProductForm":
        """The product as it is, whatever the request carries."""
        return cls(
            formdata=None,
            title=product.title,
            subtitle=product.subtitle,
            category_id=product.category_id,
            seller_id=product.seller_id,
            stock=product.stock,
            active=product.active,
            shop_price=product.shop_price_fen,
            market_price=product.market_price_fen,
            seen_stock=str(product.stock),
            specs="\n".join(f"{name}:{value}" for name, value in product.specs),
            options=product_variants.format_options(product.options),
            weight_g=product.weight_g,
            free_shipping=product.free_shipping,
            **choices,
        )

    def validate_specs(self, field):
        try:
            self.parsed_specs = products.parse_specs(field.data or "")
        except products.ProductError as bad:
            raise ValidationError(bad.message) from None

    def validate_options(self, field):
        try:
            self.parsed_options = product_variants.parse_options(field.data or "")
        except product_variants.VariantError as bad:
            raise ValidationError(bad.message) from None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        options = getattr(self, "parsed_options", ())
        if not options and self.stock.data is None and not self.stock.errors:
            self.stock.errors = [*self.stock.errors, "请填库存。"]
            return False
        return ok

    def seen_stock_value(self) -> int | None:
        return _int_or_none(self.seen_stock.data)

    def data_for_service(self) -> ProductInput:
        return ProductInput(
            title=self.title.data.strip(),
            subtitle=(self.subtitle.data or "").strip(),
            category_id=self.category_id.data,
            seller_id=self.seller_id.data,
            shop_price_fen=self.shop_price.fen,
            market_price_fen=self.market_price.fen,
            stock=self.stock.data or 0,
            specs=self.parsed_specs,
            active=self.active.data,
            options=self.parsed_options,
            weight_g=self.weight_g.data,
            free_shipping=self.free_shipping.data,
        )


MAX_PRICE_FEN = 100_000_000


def optional_yuan(form, field) -> None:
    """'' for the product's price, else a price in yuan (kept in `field.fen`)."""
    field.fen = None
    if (field.data or "").strip():
        try:
            field.fen = parse_yuan(field.data)
        except ValueError:
            raise ValidationError("请填金额，单位元，例如 29.90；空着就是商品价。") from None
        if not 0 < field.fen <= MAX_PRICE_FEN:
            raise ValidationError("金额必须大于 0，最多 1000000 元。")


class VariantRow(Form):
    """One variant's line in the table on the product page (no CSRF of its own)."""

    variant_id = HiddenField()
    seen_stock = HiddenField()
    stock = WholeNumberField(
        "库存",
        validators=[
            InputRequired("请填库存。"),
            NumberRange(0, 10_000_000, "库存 0 到 10000000。"),
        ],
    )
    price = StringField("价格（元）", validators=[Length(max=20), optional_yuan])
    code = StringField("货号", validators=[Length(max=40), plain_text])
    active = BooleanField("在售")


class VariantsForm(ShopForm):
    rows = FieldList(FormField(VariantRow), max_entries=product_variants.MAX_VARIANTS + 50)

    @classmethod
    def for_product(cls, product: Product) -> "VariantsForm":
        form = cls(formdata=None)
        for variant in product.variants:
            form.rows.append_entry(
                {
                    "variant_id": str(variant.id),
                    "seen_stock": str(variant.stock),
                    "stock": variant.stock,
                    "price": "" if variant.price_fen is None else yuan_text(variant.price_fen),
                    "code": variant.code or "",
                    "active": variant.active,
                }
            )
        return form

    def see_again(self, product: Product) -> None:
        """Each row's seen stock as it is now, after a refusal."""
        now = {str(v.id): v.stock for v in product.variants}
        for entry in self.rows:
            row = entry.form
            if row.variant_id.data in now:
                row.seen_stock.data = str(now[row.variant_id.data])

    def edits(self) -> list[VariantEdit]:
        """What the editor wants; ValueError when a row names no variant."""
        return [
            VariantEdit(
                variant_id=parse_int(row.variant_id.data or "", 1),
                stock=row.stock.data,
                seen_stock=_int_or_none(row.seen_stock.data),
                price_fen=row.price.fen,
                code=row.code.data or "",
                active=row.active.data,
            )
            for row in (entry.form for entry in self.rows)
        ]


def _int_or_none(text: str | None) -> int | None:
    try:
        return parse_int(text or "")
    except ValueError:
        return None


class ImageForm(ShopForm):
    image = FileField(
        "图片（JPEG、PNG、GIF 或 WebP）", validators=[FileRequired("请选择一个图片文件。")]
    )
