from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Regexp

from wapshop.forms import ShopForm, mainland_mobile


class LookupForm(ShopForm):
    phone = StringField(
        _l("手机号"), validators=[DataRequired(_l("请填写手机号。")), mainland_mobile]
    )
    number = StringField(
        _l("订单号"),
        filters=[lambda s: s.replace(" ", "") if s else s],
        validators=[
            DataRequired(_l("请填写订单号。")),
            Regexp(r"^\d{10}$", message=_l("订单号是10位数字。")),
        ],
    )


class CancelForm(ShopForm):
    """Only the CSRF token: cancelling is one tap, but never a forged one."""

    reason = StringField(_l("原因"), validators=[Length(max=100)])
