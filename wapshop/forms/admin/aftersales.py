"""Back-office forms for after-sales tickets: replies, decisions, refunds and exchanges
(Chinese only)."""

from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from wapshop.forms import ShopForm
from wapshop.services.aftersales import REPLY_MAX


class ReplyForm(ShopForm):
    body = TextAreaField(
        "回复（买家在订单页看到）",
        validators=[DataRequired("请写回复内容。"), Length(max=REPLY_MAX)],
    )


class DecisionForm(ShopForm):
    body = TextAreaField(
        "给买家的说明",
        validators=[DataRequired("请写给买家的说明。"), Length(max=REPLY_MAX)],
    )


class CashRefundForm(ShopForm):
    cash_note = StringField(
        "现金退款说明（货到付款订单必填：方式、账号或经手人）", validators=[Length(max=120)]
    )


class ExchangeForm(ShopForm):
    carrier = SelectField(
        "快递公司", validators=[DataRequired("请选择快递公司。")], validate_choice=False
    )
    tracking = StringField(
        "补发运单号", validators=[DataRequired("请填写运单号。"), Length(max=40)]
    )

    def __init__(self, *args, carriers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.carrier.choices = [SelectChoice(c, c) for c in carriers]
