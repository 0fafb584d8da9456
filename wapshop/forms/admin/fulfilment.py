"""Back-office forms for orders, queues, shipping and settlement (Chinese only).

Every form that changes an order carries `expected`, the status the staff member was
looking at: the service moves the order only from that status, so whoever acts second on a
stale page is told, not obeyed."""

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms import ValidationError
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from wapshop.forms import ShopForm
from wapshop.forms.admin import MultiCheckboxField
from wapshop.models.ops import CallOutcome
from wapshop.money import parse_yuan
from wapshop.services.csvfiles import ENCODINGS
from wapshop.services.fulfilment import CARRIERS, OUTCOME_LABELS, STATUS_LABELS, OrderFilter


class OrderActionForm(ShopForm):
    expected = HiddenField(validators=[DataRequired("页面已过期，请刷新后再试。")])
    next = HiddenField()


class AddressForm(OrderActionForm):
    verdict = RadioField(
        "地址",
        choices=[SelectChoice("ok", "可以送达"), SelectChoice("invalid", "送不到")],
        validators=[DataRequired("请选择地址能否送达。")],
    )
    reason = StringField("说明（送不到时必填）", validators=[Length(max=200)])


class CallForm(OrderActionForm):
    outcome = RadioField(
        "通话结果",
        choices=[SelectChoice(str(o), OUTCOME_LABELS[o]) for o in CallOutcome],
        validators=[DataRequired("请选择通话结果。")],
    )
    note = StringField("备注", validators=[Length(max=200)])
    then = HiddenField()  # "next": after the result, open the next call due


class ContactForm(OrderActionForm):
    """Receiver, phone and address as the buyer corrects them on the call, and a note."""

    receiver = StringField("收货人", validators=[DataRequired("请写收货人。"), Length(max=20)])
    phone = StringField("手机号", validators=[DataRequired("请写手机号。"), Length(max=11)])
    address = StringField(
        "地址（省市区+街道）", validators=[DataRequired("请写地址。"), Length(max=200)]
    )
    note = StringField("备注", validators=[Length(max=200)])


