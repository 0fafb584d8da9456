from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, ValidationError
from wtforms.validators import DataRequired, Length

from wapshop.forms import ShopForm, mainland_mobile
from wapshop.parsing import parse_int
from wapshop.services.checkout import MAX_QUANTITY

NAME_MAX = 20
# Region is picked separately; 60 characters hold any street, building and room, and keep the
# WML confirmation deck within its 2,000 bytes even when it comes back with errors.
STREET_MAX = 60


def _quantity(form, field) -> None:
    try:
        field.data = str(parse_int(field.data, 1, MAX_QUANTITY))
    except ValueError:
        raise ValidationError(_l("数量请填1到%(n)d。", n=MAX_QUANTITY)) from None


def _optional_int(form, field) -> None:
    try:
        if field.data:
            parse_int(field.data)
    except ValueError:
        raise ValidationError(_l("页面已过期，请再提交一次。")) from None


class OrderForm(ShopForm):
    token = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    # What the buyer was shown; the server's price is charged, these only detect a change.
    price = HiddenField(validators=[_optional_int])
    deal = HiddenField(validators=[_optional_int])
    region = HiddenField(validators=[DataRequired(_l("请选择收货地区。"))])
    quantity = StringField(_l("数量"), default="1", validators=[_quantity])
    name = StringField(
        _l("收货人"),
        filters=[lambda s: s.strip() if s else s],
        validators=[
            DataRequired(_l("请填写收货人姓名。")),
            Length(max=NAME_MAX, message=_l("姓名最多%(n)d个字。", n=NAME_MAX)),
        ],
    )
    phone = StringField(
        _l("手机号"), validators=[DataRequired(_l("请填写手机号。")), mainland_mobile]
    )
    street = StringField(
        _l("详细地址"),
        filters=[lambda s: s.strip() if s else s],
        validators=[
            DataRequired(_l("请填写详细地址。")),
            Length(
                min=4,
                max=STREET_MAX,
                message=_l("详细地址请写4到%(n)d个字（街道、门牌号）。", n=STREET_MAX),
            ),
        ],
    )
    payment = StringField(
        _l("付款方式"), default="cod", validators=[DataRequired(_l("请选择付款方式。"))]
    )
