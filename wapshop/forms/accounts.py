from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from wapshop.forms import ShopForm, mainland_mobile


class LoginForm(ShopForm):
    phone = StringField(
        _l("手机号"), validators=[DataRequired(_l("请填写手机号。")), mainland_mobile]
    )
    password = PasswordField(
        _l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=128)]
    )


class RegisterForm(ShopForm):
    phone = StringField(
        _l("手机号"), validators=[DataRequired(_l("请填写手机号。")), mainland_mobile]
    )
    password = PasswordField(
        _l("密码"),
        validators=[
            DataRequired(_l("请填写密码。")),
            Length(min=6, max=128, message=_l("密码请设6到128位。")),
        ],
    )
    confirm = PasswordField(
        _l("再输一次"), validators=[EqualTo("password", message=_l("两次输入的密码不一样。"))]
    )


class LogoutForm(ShopForm):
    pass


class CodeForm(ShopForm):
    code = StringField(
        _l("验证码"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(_l("请填写短信里的验证码。")),
            Regexp(r"^\d{6}$", message=_l("验证码是6位数字。")),
        ],
    )
