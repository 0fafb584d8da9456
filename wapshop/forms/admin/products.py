from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from wapshop.forms import ShopForm, WholeNumberField
from wapshop.forms.admin import CHOOSE_FROM_LIST, YuanField
from wapshop.models import Product
from wapshop.parsing import parse_int
from wapshop.services import products
from wapshop.services.products import ProductInput


class ProductForm(ShopForm):
    title = StringField("标题", validators=[DataRequired("请填写标题。"), Length(max=120)])
    subtitle = StringField("副标题", validators=[Length(max=200)])
    category_id = SelectField("分类", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    seller_id = SelectField("卖家", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    shop_price = YuanField("商城价（元）")
    market_price = YuanField("市场价（元）")
    stock = WholeNumberField(
        "库存",
        validators=[
            InputRequired("请填库存。"),
            NumberRange(0, 10_000_000, "库存 0 到 10000000。"),
        ],
    )
    # The stock the editor saw: a sale since then must not be overwritten.
    seen_stock = HiddenField()
    specs = TextAreaField("规格（每行一项，名称:值）")
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
            **choices,
        )

    def validate_specs(self, field):
        try:
            self.parsed_specs = products.parse_specs(field.data or "")
        except products.ProductError as bad:
            raise ValidationError(bad.message) from None

    def seen_stock_value(self) -> int | None:
        try:
            return parse_int(self.seen_stock.data)
        except ValueError:
            return None

    def data_for_service(self) -> ProductInput:
        return ProductInput(
            title=self.title.data.strip(),
            subtitle=(self.subtitle.data or "").strip(),
            category_id=self.category_id.data,
            seller_id=self.seller_id.data,
            shop_price_fen=self.shop_price.fen,
            market_price_fen=self.market_price.fen,
            stock=self.stock.data,
            specs=self.parsed_specs,
            active=self.active.data,
        )


class ImageForm(ShopForm):
    image = FileField(
        "图片（JPEG、PNG、GIF 或 WebP）", validators=[FileRequired("请选择一个图片文件。")]
    )
