from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from wapshop.forms import ShopForm, WholeNumberField
from wapshop.forms.admin import CHOOSE_FROM_LIST

TOP_LEVEL = 0


class CategoryForm(ShopForm):
    name = StringField("名称", validators=[DataRequired("请填写分类名称。"), Length(max=40)])
    parent_id = SelectField("上级分类", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    position = WholeNumberField(
        "排序（小的在前）",
        default=0,
        validators=[Optional(), NumberRange(0, 9999, "排序 0 到 9999。")],
    )

    def __init__(self, *args, tops=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.parent_id.choices = [
            SelectChoice(TOP_LEVEL, "（一级分类）"),
            *(SelectChoice(c.id, c.name) for c in tops),
        ]

    def parent(self) -> int | None:
        return self.parent_id.data or None
