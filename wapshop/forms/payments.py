from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectChoice, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired

from wapshop.forms import ShopForm
from wapshop.payments.card import FACE_VALUES_YUAN, OPERATORS


def _digits(attribute: str):
    """The field must be the operator's number of digits for cards of its kind."""

    def check(form, field) -> None:
        field.data = (field.data or "").replace(" ", "")
        operator = OPERATORS.get(form.operator.data)
        if operator is None:
            return
        want = getattr(operator, attribute)
        if not field.data.isdigit() or len(field.data) != want:
            # The operator is chosen just above; the message stays short for WML decks.
            raise ValidationError(_l("请填%(n)d位数字。", n=want))

    return check


class CardForm(ShopForm):
    operator = SelectField(
        _l("运营商"),
        choices=[SelectChoice(code, op.name) for code, op in OPERATORS.items()],
        validate_choice=False,
        validators=[DataRequired(_l("请选择运营商。"))],
    )
    face = SelectField(
        _l("面额"),
        choices=[SelectChoice(str(v), f"{v}元") for v in FACE_VALUES_YUAN],
        validate_choice=False,
        validators=[DataRequired(_l("请选择面额。"))],
    )
    serial = StringField(
        _l("卡号"), validators=[DataRequired(_l("请填写卡号。")), _digits("serial_digits")]
    )
    password = PasswordField(
        _l("卡密码"), validators=[DataRequired(_l("请填写卡密码。")), _digits("password_digits")]
    )

    def validate_operator(self, field) -> None:
        if field.data not in OPERATORS:
            raise ValidationError(_l("请选择运营商。"))

    def validate_face(self, field) -> None:
        if field.data not in {str(v) for v in FACE_VALUES_YUAN}:
            raise ValidationError(_l("请选择面额。"))


class PayForm(ShopForm):
    """Only the CSRF token: go to the bank, or switch to cash on delivery."""
