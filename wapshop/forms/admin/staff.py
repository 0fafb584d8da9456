from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from wapshop.forms import ShopForm
from wapshop.forms.admin import CHOOSE_FROM_LIST
from wapshop.models.staff import ROLE_LABELS
from wapshop.services.staff import StaffInput

NO_SELLER = 0


class LoginForm(ShopForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=40)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码。"), Length(max=128)])


class LogoutForm(ShopForm):
    pass


class StaffForm(ShopForm):
    username = StringField(
        "用户名",
        validators=[
            DataRequired("请填写用户名。"),
            Length(max=40),
            Regexp(r"^[A-Za-z0-9._-]+$", message="用户名只能用字母、数字和 . _ -。"),
        ],
    )
    name = StringField("姓名", validators=[DataRequired("请填写姓名。"), Length(max=40)])
    role = SelectField(
        "角色",
        choices=[SelectChoice(str(r), label) for r, label in ROLE_LABELS.items()],
        invalid_choice_message=CHOOSE_FROM_LIST,
    )
    seller_id = SelectField(
        "所属卖家（卖家账号）", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST
    )
    active = BooleanField("可以登录", default=True)
    password = PasswordField("密码（修改时留空表示不变）", validators=[Length(max=128)])

    def __init__(self, *args, sellers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.seller_id.choices = [
            SelectChoice(NO_SELLER, "—"),
            *(SelectChoice(s.id, s.name) for s in sellers),
        ]

    def data_for_service(self) -> StaffInput:
        return StaffInput(
            username=self.username.data.strip(),
            name=self.name.data.strip(),
            role=self.role.data,
            seller_id=self.seller_id.data or None,
            active=self.active.data,
        )