class LineForm(OrderActionForm):
    """One line's variant and quantity as the buyer corrects them."""

    item = HiddenField(validators=[DataRequired("页面已过期，请刷新后再试。")])
    variant = SelectField("规格", coerce=int, validate_choice=False)
    quantity = IntegerField(
        "数量",
        validators=[
            DataRequired("请写数量。"),
            NumberRange(1, 99, "数量是1到99。"),
        ],
    )
    note = StringField("备注", validators=[Length(max=200)])

    def __init__(self, *args, variants=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.variant.choices = [SelectChoice(v.id, v.label or "默认") for v in variants]


class MergeForm(OrderActionForm):
    """Merge look-alike orders into this one; the picked orders come as `others` checkboxes
    valued `id:status seen`."""


class ShipForm(OrderActionForm):
    # The service says why a carrier does not fit the order (it checks cash-on-delivery cover).
    carrier = SelectField(
        "快递公司", validators=[DataRequired("请选择快递公司。")], validate_choice=False
    )
    tracking = StringField("运单号", validators=[DataRequired("请填写运单号。"), Length(max=40)])

    def __init__(self, *args, carriers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.carrier.choices = [SelectChoice(c, c) for c in carriers]


class DeliveryForm(OrderActionForm):
    outcome = RadioField(
        "配送结果",
        choices=[SelectChoice("delivered", "已签收，货款已收"), SelectChoice("refused", "拒收")],
        validators=[DataRequired("请选择配送结果。")],
    )
    reason = StringField("拒收原因（拒收时必填）", validators=[Length(max=200)])


class CancelForm(OrderActionForm):
    reason = StringField("取消原因", validators=[DataRequired("请写明取消原因。"), Length(max=200)])


class ButtonForm(ShopForm):
    """A button that needs nothing but its CSRF token (next call, put back in the queue)."""

    next = HiddenField()


class BulkShipForm(ShopForm):
    file = FileField("CSV 文件", validators=[FileRequired("请选择 CSV 文件。")])
    carrier = SelectField("只有两列时用的快递公司", validators=[Optional()])

    def __init__(self, *args, carriers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.carrier.choices = [SelectChoice("", "—"), *(SelectChoice(c, c) for c in carriers)]


class ReturnFileForm(ShopForm):
    """A carrier's return file: checked first (a dry run changes nothing), applied on the
    second button."""

    file = FileField("快递回单 CSV", validators=[FileRequired("请选择 CSV 文件。")])
    check = SubmitField("只检查，不改动")
    apply = SubmitField("检查并记录")


class SettleForm(ShopForm):
    carrier = HiddenField(validators=[DataRequired("请先选择快递公司。")])
    reference = StringField(
        "汇款单号", validators=[DataRequired("请填写汇款单号。"), Length(max=40)]
    )
    order_ids = MultiCheckboxField("订单", coerce=int)
    fee = StringField("代收手续费（元，留空按费率计算）", validators=[Optional(), Length(max=20)])

    def __init__(self, *args, order_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.order_ids.choices = [SelectChoice(value, label) for value, label in order_choices]

    def validate_fee(self, field):
        if (field.data or "").strip():
            try:
                parse_yuan(field.data)
            except ValueError:
                raise ValidationError("请填金额，单位元，例如 3.50。") from None

    def fee_fen(self) -> int | None:
        """The typed fee in fen, None when left blank (then the rate decides)."""
        return parse_yuan(self.fee.data) if (self.fee.data or "").strip() else None


class OrderSearchForm(ShopForm):
    """The order list's one search form (GET, no CSRF: it changes nothing). Every field is
    optional and they combine; `seller_choices` is empty for a seller, who sees only its own."""

    class Meta:
        csrf = False

    q = StringField("订单号或手机号", validators=[Optional(), Length(max=20)])
    number = StringField(
        "订单号", validators=[Optional(), Regexp(r"^\d{10}$", message="订单号是10位数字。")]
    )
    phone = StringField(
        "手机号", validators=[Optional(), Regexp(r"^\d{11}$", message="手机号是11位数字。")]
    )
    name = StringField("收货人", validators=[Optional(), Length(max=20)])
    address = StringField("地址", validators=[Optional(), Length(max=40)])
    day_from = DateField("从", validators=[Optional()])
    day_to = DateField("到", validators=[Optional()])
    status = SelectField("状态", validators=[Optional()])
    carrier = SelectField("快递", validators=[Optional()])
    seller = SelectField("卖家", validators=[Optional()])
    encoding = SelectField(
        "编码", choices=[SelectChoice(e, e.upper()) for e in ENCODINGS], validators=[Optional()]
    )

    def __init__(self, *args, seller_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = [SelectChoice("", "全部状态")] + [
            SelectChoice(str(c), t) for c, t in STATUS_LABELS.items()
        ]
        self.carrier.choices = [SelectChoice("", "全部快递")] + [
            SelectChoice(c, c) for c in CARRIERS
        ]
        self.seller.choices = [SelectChoice("", "全部卖家")] + [
            SelectChoice(str(i), n) for i, n in seller_choices
        ]

    def validate_day_to(self, field):
        if field.data and self.day_from.data and field.data < self.day_from.data:
            raise ValidationError("结束日期不能早于开始日期。")

    def order_filter(self) -> OrderFilter:
        """The filter; the short `q` box is an order number (10 digits) or else a phone."""
        q = (self.q.data or "").strip()
        return OrderFilter(
            number=(self.number.data or "").strip() or (q if len(q) != 11 else ""),
            phone=(self.phone.data or "").strip() or (q if len(q) == 11 else ""),
            name=(self.name.data or "").strip(),
            address=(self.address.data or "").strip(),
            day_from=self.day_from.data,
            day_to=self.day_to.data,
            status=self.status.data or "",
            carrier=self.carrier.data or "",
            seller_id=int(self.seller.data) if self.seller.data else None,
        )
