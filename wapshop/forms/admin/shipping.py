from wtforms import RadioField, SelectChoice, SelectField, StringField, ValidationError
from wtforms.validators import InputRequired, Length, NumberRange

from wapshop.forms import ShopForm, WholeNumberField
from wapshop.forms.admin import YuanField
from wapshop.models import ShippingRule
from wapshop.money import parse_yuan
from wapshop.services.fulfilment import CARRIERS
from wapshop.services.shipping_rules import ANY_CARRIER, RuleInput, region_label


class FeeField(YuanField):
    """An amount in yuan that may be 0 (shipping free) or, when `optional`, left empty."""

    def __init__(self, label, optional: bool = False, **kwargs):
        super().__init__(label, **kwargs)
        self.optional = optional

    def pre_validate(self, form):
        text = (self.data or "").strip()
        if not text and self.optional:
            self.fen = None
            return
        try:
            self.fen = parse_yuan(text)
        except ValueError:
            raise ValidationError("请填金额，单位元，例如 10 或 8.50。") from None
        if self.fen < 0:
            raise ValidationError("金额不能是负数。")


def _grams(label: str) -> WholeNumberField:
    return WholeNumberField(
        label,
        default=1000,
        validators=[
            InputRequired("请填重量，单位克，例如 1000。"),
            NumberRange(1, 100_000, "重量 1 到 100000 克。"),
        ],
    )


class RuleForm(ShopForm):
    carrier = SelectField(
        "快递",
        choices=[SelectChoice("", ANY_CARRIER), *(SelectChoice(c, c) for c in CARRIERS)],
        default="",
        invalid_choice_message="没有这家快递，请从列表里选择。",
    )
    region_query = StringField(
        "地区（留空 = 全国；可输入省、市、区县名称搜索）",
        validators=[Length(max=40, message="地区名称太长了。")],
    )
    # Shown only when the text fits several regions; the service checks the code.
    region_code = RadioField("请选择地区", choices=[], validate_choice=False)
    first_weight_g = _grams("首重（克）")
    first_fee = FeeField("首重运费（元）")
    extra_weight_g = _grams("续重每（克）")
    extra_fee = FeeField("续重运费（元，每个续重档，不满一档按一档）")
    free_above = FeeField("满多少元包邮（留空 = 不包邮）", optional=True)
    cod_fee = FeeField("货到付款手续费（元）", default=0)

    @classmethod
    def for_rule(cls, rule: ShippingRule) -> "RuleForm":
        return cls(
            carrier=rule.carrier or "",
            region_query=region_label(rule.region_code),
            first_weight_g=rule.first_weight_g,
            first_fee=rule.first_fee_fen,
            extra_weight_g=rule.extra_weight_g,
            extra_fee=rule.extra_fee_fen,
            free_above=rule.free_above_fen,
            cod_fee=rule.cod_fee_fen,
        )

    def data_for_service(self, region_code: str | None) -> RuleInput:
        return RuleInput(
            carrier=self.carrier.data or None,
            region_code=region_code,
            first_weight_g=self.first_weight_g.data,
            first_fee_fen=self.first_fee.fen,
            extra_weight_g=self.extra_weight_g.data,
            extra_fee_fen=self.extra_fee.fen,
            free_above_fen=self.free_above.fen,
            cod_fee_fen=self.cod_fee.fen,
        )


class PreviewForm(ShopForm):
    """GET parameters of the preview: where, how heavy, worth how much."""

    class Meta:
        csrf = False

    place = StringField("寄到", default="广东省深圳市南山区", validators=[Length(max=40)])
    kg = StringField("重量（公斤）", default="1.2", validators=[Length(max=10)])
    goods = StringField("货值（元）", default="50", validators=[Length(max=12)])

    def grams(self) -> int:
        """The weight in grams; ValueError unless 0.01 to 100 kg."""
        grams = parse_yuan(self.kg.data or "") * 10  # two decimals of kg → tens of grams
        if not 0 < grams <= 100_000:
            raise ValueError("weight")
        return grams

    def goods_fen(self) -> int:
        fen = parse_yuan(self.goods.data or "")
        if fen < 0:
            raise ValueError("goods")
        return fen
