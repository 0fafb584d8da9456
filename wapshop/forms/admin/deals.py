from wtforms import DateTimeLocalField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from wapshop.forms import ShopForm, WholeNumberField
from wapshop.forms.admin import MultiCheckboxField, TIME_FORMATS, YuanField, renditions_field
from wapshop.models import Deal
from wapshop.clock import from_china, to_china
from wapshop.parsing import in_date_range
from wapshop.services.deals import DealInput


def _plausible(form, field) -> None:
    try:
        if field.data is not None:  # None: not a time at all, already said
            in_date_range(field.data)
    except ValueError:
        raise ValidationError("年份不对，例如 2013-05-01 10:00。") from None


def _cst_time(label: str) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=TIME_FORMATS,
        validators=[InputRequired("请填时间，例如 2013-05-01 10:00。"), _plausible],
    )


class OptionalIdField(WholeNumberField):
    """An id that may be left empty (None)."""

    def process_formdata(self, valuelist):
        if valuelist and not valuelist[0].strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class DealForm(ShopForm):
    product_query = StringField(
        "商品（标题、货号或商品ID）",
        validators=[Length(max=60, message="最多 60 个字。")],
    )
    # Picked from the search results (or kept from the deal being edited).
    product_id = OptionalIdField(
        "商品", validators=[Optional(), NumberRange(min=1, message="请从列表里选择商品。")]
    )
    # The product's variants; none ticked: the deal covers all of them.
    variant_ids = MultiCheckboxField(
        "参加特价的规格（都不选 = 全部规格）", choices=[], coerce=int, validate_choice=False
    )
    deal_price = YuanField("特价（元）")
    starts_at = _cst_time("开始（北京时间）")
    ends_at = _cst_time("结束（北京时间）")
    quantity = WholeNumberField(
        "数量",
        validators=[InputRequired("请填数量。"), NumberRange(1, 1_000_000, "数量 1 到 1000000。")],
    )
    per_buyer_limit = WholeNumberField(
        "每人限购",
        default=2,
        validators=[InputRequired("请填每人限购。"), NumberRange(1, 99, "每人限购 1 到 99 件。")],
    )
    renditions = renditions_field()
    position = WholeNumberField(
        "首页排序（小的在前）",
        default=0,
        validators=[Optional(), NumberRange(0, 9999, "排序 0 到 9999。")],
    )

    @classmethod
    def for_deal(cls, deal: Deal) -> "DealForm":
        """A form showing the deal, its times in China Standard Time."""
        return cls(
            product_query=deal.product.title,
            product_id=deal.product_id,
            variant_ids=[v.id for v in deal.variants],
            deal_price=deal.deal_price_fen,
            starts_at=to_china(deal.starts_at),
            ends_at=to_china(deal.ends_at),
            quantity=deal.quantity,
            per_buyer_limit=deal.per_buyer_limit,
            renditions=deal.renditions.split(","),
            position=deal.position,
        )

    def data_for_service(self, product_id: int) -> DealInput:
        """The deal as typed, for the product chosen (deals.choose_product)."""
        return DealInput(
            product_id=product_id,
            variant_ids=tuple(self.variant_ids.data or ()),
            deal_price_fen=self.deal_price.fen,
            starts_at=from_china(self.starts_at.data),
            ends_at=from_china(self.ends_at.data),
            quantity=self.quantity.data,
            per_buyer_limit=self.per_buyer_limit.data,
            renditions=tuple(self.renditions.data),
            position=self.position.data or 0,
        )
